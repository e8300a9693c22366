"""A real browser (Debian's Chromium via Playwright) against a real `streamlit run`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ebaydash import services
from ebaydash.context import build_context
from ebaydash.db import access as db_access
from ebaydash.db import queries
from ebaydash.db.engine import Database, make_engine
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


def test_a_new_accounts_zone_falls_back_to_the_browsers(
    server: tuple[str, Settings], browser: Browser
) -> None:
    """A new account's zone is its files' eBay site's; for files that do not say their site, the
    import page falls back to the browser's zone (the seller's local time), not UTC."""
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
            '- combobox "Time zone of the Seller Hub dates": "From the files\' eBay site (else Asia/Tokyo)"',
            timeout=10_000,
        )
    finally:
        context.close()


# What the rules engine, `ebaydash recommend` and the autoscaler write, at their longest.
SCALING_ACTIONS = [
    (
        "scale_up",
        2,
        3,
        "avg_response_ms",
        "Average response time 4,500 ms is above 3,000 ms: add replicas (2 → 3) (scale-up wins over "
        "requests per minute per replica being low).",
        "ebaydash-7c9f8d6b5-x2k4p:48213",
    ),
    (
        "replica_started",
        2,
        3,
        "autoscale",
        "Started r3 at http://127.0.0.1:40123 and put it into HAProxy's rotation in 2.4 s (scale up 2 → 3).",
        "autoscale ebaydash-host-7f9c2d:123456",
    ),
    (
        "replica_stopped",
        3,
        2,
        "autoscale",
        "Drained r2 for 120.0 s and stopped it with 3 sessions still open at the drain timeout (120 s); "
        "they reconnect to the other replicas (scale down 3 → 2).",
        "autoscale ebaydash-host-7f9c2d:123456",
    ),
]


def test_the_scaling_history_fits_a_1400_px_window(server: tuple[str, Settings], browser: Browser) -> None:
    """Its columns sized to their text ran past the page at 1400 px: "By" hidden to the right,
    every reason cut (seen in a browser)."""
    base, settings = server
    db = Database(make_engine(settings), timeout_ms=5000)
    try:
        for n, (action, before, after, rule, reason, actor) in enumerate(SCALING_ACTIONS):
            values = {
                "at": dt.datetime.now(dt.UTC).timestamp() - 600 + 60 * n,
                "action": action,
                "from_replicas": before,
                "to_replicas": after,
                "rule": rule,
                "reason": reason,
                "actor": actor,
            }
            queries.scaling_action_insert(db, "default", values)
    finally:
        db.dispose()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{base}/scaling")
        # the grid draws on a canvas; its headers are also in a table for screen readers
        history = page.locator('[data-testid="stDataFrame"]').filter(
            has=page.locator("th", has_text="Reason")
        )
        scroller = history.locator(".dvn-scroller")
        expect(scroller).to_be_attached(timeout=30_000)
        headers = [h.strip() for h in history.locator("th").all_text_contents()]
        assert headers == ["When", "Action", "Replicas", "Rule", "By", "Reason"]
        page.wait_for_timeout(1000)  # the grid measures its columns once its fonts are in
        widths = scroller.evaluate("e => ({shown: e.clientWidth, needed: e.scrollWidth})")
        assert widths["shown"] > 800, widths  # the page's width at 1400 px, not a collapsed grid
        assert widths["needed"] <= widths["shown"], widths
    finally:
        context.close()


def _cut_texts(page: Page, selector: str) -> list[str]:
    """The texts under ``selector`` that overflow their box (shown cut, with "…")."""
    return page.locator(selector).evaluate_all(
        """els => els.flatMap(e => [e, ...e.querySelectorAll('*')])
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => e.innerText)"""
    )


def test_the_unknown_listings_tiles_and_the_audit_log_fit_a_1400_px_window(
    server: tuple[str, Settings], browser: Browser, tmp_path: Path
) -> None:
    """Seen in a browser at 1400 px: the Active listings/products captions of an account without
    listings read "unknown: no listings imported (order files do n…", and the Access page's audit
    log cut its Details column."""
    from tests.migration_support import insert

    base, settings = server
    db = Database(make_engine(settings), timeout_ms=5000)
    try:
        name = "No Listings Shop"
        insert(db, "accounts", [{"name": name, "ebay_user_id": "no-listings"}])
        details = {
            "files": [
                "eBay-OrdersReport-Nov-30-2026-09:12:44-0700-1234567890.csv",
                "transactions-2026-11.csv",
            ],
            "orders": 1234,
            "lines": 1500,
            "new_skus": 12,
            "money_records": 4321,
        }
        db_access.audit(
            db,
            at=dt.datetime.now(dt.UTC),
            actor="someone.with.a.long.name@example-shop.test",
            action="import",
            account_name=name,
            detail=details,
        )
    finally:
        db.dispose()
    ctx = build_context(settings, start_sampler=False)
    try:
        account = next(a for a in services.accounts(ctx, OPERATOR) if a.name == name)
    finally:
        ctx.close()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{base}/?account={account.id}")
        tile = page.locator('[data-testid="stMetric"]').filter(has_text="Active listings").first
        expect(tile.get_by_text("unknown: no listings imported")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(tmp_path / "overview.png"))
        assert _cut_texts(page, '[data-testid="stMetricDelta"]') == []

        page.goto(f"{base}/access")
        audit = page.locator('[data-testid="stDataFrame"]').filter(has=page.locator("th", has_text="Details"))
        scroller = audit.locator(".dvn-scroller")
        expect(scroller).to_be_attached(timeout=30_000)
        page.wait_for_timeout(1000)  # the grid measures its columns once its fonts are in
        audit.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "access.png"), full_page=True)
        widths = scroller.evaluate("e => ({shown: e.clientWidth, needed: e.scrollWidth})")
        assert widths["shown"] > 800, widths
        assert widths["needed"] <= widths["shown"], widths
    finally:
        context.close()


def test_tiles_and_buttons_keep_their_whole_text_in_an_800_px_window(
    server: tuple[str, Settings], browser: Browser, tmp_path: Path
) -> None:
    """A tester at 800 px (the sidebar open) read "$18,19…" on the overview, every profit tile cut,
    and the orders' buttons as "←…", "N…", "⬇ Downloa…". Control: without the page's tile style
    (ui._NARROW_TILES_CSS) the overview's values are cut here."""
    base, _settings = server
    context = browser.new_context(viewport={"width": 800, "height": 900})
    try:
        page = context.new_page()
        page.goto(base)
        expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=30_000)
        for path in ("", "profit"):
            page.goto(f"{base}/{path}")
            expect(page.locator('[data-testid="stMetricValue"]').nth(7)).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(tmp_path / f"{path or 'overview'}-800.png"), full_page=True)
            for part in ("stMetricValue", "stMetricDelta", "stMetricLabel"):
                assert _cut_texts(page, f'[data-testid="{part}"]') == [], (path, part)
        page.goto(f"{base}/orders")
        expect(page.get_by_role("button", name="Next →")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(tmp_path / "orders-800.png"), full_page=True)
        assert _cut_texts(page, '[data-testid="stButton"], [data-testid="stDownloadButton"]') == []
        toggle_label = '[data-testid="stCheckbox"] [data-testid="stMarkdownContainer"]'
        assert _cut_texts(page, toggle_label) == []  # "One row per item"
    finally:
        context.close()
