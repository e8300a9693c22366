"""Hostile imported text in a real browser: it shows as text, and the page fetches nothing from
other hosts (Chromium through Playwright, against a real ``streamlit run``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, Request, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from ebaydash import services
from ebaydash.context import build_context
from ebaydash.plaintext import WORD_JOINER
from ebaydash.settings import Settings
from tests.conftest import OPERATOR
from tests.servers import running_app

pytestmark = pytest.mark.browser

IMAGE = "![](http://example.invalid/x.png)"
ACCOUNT = f"**Shop** :red[alarm] {IMAGE} <b>bold</b>"
SELLER = "seller_[x](javascript:alert(1))"
BUYER = f"=cmd|{IMAGE} [click](javascript:alert(1)) <img src=http://example.invalid/y.png>"
EMAIL = "buyer@example.invalid"
SKU = "-SKU :material/home: $x^2$"
TITLE = f"<script>alert(1)</script> www.example.invalid {IMAGE} _it_ :smile: ~gone~"
ORDER = "12-99999-00001"
NEW_ACCOUNT = "[Second](http://example.invalid/) shop :blue[x] $y$"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def hostile_order_file() -> services.ImportFile:
    """One Sell Fulfillment API ``getOrders`` page with one recent order, every text field hostile."""
    placed = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    stamp = placed.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def usd(value: str) -> dict[str, str]:
        return {"value": value, "currency": "USD"}

    order = {
        "orderId": ORDER,
        "creationDate": stamp,
        "lastModifiedDate": stamp,
        "orderFulfillmentStatus": "NOT_STARTED",
        "orderPaymentStatus": "PAID",
        "sellerId": SELLER,
        "buyer": {"username": BUYER, "buyerRegistrationAddress": {"fullName": BUYER, "email": EMAIL}},
        "pricingSummary": {"priceSubtotal": usd("20.00"), "total": usd("20.00")},
        "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
        "paymentSummary": {"totalDueSeller": usd("20.00"), "refunds": []},
        "lineItems": [
            {
                "lineItemId": "99999000001",
                "legacyItemId": "199999000001",
                "sku": SKU,
                "title": TITLE,
                "quantity": 2,
                "lineItemCost": usd("20.00"),
                "total": usd("20.00"),
                "lineItemFulfillmentStatus": "NOT_STARTED",
                "purchaseMarketplaceId": "EBAY_US",
                "listingMarketplaceId": "EBAY_US",
            }
        ],
    }
    page = {"total": 1, "limit": 50, "offset": 0, "orders": [order]}
    return services.ImportFile("hostile.json", json.dumps(page).encode())


def shown(element: Locator) -> str:
    """The element's text as a reader sees it (without the invisible word joiners that keep
    addresses from becoming links, see ebaydash.plaintext)."""
    return element.inner_text().replace(WORD_JOINER, "").strip()


def foreign(urls: list[str]) -> list[str]:
    """The requests that left this machine: ``data:`` is inline, ``blob:`` names its origin."""
    hosts = {url: urlparse(url.removeprefix("blob:")) for url in urls}
    return [
        url for url, parsed in hosts.items() if parsed.scheme != "data" and parsed.hostname not in LOCAL_HOSTS
    ]


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over a database whose only account was imported from :func:`hostile_order_file`."""
    data = tmp_path_factory.mktemp("plaintext")
    url = f"sqlite:///{data / 'hostile.sqlite3'}"
    ctx = build_context(Settings(database_url=url), start_sampler=False)
    try:
        report = services.import_orders(ctx, OPERATOR, [hostile_order_file()], account_name=ACCOUNT)
        assert report.committed, report.summary
    finally:
        ctx.close()
    with running_app(data, {"EBAYDASH_DATABASE_URL": url}) as base:
        yield base


def no_rendered_markup(page: Page) -> None:
    """Nothing of the hostile text became an element: no image, link, colour, icon or maths."""
    main = page.locator('[data-testid="stMain"], [data-testid="stSidebar"]')
    assert main.locator("img").count() == 0
    links = main.locator('a[href^="javascript"], a[href*="example.invalid"], a[href^="mailto"]')
    assert links.count() == 0, [links.nth(i).evaluate("e => e.outerHTML") for i in range(links.count())]
    assert main.locator(".stMarkdownColoredText, .katex, script, b").count() == 0
    assert main.locator('[role="img"][aria-label="home icon"]').count() == 0


def downloaded_rows(page: Page, button: str, index: int = 0) -> list[list[str]]:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).nth(index).click()
    path = info.value.path()
    return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def test_hostile_shop_data_shows_as_text_and_fetches_nothing_elsewhere(hostile_app: str, page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(hostile_app)
    title = page.locator("h1").first
    expect(title).to_contain_text("Shop", timeout=30_000)
    assert shown(title) == ACCOUNT
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=30_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_role("combobox").first.input_value() == ACCOUNT
    no_rendered_markup(page)

    # the tables' own download is off; the page's own button neutralises formulas
    table = page.locator('[data-testid="stDataFrame"]').first
    table.hover()
    expect(page.get_by_role("button", name="Search").first).to_be_visible()
    assert page.get_by_role("button", name="Download as CSV").count() == 0
    header, *rows = downloaded_rows(page, "Download CSV", index=1)  # top buyers (the tab's first)
    assert header == ["Buyer", "Orders", "Revenue"]
    assert rows == [["'" + BUYER, "1", "20.00"]]  # money as a number with its two decimals
    header, *rows = downloaded_rows(page, "Download CSV", index=0)  # top products by revenue
    assert rows[0][:3] == ["'" + SKU, TITLE, "2"]

    page.get_by_role("link", name="Orders").first.click()
    expect(page.locator("h1").filter(has_text="Orders")).to_be_visible(timeout=30_000)
    # an order's details open by clicking its row: the grid is a canvas, so click the first data
    # row's selection marker (left edge, one header row down)
    orders_table = page.locator('[data-testid="stDataFrame"]').first
    expect(orders_table).to_be_visible(timeout=30_000)
    buyer_line = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="Buyer:")
    # the grid may still be laying out (or redrawn by a rerun) when it first shows: a click that
    # lands before its rows are there selects nothing, so click again, up to three times
    for attempt in range(3):
        box = orders_table.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
        try:
            buyer_line.wait_for(state="visible", timeout=20_000 if attempt == 0 else 10_000)
            break
        except PlaywrightTimeoutError:
            continue
    expect(buyer_line).to_be_visible(timeout=10_000)
    assert shown(buyer_line) == f"Buyer: {BUYER} · {EMAIL}"
    no_rendered_markup(page)
    header, *rows = downloaded_rows(page, "Download CSV")  # the order's lines
    assert rows[0][:2] == ["'" + SKU, TITLE]

    page.get_by_role("link", name="Import orders").first.click()
    expect(page.locator("h1").filter(has_text="Import orders")).to_be_visible(timeout=30_000)
    account = page.locator('[data-testid="stSelectbox"]').filter(has_text="Account").last
    assert account.get_by_role("combobox").input_value() == ACCOUNT
    no_rendered_markup(page)

    # the same file through the page, into a new account with a hostile name: the report quotes it
    page.get_by_text("A new account").click()
    name = page.get_by_label("New account name")
    expect(name).to_be_visible(timeout=30_000)
    name.fill(NEW_ACCOUNT)
    name.press("Enter")
    main_selects = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]')
    expect(main_selects.filter(has_text="Account")).to_have_count(0)
    page.wait_for_timeout(1000)  # the run the name started, before the upload starts another
    hostile = hostile_order_file()
    assert hostile.data is not None
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": hostile.name, "mimeType": "application/json", "buffer": hostile.data}]
    )
    expect(page.get_by_text(hostile.name)).to_be_visible(timeout=30_000)
    button = page.get_by_role("button", name="Import", exact=True)
    expect(button).to_be_enabled(timeout=30_000)
    button.click()
    success = page.locator('[data-testid="stAlertContentSuccess"]')
    expect(success).to_be_visible(timeout=60_000)
    assert f"Imported into {NEW_ACCOUNT!r} (a new account): 1 new" in shown(success)
    no_rendered_markup(page)

    assert any("/_stcore/" in url for url in requested)  # the listener saw the app's own traffic
    assert foreign(requested) == []


CONTROL = """
import streamlit as st
from ebaydash import ui
text = {text!r}
st.markdown(ui.md(text) if st.query_params.get("escaped") else text)
st.text("loaded")
"""


def test_the_request_check_catches_an_unescaped_image(tmp_path: Path, page: Page) -> None:
    """Negative control: the same text in Markdown without ``ui.md`` makes the browser ask
    example.invalid for the image; with it, nothing is asked."""
    script = tmp_path / "control.py"
    script.write_text(CONTROL.format(text=ACCOUNT))
    with running_app(tmp_path, {}, script=str(script)) as base:
        for escaped, expected in ((False, ["http://example.invalid/x.png"]), (True, [])):
            requested: list[str] = []

            def note(request: Request, requested: list[str] = requested) -> None:
                requested.append(request.url)

            page.on("request", note)
            page.goto(base + ("/?escaped=1" if escaped else "/"))
            expect(page.get_by_text("loaded")).to_be_visible(timeout=30_000)
            page.wait_for_timeout(500)
            page.remove_listener("request", note)
            assert foreign(requested) == expected
            assert (page.locator('[data-testid="stMain"] img').count() > 0) is not escaped
