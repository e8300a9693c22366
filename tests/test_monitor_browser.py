"""A real browser on the performance page: the live fragment picks up another replica's traffic
by itself, without rerunning the page."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.shared import SharedMetrics
from tests.servers import running_app, seeded_sqlite

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def shared_server(tmp_path: Path, demo_template: Path, redis_url: str) -> Iterator[tuple[str, str]]:
    url = seeded_sqlite(tmp_path, demo_template)
    prefix = f"ebaydash:test:{uuid.uuid4().hex[:12]}"
    env = {
        "EBAYDASH_DATABASE_URL": url,
        "EBAYDASH_REDIS_URL": redis_url,
        "EBAYDASH_METRICS_PREFIX": prefix,
        "EBAYDASH_MONITOR_REFRESH_S": "1",
    }
    with running_app(tmp_path, env) as base:
        yield base, prefix


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

    # no reload, no click: the fragment's own timer brings the new numbers. Wait for them, not
    # for any change: this browser's own page runs reach the shared metrics too (0 -> 1/min)
    def requests_per_min() -> float:
        return float(tile(page, "Requests").removesuffix("/min").replace(",", ""))

    deadline = time.monotonic() + 30
    while requests_per_min() < 3000 / 5:  # 3,000 page runs over at most five minutes
        assert time.monotonic() < deadline, (
            f"the Requests tile stayed at {tile(page, 'Requests')} ({before} before)"
        )
        time.sleep(0.5)
    assert page.locator('[data-testid="stException"]').count() == 0

    # …and the page itself ran once: fragment reruns are not page runs
    time.sleep(2)
    reader = MetricsRecorder(
        shared=SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=1)
    )
    pages = {name: s.count for (kind, name), s in reader.snapshot(300).series.items() if kind == "page"}
    assert pages.get("performance") == 1, pages


@pytest.fixture
def local_server(tmp_path: Path, demo_template: Path) -> Iterator[str]:
    env = {"EBAYDASH_DATABASE_URL": seeded_sqlite(tmp_path, demo_template), "EBAYDASH_MONITOR_REFRESH_S": "1"}
    with running_app(tmp_path, env) as base:
        yield base


def test_a_manager_simulates_visitors_from_the_performance_page(local_server: str, page: Page) -> None:
    page.goto(local_server)
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Performance").first.click()
    expect(page.locator("h1").filter(has_text="Performance")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Simulate visitors").click()
    expect(page.get_by_text("Simulating visitors:", exact=False)).to_be_visible(timeout=30_000)
    # the page now shows simulated visitors (real ones stay apart), refreshed by the fragment
    expect(page.get_by_text("simulated visitors;", exact=False)).to_be_visible(timeout=30_000)
    deadline = time.monotonic() + 30
    while float(tile(page, "Requests").removesuffix("/min").replace(",", "")) < 10:
        assert time.monotonic() < deadline, "the simulated visitors never showed in the Requests tile"
        time.sleep(0.5)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Demo traffic stopped:", exact=False)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Simulate visitors")).to_be_visible()
    # back to real visitors: the app's own few page runs, none of the simulated ones
    simulated = float(tile(page, "Requests").removesuffix("/min").replace(",", ""))
    page.get_by_text("Real visitors", exact=True).click()
    expect(page.get_by_text("real visitors;", exact=False)).to_be_visible(timeout=30_000)
    assert float(tile(page, "Requests").removesuffix("/min").replace(",", "")) < simulated
    assert page.locator('[data-testid="stException"]').count() == 0
