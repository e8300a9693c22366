"""A real browser (Debian's Chromium via Playwright) against a real `streamlit run`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ebaydash import services
from ebaydash.context import build_context
from ebaydash.models import Window
from ebaydash.settings import Settings
from tests.conftest import OPERATOR
from tests.servers import running_app, seeded_sqlite

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[tuple[str, Settings]]:
    data = tmp_path_factory.mktemp("browser")
    url = seeded_sqlite(data, demo_template)
    with running_app(data, {"EBAYDASH_DATABASE_URL": url}) as base:
        yield base, Settings(database_url=url)


def expected_orders_tile(settings: Settings) -> str:
    """The overview's first tile computed independently of the app run."""
    ctx = build_context(settings, start_sampler=False)
    try:
        account = services.default_account(services.accounts(ctx, OPERATOR))
        kpis = services.kpis(ctx, OPERATOR, account.id, Window.last_days(30, account.timezone))
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


@pytest.mark.parametrize("path", ["orders", "performance"])
def test_a_deep_link_as_the_first_request_still_gets_the_whole_app(
    tmp_path: Path, demo_template: Path, page: Page, path: str
) -> None:
    """A fresh server whose very first request is a deep link: the page must come with app.py's
    sidebar and navigation (Streamlit would otherwise run the page file on its own)."""
    url = seeded_sqlite(tmp_path, demo_template)
    with running_app(tmp_path, {"EBAYDASH_DATABASE_URL": url}) as base:
        page.goto(f"{base}/{path}")
        expect(page.locator("h1").filter(has_text=path.capitalize())).to_be_visible(timeout=30_000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text("Account", exact=True)).to_be_visible(timeout=30_000)
        expect(sidebar.get_by_role("link", name="Overview")).to_be_visible()


def test_a_new_accounts_zone_starts_as_the_browsers(server: tuple[str, Settings], browser: Browser) -> None:
    """Seller Hub's dates are the seller's local times: the import page's zone for a new account
    starts as the browser's, not UTC (an existing account keeps its own)."""
    base, _settings = server
    context = browser.new_context(timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.goto(f"{base}/import_orders")
        expect(page.locator("h1").filter(has_text="Import")).to_be_visible(timeout=30_000)
        page.get_by_text("A new account", exact=True).click()
        main = page.locator('[data-testid="stMain"]')
        expect(main.get_by_text("Time zone of the Seller Hub dates")).to_be_visible(timeout=10_000)
        zone = main.get_by_role("combobox", name="Time zone of the Seller Hub dates")
        expect(zone).to_match_aria_snapshot(
            '- combobox "Time zone of the Seller Hub dates": Asia/Tokyo', timeout=10_000
        )
    finally:
        context.close()
