// P5: bytes on the wire (compressed, as the network carries them) for a
// first visit with an empty cache and for a repeat visit in the same
// browser, counted from Chromium's network events; prints JSON.
// Usage: node wire_bytes.cjs BASE_URL COOKIE PATH
const { chromium } = require('../end2end/node_modules/playwright');

const [base, cookie, path] = process.argv.slice(2);

async function visit(page, cdp) {
  const sizes = new Map();
  const urls = new Map();
  const onResponse = (event) => urls.set(event.requestId, { url: event.response.url, cached: event.response.fromDiskCache });
  const onFinished = (event) => sizes.set(event.requestId, event.encodedDataLength);
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.loadingFinished', onFinished);
  await page.goto(base + path, { waitUntil: 'load' });
  await page.waitForSelector('body[data-hydrated]', { timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.loadingFinished', onFinished);
  let total = 0;
  let wasm = 0;
  let fromCache = 0;
  for (const [id, bytes] of sizes) {
    const response = urls.get(id);
    if (!response) continue;
    if (response.cached) fromCache += 1;
    total += bytes;
    if (response.url.endsWith('.wasm')) wasm += bytes;
  }
  return { total, wasm, requests: sizes.size, from_cache: fromCache };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const context = await browser.newContext({ extraHTTPHeaders: { Cookie: cookie } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const first = await visit(page, cdp);
  // A repeat visit is a new navigation (not a reload, which revalidates everything).
  await page.goto('about:blank');
  const repeat = await visit(page, cdp);
  await browser.close();
  console.log(JSON.stringify({ first, repeat }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
