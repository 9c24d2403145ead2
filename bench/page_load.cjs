// P6: Largest Contentful Paint and time to hydrated (the app sets
// body[data-hydrated] from its first browser effect) of pages in headless
// Chromium, read from the Performance API; prints the medians as JSON.
// Usage: node page_load.cjs BASE_URL COOKIE LOADS PATH...
const { chromium } = require('../end2end/node_modules/playwright');

const [base, cookie, loadsText, ...paths] = process.argv.slice(2);
const loads = Math.max(1, Number(loadsText) || 1);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(browser, path) {
  // The session travels as a header: Chromium will not take a __Host- cookie for plain http.
  const context = await browser.newContext({
    viewport: { width: 1400, height: 1000 },
    extraHTTPHeaders: { Cookie: cookie },
  });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__lcp = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__lcp = Math.max(window.__lcp, entry.startTime);
    }).observe({ type: 'largest-contentful-paint', buffered: true });
    new MutationObserver(() => {
      if (document.body && document.body.dataset.hydrated && !window.__hydrated) window.__hydrated = performance.now();
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
  });
  await page.goto(base + path, { waitUntil: 'load' });
  await page.waitForSelector('body[data-hydrated]', { timeout: 20_000 });
  // LCP is final once the page has been interacted with or hidden; a short wait lets the entry arrive.
  await page.waitForTimeout(300);
  const figures = await page.evaluate(() => ({ lcp: window.__lcp, hydrated: window.__hydrated || performance.now() }));
  await context.close();
  return figures;
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const result = {};
  for (const path of paths) {
    await measure(browser, path); // warms the server; every measured load is cold (a fresh context, empty cache)
    const runs = [];
    for (let i = 0; i < loads; i += 1) runs.push(await measure(browser, path));
    result[path] = {
      lcp_ms: median(runs.map((r) => r.lcp)),
      hydrated_ms: median(runs.map((r) => r.hydrated)),
    };
  }
  await browser.close();
  console.log(JSON.stringify(result));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
