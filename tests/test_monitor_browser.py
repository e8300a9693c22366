"""A real browser on the performance page: the live fragment picks up another replica's traffic
by itself, without rerunning the page."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ebaydash.db.engine import Database, make_engine
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.shared import SharedMetrics
from ebaydash.seeding import seed_demo
from ebaydash.settings import Settings
from tests.conftest import ROOT, SAMPLE_DIR, free_port

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def shared_server(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    db = Database(make_engine(Settings(database_url=url)), timeout_ms=60_000)
    seed_demo(db, SAMPLE_DIR)
    db.dispose()
    prefix = f"ebaydash:test:{uuid.uuid4().hex[:12]}"
    port = free_port()
    env = {
        **os.environ,
        "EBAYDASH_DATABASE_URL": url,
        "EBAYDASH_REDIS_URL": redis_url,
        "EBAYDASH_METRICS_PREFIX": prefix,
        "EBAYDASH_MONITOR_REFRESH_S": "1",
    }
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()}")
            time.sleep(0.3)
        yield base, prefix
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def tile(page: Page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_the_performance_page_refreshes_itself_with_other_replicas_traffic(
    shared_server: tuple[str, str], redis_url: str, page: Page
) -> None:
    base, prefix = shared_server
    # enter through app.py (a deep link as a server's very first request runs the page file alone)
    page.goto(base)
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Performance").first.click()
    expect(page.locator("h1").filter(has_text="Performance")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("all replicas", exact=False).first).to_be_visible(timeout=30_000)
    before = tile(page, "Requests")

    other = MetricsRecorder(
        shared=SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=1)
    )
    for _ in range(3000):
        other.record("page", "overview", 0.02)
    assert other.flush()

    # no reload, no click: the fragment's own timer brings the new numbers
    deadline = time.monotonic() + 30
    while tile(page, "Requests") == before:
        assert time.monotonic() < deadline, f"the Requests tile stayed at {before}"
        time.sleep(0.5)
    after = float(tile(page, "Requests").removesuffix("/min").replace(",", ""))
    assert after >= 3000 / 5  # 3,000 page runs over at most five minutes
    assert page.locator('[data-testid="stException"]').count() == 0

    # …and the page itself ran once: fragment reruns are not page runs
    time.sleep(2)
    reader = MetricsRecorder(
        shared=SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=1)
    )
    pages = {name: s.count for (kind, name), s in reader.snapshot(300).series.items() if kind == "page"}
    assert pages.get("performance") == 1, pages
