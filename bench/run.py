"""Railyard's benchmarks (`make bench`; `--smoke` in `make test`).

Runs the figures of issues 7 and 25 on loopback, each as a ratio against a
baseline measured in the same run (or an absolute goal where the issue sets
one), prints one line per figure (`P1 api_read_vs_hello 0.42`) and, unless
`--smoke`, rewrites bench/RESULTS.md with the machine, the table and the
notes on every figure that misses its goal (from bench/notes.md).
"""

import argparse
import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "bench admin password"

# (full size, smoke size) of every knob.
SIZES = {
    "p1_trains": (1000, 50),
    "p1_seconds": (10, 2),
    "p1_connections": (64, 8),
    "p2_trains": (200, 5),
    "p2_commits": (20000, 300),
    "p3_samples": (10000, 300),
    "p4_domains": (30, 3),
    "p4_requests": (15, 2),
    "p6_loads": (5, 1),
    "p7_trains": (10000, 200),
    "p7_connections": (100, 10),
    "p7_seconds": (20, 2),
    "p8_definitions": (10000, 60),
    # Lighthouse: pages and presets audited (the smoke run audits one page once).
    "lighthouse_pages": (3, 1),
    "lighthouse_presets": (2, 1),
}

# Figure: (name, unit, comparison, goal).
FIGURES = {
    "P1": ("api_read_vs_hello", "ratio", ">=", 0.30),
    "P2": ("engine_events_vs_commits", "ratio", ">=", 1.0),
    "P3": ("judge_vs_scipy", "ratio", "<=", 0.2),
    "P4": ("ssr_year_vs_static", "ratio", "<=", 5.0),
    "P5": ("wasm_wire_kb", "KB", "<=", 300.0),
    "P6": ("lcp_s", "s", "<=", 0.8),
    "P7": ("rss_mb", "MB", "<=", 150.0),
    "P8": ("scheduler_tick_ms", "ms", "<=", 50.0),
    "P9": ("lighthouse_mobile_performance", "score", ">=", 80.0),
    "P10": ("lighthouse_desktop_performance", "score", ">=", 95.0),
    "P11": ("lighthouse_accessibility", "score", ">=", 100.0),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workload(bins: Path, *args: str) -> dict:
    """Runs a railyard-bench subcommand and parses its JSON line."""
    out = subprocess.run([str(bins / "railyard-bench"), *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


class Server:
    """A process listening on loopback, stopped on exit."""

    def __init__(self, argv, port, env=None, ready="/readyz"):
        self.port = port
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _, _ = self.get(ready)
                if status < 500:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"{argv[0]} did not start:\n{self.log.read().decode()[-2000:]}")

    def get(self, path, headers=None, connection=None):
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        if connection is None:
            conn.close()
        return response.status, response.getheader("Set-Cookie"), body

    def sign_in(self) -> str:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        body = json.dumps({"name": "admin", "password": ADMIN_PASSWORD})
        conn.request("POST", "/api/v1/session", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"signing in answered {response.status}")
        return response.getheader("Set-Cookie").split(";")[0]

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def railyard(store: Path) -> Server:
    port = free_port()
    argv = [str(ROOT / "target/release/railyard"), "serve", "--addr", f"127.0.0.1:{port}",
            "--database-url", f"sqlite://{store}"]
    return Server(argv, port, env={"RAILYARD_ADMIN_PASSWORD": ADMIN_PASSWORD, "RUST_LOG": "warn"})


def wrk(port: int, path: str, connections: int, seconds: int, header: str) -> dict:
    """Requests per second, latency percentiles and errors of a bounded wrk run."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", header, f"http://127.0.0.1:{port}{path}"],
        check=True, capture_output=True, text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return {"rate": rate, "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else "", "p99": p99.group(1) if p99 else ""}


def median_get(server: Server, path: str, cookie: str, n: int) -> tuple:
    """Median seconds of `n` GETs on one kept-alive connection, and the body size."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    times, size = [], 0
    for _ in range(n + 1):  # the first request warms caches and is not counted
        started = time.perf_counter()
        status, _, body = server.get(path, {"Cookie": cookie}, conn)
        times.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        size = len(body)
    conn.close()
    return statistics.median(times[1:]), size


def p1(work: Path, bins: Path, size) -> tuple:
    store = work / "p1.db"
    seeded = workload(bins, "seed", "--database-url", f"sqlite://{store}", "--domains", "30",
                      "--trains", str(size("p1_trains")))
    server = railyard(store)
    hello_port = free_port()
    hello = Server([str(bins / "hello"), "--addr", f"127.0.0.1:{hello_port}"], hello_port, ready="/")
    try:
        today = time.strftime("%Y-%m-%d", time.gmtime())
        month = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
        path = f"/api/v1/trains?from={today}&to={month}"
        status, _, body = server.get(path, {"Authorization": f"Bearer {seeded['token']}"})
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:200]}")
        listed = len(json.loads(body)["trains"])
        seconds, connections = size("p1_seconds"), size("p1_connections")
        api = wrk(server.port, path, connections, seconds, f"Authorization: Bearer {seeded['token']}")
        base = wrk(hello_port, "/", connections, seconds, "X-Bench: 1")
    finally:
        server.stop()
        hello.stop()
    if api["non_2xx"] or api["socket_errors"]:
        raise RuntimeError(f"P1: errors under load: {api}")
    detail = (f"{api['rate']:.0f} req/s (p99 {api['p99']}) listing {listed} of {seeded['trains']} trains, "
              f"hello {base['rate']:.0f} req/s, {connections} connections")
    return api["rate"] / base["rate"], detail


def p2(work: Path, bins: Path, size) -> tuple:
    engine = workload(bins, "engine", "--database-url", f"sqlite://{work / 'p2-engine.db'}",
                      "--trains", str(size("p2_trains")))
    commits = workload(bins, "commits", "--database-url", f"sqlite://{work / 'p2-commits.db'}",
                       "--count", str(size("p2_commits")))
    if engine["unfinished"]:
        raise RuntimeError(f"P2: {engine['unfinished']} trains were left short of their end")
    detail = (f"{engine['rate']:.0f} events/s ({engine['events']} events, {engine['trains']} trains to the end), "
              f"single-row commits {commits['rate']:.0f}/s")
    return engine["rate"] / commits["rate"], detail


def p3(work: Path, bins: Path, size) -> tuple:
    data = work / "p3.json"
    ours = workload(bins, "judge", "--samples", str(size("p3_samples")), "--data", str(data), "--repeat", "7")
    out = subprocess.run([sys.executable, str(ROOT / "bench/scipy_judge.py"), str(data), "7"],
                         check=True, capture_output=True, text=True).stdout
    scipy = json.loads(out)
    if ours["u"] != scipy["u"] or abs(ours["p_value"] - scipy["p_value"]) > 1e-9 * max(scipy["p_value"], 1e-300):
        raise RuntimeError(f"P3: the judge disagrees with scipy: ours {ours}, scipy {scipy}")
    detail = (f"{ours['seconds'] * 1000:.2f} ms (U and p {ours['u_seconds'] * 1000:.2f} ms, shift "
              f"{ours['shift_seconds'] * 1000:.2f} ms) for U, p and the Hodges-Lehmann shift {ours['estimate']:.2f} "
              f"[{ours['lower']:.2f}, {ours['upper']:.2f}] on 2 x {ours['samples']}; scipy's U and p "
              f"{scipy['seconds'] * 1000:.2f} ms (U and p agree)")
    return ours["seconds"] / scipy["seconds"], detail


def p4(work: Path, bins: Path, size) -> tuple:
    store = work / "p4.db"
    domains = size("p4_domains")
    workload(bins, "seed", "--database-url", f"sqlite://{store}", "--domains", str(domains),
             "--trains", str(domains * 53))
    server = railyard(store)
    static = ROOT / "target/site/bench-static.html"
    views = {}
    try:
        cookie = server.sign_in()
        # Half a year back and half ahead (real trains), and a year from four months ahead
        # (almost all projected from the cadences); the slower of the two is the figure.
        for label, days in (("trains", -182), ("projected", 120)):
            month = time.strftime("%Y-%m", time.gmtime(time.time() + days * 86400))
            rendered, page_size = median_get(server, f"/?view=year&month={month}", cookie, size("p4_requests"))
            static.write_bytes(b"x" * page_size)
            served, _ = median_get(server, "/bench-static.html", cookie, size("p4_requests"))
            views[label] = (rendered, page_size, served)
    finally:
        server.stop()
        static.unlink(missing_ok=True)
    detail = "; ".join(
        f"{label} year view of {domains} domains ({page_size // 1024} KB) in {rendered * 1000:.1f} ms, "
        f"a static file of that size in {served * 1000:.2f} ms"
        for label, (rendered, page_size, served) in views.items())
    rendered, _, served = max(views.values(), key=lambda v: v[0] / v[2])
    return rendered / served, detail


def p5(work: Path, bins: Path, size) -> tuple:
    """The wasm as the network carries it on a first visit, and the whole page on a first and a repeat visit."""
    store = work / "p5.db"
    workload(bins, "seed", "--database-url", f"sqlite://{store}", "--domains", "4", "--trains", "200")
    server = railyard(store)
    try:
        cookie = server.sign_in()
        out = subprocess.run(["node", str(ROOT / "bench/wire_bytes.cjs"), f"http://127.0.0.1:{server.port}", cookie, "/"],
                             check=True, capture_output=True, text=True).stdout
    finally:
        server.stop()
    wire = json.loads(out)
    first, repeat = wire["first"], wire["repeat"]
    packed = json.loads((ROOT / "target/site/assets.json").read_text())
    raw = (ROOT / "target/site/pkg" / packed["wasm"]).stat().st_size
    detail = (f"first visit to / {first['total'] / 1024:.0f} KB on the wire in {first['requests']} requests "
              f"(wasm {first['wasm'] / 1024:.0f} KB of {raw / 1024:.0f} KB raw); repeat visit "
              f"{repeat['total'] / 1024:.0f} KB ({repeat['from_cache']} of {repeat['requests']} from the cache)")
    return first["wasm"] / 1024, detail


LIGHTHOUSE = {}


def lighthouse(work: Path, bins: Path, size) -> dict:
    """Lighthouse 12 (Debian's Chromium, signed in as the admin) on `/`, a train page and `/console`,
    with the default throttled mobile profile and the desktop preset; run once for P9-P11."""
    if LIGHTHOUSE:
        return LIGHTHOUSE
    store = work / "lighthouse.db"
    workload(bins, "seed", "--database-url", f"sqlite://{store}", "--domains", "4", "--trains", "200")
    server = railyard(store)
    try:
        cookie = server.sign_in()
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))
        later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
        _, _, listing = server.get(f"/api/v1/trains?from={today}&to={later}", {"Cookie": cookie})
        train = json.loads(listing)["trains"][0]["id"]
        paths = ["/", f"/trains/{train}", "/console"][: size("lighthouse_pages")]
        presets = ["mobile", "desktop"][: size("lighthouse_presets")]
        binary = ROOT / "end2end/node_modules/.bin/lighthouse"
        flags = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
        for preset in presets:
            for path in paths:
                report = work / f"lighthouse-{preset}-{len(LIGHTHOUSE)}.json"
                argv = [str(binary), f"http://127.0.0.1:{server.port}{path}", "--quiet", "--output=json",
                        f"--output-path={report}", "--only-categories=performance,accessibility",
                        f"--chrome-flags={flags}", f"--extra-headers={json.dumps({'Cookie': cookie})}"]
                if preset == "desktop":
                    argv.append("--preset=desktop")
                env = {**os.environ, "CHROME_PATH": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")}
                subprocess.run(argv, check=True, capture_output=True, env=env, timeout=300)
                result = json.loads(report.read_text())
                audits, categories = result["audits"], result["categories"]
                LIGHTHOUSE[(preset, path)] = {
                    "performance": round(categories["performance"]["score"] * 100),
                    "accessibility": round(categories["accessibility"]["score"] * 100),
                    "lcp_s": audits["largest-contentful-paint"]["numericValue"] / 1000,
                    "tbt_ms": audits["total-blocking-time"]["numericValue"],
                }
    finally:
        server.stop()
    return LIGHTHOUSE


def lighthouse_figure(preset: str, what: str):
    def run(work: Path, bins: Path, size) -> tuple:
        results = lighthouse(work, bins, size)
        chosen = {key: value for key, value in results.items() if preset in (None, key[0])} or results
        label = lambda path: "train" if path.startswith("/trains/") else path
        detail = "; ".join(f"{key[0]} {label(key[1])}: performance {v['performance']}, LCP {v['lcp_s']:.1f} s, "
                           f"TBT {v['tbt_ms']:.0f} ms, accessibility {v['accessibility']}"
                           for key, v in chosen.items())
        return min(v[what] for v in chosen.values()), detail
    return run


def p6(work: Path, bins: Path, size) -> tuple:
    store = work / "p6.db"
    workload(bins, "seed", "--database-url", f"sqlite://{store}", "--domains", "30", "--trains", "1500")
    server = railyard(store)
    try:
        cookie = server.sign_in()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))
        later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
        _, _, listing = server.get(f"/api/v1/trains?from={today}&to={later}", {"Cookie": cookie}, conn)
        train = json.loads(listing)["trains"][0]["id"]
        out = subprocess.run(
            ["node", str(ROOT / "bench/page_load.cjs"), f"http://127.0.0.1:{server.port}", cookie,
             str(size("p6_loads")), "/", f"/trains/{train}"],
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        server.stop()
    pages = json.loads(out)
    worst = max(p["lcp_ms"] for p in pages.values()) / 1000
    detail = "; ".join(f"{path}: LCP {p['lcp_ms']:.0f} ms, hydrated {p['hydrated_ms']:.0f} ms" for path, p in pages.items())
    return worst, detail


def p7(work: Path, bins: Path, size) -> tuple:
    store = work / "p7.db"
    seeded = workload(bins, "seed", "--database-url", f"sqlite://{store}", "--domains", "30",
                      "--trains", str(size("p7_trains")))
    server = railyard(store)
    try:
        cookie = server.sign_in()
        load = wrk(server.port, "/", size("p7_connections"), size("p7_seconds"), f"Cookie: {cookie}")
        peak = server.peak_rss_mb()
    finally:
        server.stop()
    detail = (f"peak RSS with {seeded['trains']} trains while {size('p7_connections')} clients read the calendar "
              f"({load['rate']:.0f} pages/s, p99 {load['p99']})")
    return peak, detail


def p8(work: Path, bins: Path, size) -> tuple:
    tick = workload(bins, "scheduler", "--database-url", f"sqlite://{work / 'p8.db'}",
                    "--definitions", str(size("p8_definitions")))
    detail = (f"steady tick over {tick['definitions']} definitions (median of 5); the first tick, creating "
              f"{tick['created']} trains, took {tick['first_ms']:.0f} ms")
    return tick["tick_ms"], detail


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, {memory} MB RAM, {platform.system()} {platform.release()}, {rustc}"


def notes() -> dict:
    """The notes on figures that miss their goal: `## P3` sections of bench/notes.md."""
    text = (ROOT / "bench/notes.md").read_text()
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^## (P\d)\n(.*?)(?=^## |\Z)", text, re.M | re.S)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin-dir", required=True, type=Path, help="where railyard-bench and hello are")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; RESULTS.md is left alone")
    parser.add_argument("figures", nargs="*", help="only these (P1 ... P11)")
    args = parser.parse_args()
    size = (lambda key: SIZES[key][1]) if args.smoke else (lambda key: SIZES[key][0])
    runs = {"P1": p1, "P2": p2, "P3": p3, "P4": p4, "P5": p5, "P6": p6, "P7": p7, "P8": p8,
            "P9": lighthouse_figure("mobile", "performance"), "P10": lighthouse_figure("desktop", "performance"),
            "P11": lighthouse_figure(None, "accessibility")}
    wanted = args.figures or list(runs)
    results = {}
    with tempfile.TemporaryDirectory(prefix="railyard-bench.") as tmp:
        for code in wanted:
            started = time.time()
            value, detail = runs[code](Path(tmp), args.bin_dir, size)
            name, unit, comparison, goal = FIGURES[code]
            met = value >= goal if comparison == ">=" else value <= goal
            results[code] = (value, detail, met)
            print(f"{code} {name} {value:.3g}  [goal {comparison} {goal:g}{'' if unit in ('ratio', 'score') else ' ' + unit}: "
                  f"{'met' if met else 'MISSED'}; {time.time() - started:.0f} s] {detail}", flush=True)
    if not args.smoke and not args.figures:
        write_results(results)
    return 0


def write_results(results: dict) -> None:
    missed = notes()
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run); do not edit by hand. Each ratio is",
        "against a baseline measured in the same run on the same machine.",
        "",
        f"Machine: {machine()}.",
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| Figure | Value | Goal | Met | Measured |",
        "|---|---|---|---|---|",
    ]
    for code, (value, detail, met) in results.items():
        name, unit, comparison, goal = FIGURES[code]
        unit_text = "" if unit in ("ratio", "score") else f" {unit}"
        lines.append(f"| {code} {name} | {value:.3g}{unit_text} | {comparison} {goal:g}{unit_text} | "
                     f"{'yes' if met else 'no'} | {detail} |")
    misses = [code for code, (_, _, met) in results.items() if not met]
    if misses:
        lines += ["", "## Why the missed figures miss, and what would close them", ""]
        for code in misses:
            lines += [f"### {code}", "", missed.get(code, "No note yet: write one in bench/notes.md."), ""]
    (ROOT / "bench/RESULTS.md").write_text("\n".join(lines).rstrip() + "\n")
    print("bench: wrote bench/RESULTS.md")


if __name__ == "__main__":
    sys.exit(main())
