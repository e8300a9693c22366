"""What a seller feels in a real browser (issue 17), ebaydash's demo beside a hello-world anchor.

Both apps run as Streamlit servers started here (the anchor is ``bench/_hello``: three metrics, a
plotly chart, two pages; ebaydash on its demo data, SQLite, no Redis, as ``make run``), and
Chromium (Playwright, ``/usr/bin/chromium``) measures them alternately in the same run:

- **first KPI in a cold browser**: a new browser context each time (nothing cached), navigation
  start to the first ``st.metric`` value on screen; median of N per app, ratio ebaydash / anchor.
- **breakdown** of that time, read inside the page (``performance.now()``, so no driver latency):
  frontend start (navigation to the app's WebSocket open: the same JS bundle for both), server
  (WebSocket open to the message carrying the first metric: session start and the script up to
  the first tile), render (that message to the tile on screen), elements sent before it and in the
  whole run, and the run's end (``script_finished``).
- **page switches** in one browser session, warm cache: a click in the sidebar navigation to the
  page's ``script_finished`` message; every page is visited once first (imports, caches), then
  each switch is measured on later rounds.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import BenchEnv, Measurement, check

SECTION = "speed_browser"
SUMMARY = """\
Where the first KPI's time went (issue 17 measured 1.5-2.3x the anchor; this bench 1.63x before
the fixes, 3,454 ms vs 2,121 ms, on 2026-11-29 with load average ~6):
- **Frontend start** (Streamlit's JS bundle, to the WebSocket open) is ~1.1-1.4 s for both apps:
  the floor, the same code.
- **Server, session start**: 300-550 ms for ebaydash vs ~20 ms for the anchor. Streamlit's file
  watcher walked every loaded module (sqlalchemy, pandas, plotly, psycopg...) for each new session
  before its first run. Off in `.streamlit/config.toml` (the app is served, not edited): 10-50 ms.
- **Server, script up to the first tile**: ~50-100 ms (data cached; sidebar, accounts, overview).
- **Render** (the tile's message to the tile on screen) was the rest: the frontend reveals new
  elements once the lazily loaded code of all of them is ready, and the plotly chart's is 4.6 MB.
  The anchor's chart reaches the browser ~300 ms after its tiles (plotly express is slow), ours
  1 ms after. Variants measured side by side: tiles alone 1.02x the anchor, tiles + tables 1.18x,
  tiles + chart 3.8x. So on a browser session's first overview the chart and the tables wait for
  the browser to report the tiles drawn (`ui.tiles_painted`), then come in a rerun; clients that
  run no JavaScript (AppTest, the cluster bench) get the whole page in one run.
With the chart held back only, four runs of this section between 16:29 and 16:41 UTC gave 1.19x,
1.23x, 1.27x, 1.31x; holding the tables back too, side by side in one run: 1.13x -> 0.98x.
The table below is the run after both.
Page switches (click to the page's `script_finished`, which includes drawing the elements as they
arrive) before -> after (16:29 run): Orders 478 -> 376 ms, Import orders 375 -> 359, Performance
1,447 -> 688, Resources 1,141 -> 412, Scaling 578 -> 270, Overview 811 -> 287; at 16:41 every switch
was under 0.5 s (Performance 494 ms, the anchor's own 275 ms); at 16:39, load average 13, they
were 0.49-1.31 s. Absolute switch times follow the load, hence the anchor's switch beside them.
The system pages drew their charts with plotly express (~60 ms of Python each, 4 per page, again
every 5 s); `ui.lines`/`ui.bars` draw the same from graph_objects in ~5-8 ms. Performance stays the
slowest: its server run is ~80 ms, the rest is the browser drawing 4 charts and 3 tables. All times
on a machine shared by 8 sessions (load average 6-17 on 2 cores): single runs vary by +-30 %, the
ratios side by side less.
Later (2026-11-29, 20:00-20:25 UTC, quiet machine, medians of 11 from here on): the reconnect
watcher (a bidi component, its code loaded lazily) was sent first in every run, before the
sidebar; without it the first KPI came at 1.11x instead of 1.24x. It now waits for the rerun after
the first paint: 1.22-1.27x in three runs (the table is the last), within the noise of the first.
What is left of the gap is spread: variants measured one at a time, each once: the tiles' help
tooltips left out 1.20x, the paint report left out (so no chart ever) 1.18x. Neither is worth its
loss; the goal (<= 1.2) is missed by ~50-70 ms of the browser drawing a page with 9 tiles, 3
sidebar widgets and tooltips where the anchor has 3 bare tiles.
On 2026-11-30 (another machine of the same kind, quiet, 03:25-03:30 UTC) three runs in a row gave
1.15x, 1.12x, 1.16x (the table is the last): the render was ~485 ms against the anchor's ~290 ms,
the server ~80 ms against ~63 ms. Nothing on this path changed since the 1.22-1.27x runs but
that reads on Postgres without an app role no longer open a transaction (~2 ms per statement),
so most of the difference is the machine: met on this one, by a margin the older runs did not
have."""
# another checkout of the app may be measured (before/after comparisons)
ROOT = Path(os.environ.get("EBAYDASH_BENCH_APP_ROOT") or Path(__file__).resolve().parent.parent)
HELLO = Path(__file__).resolve().parent / "_hello"
CHROMIUM = os.environ.get("EBAYDASH_BENCH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ["Orders", "Import orders", "Performance", "Resources", "Scaling", "Overview"]

# Installed before the app's own scripts: keeps every message of the app's WebSocket with its
# arrival time, and the moment the first metric value is on screen (checked every frame).
RECORDER_JS = """
(() => {
  const log = (window.__bench = {open: null, sent: null, frames: [], metric: null});
  const Native = window.WebSocket;
  function Recorded(url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    if (String(url).includes("/_stcore/stream")) {
      socket.addEventListener("open", () => { if (log.open === null) log.open = performance.now(); });
      socket.addEventListener("message", (event) => log.frames.push([performance.now(), event.data]));
      const send = socket.send.bind(socket);
      socket.send = (data) => { if (log.sent === null) log.sent = performance.now(); send(data); };
    }
    return socket;
  }
  Recorded.prototype = Native.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Recorded[name] = Native[name];
  window.WebSocket = Recorded;
  const look = () => {
    const value = document.querySelector('[data-testid="stMetricValue"]');
    if (value && value.getClientRects().length) log.metric = performance.now();
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""

# The recorded frames as base64 (ArrayBuffers do not cross to Python), from index ``since`` on.
FRAMES_JS = """
(since) => window.__bench.frames.slice(since).map(([t, data]) => {
  const bytes = new Uint8Array(data);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return [t, btoa(text)];
})
"""


@dataclass
class Load:
    """One cold load of an app, times in ms since navigation start."""

    open_ms: float
    sent_ms: float
    new_session_ms: float
    first_metric_msg_ms: float
    metric_visible_ms: float
    finished_ms: float | None
    elements_before: int
    elements_total: int
    kinds_before: list[str] = field(default_factory=list)
    bytes_total: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(script: str, cwd: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """A Streamlit server for ``script``; yields its URL and process id."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below, after the server)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{script} did not start: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _decode(frames: list[list[Any]]) -> list[tuple[float, Any, int]]:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out = []
    for t, data in frames:
        raw = base64.b64decode(data)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        out.append((float(t), msg, len(raw)))
    return out


def _element_kind(msg: Any) -> str | None:
    if msg.WhichOneof("type") != "delta":
        return None
    delta = msg.delta
    kind = delta.WhichOneof("type")
    if kind == "new_element":
        return str(delta.new_element.WhichOneof("type"))
    if kind == "add_block":
        return "block"
    return None


def _is_finished(msg: Any) -> bool:
    return bool(msg.WhichOneof("type") == "script_finished")


def _cold_load(browser: Any, url: str) -> Load:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(RECORDER_JS)
        page.goto(url, wait_until="commit")
        page.wait_for_function("() => window.__bench && window.__bench.metric !== null", timeout=60_000)
        deadline = time.monotonic() + 30
        while True:  # the rest of the run, for its end and its size
            decoded = _decode(page.evaluate(FRAMES_JS, 0))
            if any(_is_finished(m) for _, m, _ in decoded) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        state = page.evaluate(
            "() => ({open: window.__bench.open, sent: window.__bench.sent, metric: window.__bench.metric})"
        )
    finally:
        context.close()
    first = next(t for t, m, _ in decoded if _element_kind(m) == "metric")
    kinds = [k for t, m, _ in decoded if t <= first and (k := _element_kind(m)) is not None]
    finished = next((t for t, m, _ in decoded if _is_finished(m)), None)
    return Load(
        open_ms=float(state["open"]),
        sent_ms=float(state["sent"]),
        new_session_ms=next(t for t, m, _ in decoded if m.WhichOneof("type") == "new_session"),
        first_metric_msg_ms=first,
        metric_visible_ms=float(state["metric"]),
        finished_ms=finished,
        elements_before=len(kinds),
        elements_total=sum(1 for _, m, _ in decoded if _element_kind(m) is not None),
        kinds_before=kinds,
        bytes_total=sum(n for _, _, n in decoded),
    )


def _switches(browser: Any, url: str, rounds: int, pages: list[str]) -> dict[str, list[float]]:
    """ms from a click in the sidebar navigation to that page's ``script_finished``; the first
    round warms every page and is not kept."""
    context = browser.new_context()
    out: dict[str, list[float]] = {name: [] for name in pages}
    try:
        page = context.new_page()
        page.add_init_script(RECORDER_JS)
        page.goto(url)
        page.wait_for_function("() => window.__bench.metric !== null", timeout=60_000)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
        time.sleep(1.0)
        for round_ in range(rounds + 1):
            for name in pages:
                since = int(page.evaluate("() => window.__bench.frames.length"))
                clicked = float(page.evaluate("() => performance.now()"))
                page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()
                deadline = time.monotonic() + 60
                done: float | None = None
                while done is None and time.monotonic() < deadline:
                    for t, m, _ in _decode(page.evaluate(FRAMES_JS, since)):
                        if _is_finished(m):
                            done = t
                            break
                    else:
                        time.sleep(0.02)
                if done is None:
                    raise RuntimeError(f"switch to {name}: no script_finished within 60 s")
                if round_ > 0:
                    out[name].append(done - clicked)
                page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
                time.sleep(0.3)  # let the page settle (charts draw) before the next click
    finally:
        context.close()
    return out


def _demo_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBAYDASH_")}
    env["EBAYDASH_DATA_DIR"] = str(data_dir)
    return env


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(env: BenchEnv) -> list[Measurement]:
    from playwright.sync_api import sync_playwright

    samples = 3 if env.quick else 11  # medians of 11: single cold loads vary by +-30 %
    rounds = 1 if env.quick else 3
    data_dir = Path(tempfile.mkdtemp(prefix="ebaydash-bench-demo-"))
    try:
        demo_env = _demo_env(data_dir)
        cli = shutil.which("ebaydash", path=str(Path(sys.executable).parent)) or "ebaydash"
        subprocess.run([cli, "seed-demo"], cwd=ROOT, env=demo_env, check=True, capture_output=True)
        hello_env = {k: v for k, v in os.environ.items() if not k.startswith("EBAYDASH_")}
        with (
            _server("hello_app.py", HELLO, hello_env) as (hello_url, _),
            _server("app.py", ROOT, demo_env) as (ebay_url, _),
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                _cold_load(browser, hello_url)  # each server's first session imports its modules
                _cold_load(browser, ebay_url)
                hello: list[Load] = []
                ebay: list[Load] = []
                for _ in range(samples):  # alternating, so both see the same load on the machine
                    hello.append(_cold_load(browser, hello_url))
                    ebay.append(_cold_load(browser, ebay_url))
                switches = _switches(browser, ebay_url, rounds, PAGES)
                # the anchor's own switches in the same run: the machine's load on them is ours
                anchor_switches = _switches(browser, hello_url, rounds, ["Table", "Overview"])
            finally:
                browser.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return _report(hello, ebay, switches, anchor_switches, samples)


def _report(
    hello: list[Load],
    ebay: list[Load],
    switches: dict[str, list[float]],
    anchor_switches: dict[str, list[float]],
    samples: int,
) -> list[Measurement]:
    def med(loads: list[Load], attr: str) -> float:
        return _median([float(getattr(x, attr)) for x in loads if getattr(x, attr) is not None])

    def server(loads: list[Load]) -> float:
        return _median([x.first_metric_msg_ms - x.open_ms for x in loads])

    def session_start(loads: list[Load]) -> float:
        return _median([x.new_session_ms - x.sent_ms for x in loads])

    def to_tile(loads: list[Load]) -> float:
        return _median([x.first_metric_msg_ms - x.new_session_ms for x in loads])

    def render(loads: list[Load]) -> float:
        return _median([x.metric_visible_ms - x.first_metric_msg_ms for x in loads])

    h, e = med(hello, "metric_visible_ms"), med(ebay, "metric_visible_ms")
    ratio = e / h
    load = os.getloadavg()[0]
    before = ", ".join(ebay[-1].kinds_before)
    out = [
        Measurement(
            SECTION,
            "first KPI in a cold browser: ebaydash overview / hello-world anchor",
            ratio,
            "x",
            "<= 1.2",
            check(ratio, at_most=1.2),
            f"ebaydash {e:,.0f} ms, anchor {h:,.0f} ms; medians of {samples} alternating cold loads "
            f"(new browser context each); load average {load:.1f}",
        ),
    ]
    for label, loads in (("anchor", hello), ("ebaydash", ebay)):
        out += [
            Measurement(
                SECTION, f"{label}: navigation to first KPI visible", med(loads, "metric_visible_ms"), "ms"
            ),
            Measurement(
                SECTION,
                f"{label}: frontend start (navigation to WebSocket open)",
                med(loads, "open_ms"),
                "ms",
                note="Streamlit's JS bundle, the same for both apps",
            ),
            Measurement(
                SECTION,
                f"{label}: server (WebSocket open to the first metric's message)",
                server(loads),
                "ms",
                note="session start + the script up to the first tile",
            ),
            Measurement(
                SECTION,
                f"{label}: server, session start (rerun request sent to new_session)",
                session_start(loads),
                "ms",
            ),
            Measurement(
                SECTION,
                f"{label}: server, script up to the first tile (new_session to its message)",
                to_tile(loads),
                "ms",
            ),
            Measurement(
                SECTION, f"{label}: render (first metric's message to on screen)", render(loads), "ms"
            ),
            Measurement(
                SECTION,
                f"{label}: elements before the first metric",
                med(loads, "elements_before"),
                "elements",
                note=before if label == "ebaydash" else "",
            ),
            Measurement(
                SECTION,
                f"{label}: whole run (navigation to script_finished)",
                med(loads, "finished_ms"),
                "ms",
                note=f"{med(loads, 'elements_total'):.0f} elements, "
                f"{med(loads, 'bytes_total') / 1024:,.0f} KiB",
            ),
        ]
    anchor_ms = _median([v for values in anchor_switches.values() for v in values])
    out.append(
        Measurement(
            SECTION,
            "anchor: page switch (Table, Overview; same session)",
            anchor_ms,
            "ms",
            note="the floor on this machine at this load: a page with 3 metrics and a chart, or a table",
        )
    )
    for name in PAGES:
        ms = _median(switches[name])
        out.append(
            Measurement(
                SECTION,
                f"page switch to {name} (same session, warm cache)",
                ms,
                "ms",
                "<= 500 ms",
                check(ms, at_most=500.0),
                f"click to script_finished, median of {len(switches[name])}; "
                f"{ms / anchor_ms:.2f}x the anchor's switch",
            )
        )
    return out
