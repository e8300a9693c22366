"""A real browser (Debian's Chromium via Playwright) against a real `streamlit run`."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from ebaydash import services
from ebaydash.context import build_context
from ebaydash.db.engine import Database, make_engine
from ebaydash.models import Window
from ebaydash.seeding import seed_demo
from ebaydash.settings import Settings
from tests.conftest import ROOT, SAMPLE_DIR, free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    data = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{data / 'demo.sqlite3'}"
    settings = Settings(database_url=url)
    db = Database(make_engine(settings), timeout_ms=5000)
    seed_demo(db, SAMPLE_DIR)
    db.dispose()
    port = free_port()
    env = {**os.environ, "EBAYDASH_DATABASE_URL": url}
    log = open(data / "streamlit.log", "w")  # noqa: SIM115
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
                raise RuntimeError(f"streamlit did not start: {(data / 'streamlit.log').read_text()}")
            time.sleep(0.3)
        yield base, settings
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def expected_orders_tile(settings: Settings) -> str:
    """The overview's first tile computed independently of the app run."""
    ctx = build_context(settings, start_sampler=False)
    try:
        account = services.default_account(services.accounts(ctx))
        kpis = services.kpis(ctx, account.id, Window.last_days(30, account.timezone))
    finally:
        ctx.close()
    return f"{kpis.orders.current:,}"


def test_every_page_opens_and_the_orders_kpi_matches_the_database(
    server: tuple[str, Settings], page: Page
) -> None:
    base, settings = server
    page.goto(base)
    orders_tile = page.locator('[data-testid="stMetric"]').filter(has_text="Orders").first
    expect(orders_tile).to_be_visible(timeout=30_000)
    value = orders_tile.locator('[data-testid="stMetricValue"]').inner_text()
    assert value == expected_orders_tile(settings)
    assert value != "0"

    for title in ("Orders", "Performance", "Resources", "Scaling"):
        page.get_by_role("link", name=title).first.click()
        expect(page.locator("h1").filter(has_text=title)).to_be_visible(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
    assert dt.datetime.now().year > 2000
