"""The orders listing against pandas ground truth, on SQLite and Postgres: keyset pages in every
sort, forward and back, stability while orders arrive, filters, the cached total, drill-down, the
streamed CSV export, and bad input that must end in a clear message, never a SQL error."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ebaydash.context import Context, build_context
from ebaydash.db.engine import Database
from ebaydash.db.pagination import Cursor, encode_cursor, fingerprint
from ebaydash.errors import InvalidCursor, InvalidInput, NotFound
from ebaydash.models import OrderFilter, OrdersPage, Window
from ebaydash.services import sellers
from ebaydash.settings import Settings
from tests import shop_data as sd
from tests.conftest import OPERATOR
from tests.shop_data import Shop

TZ = "Europe/Berlin"
FIRST, LAST = dt.date(2026, 3, 20), dt.date(2026, 4, 2)  # clocks go forward on 29 March
SORT_KEYS = {
    "newest": ("order_date", False),
    "oldest": ("order_date", True),
    "amount_high": ("total_amount", False),
    "amount_low": ("total_amount", True),
}


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


@pytest.fixture
def shop(db: Database) -> tuple[Shop, int]:
    # many orders share a timestamp (window edges, midnights) and an amount: ties must page cleanly
    shop, account_id = sd.random_shop(3, n_orders=140, tz=TZ, first=FIRST, last=LAST, n_skus=4)
    other = shop.account("Other", "UTC")
    shop.order(other, sd.local_midnight(FIRST, TZ), [("X", "x", 1, Decimal("1.00"))])
    shop.load(db)
    return shop, account_id


def truth(shop: Shop, account_id: int, sort: str, keep: Any = None) -> list[int]:
    frame = shop.frame("orders")
    frame = frame[frame.account_id == account_id]
    if keep is not None:
        frame = frame[keep(frame)]
    column, ascending = SORT_KEYS[sort]
    ordered = sorted(zip(frame[column], frame.id, strict=True), reverse=not ascending)
    return [int(i) for _, i in ordered]


def walk(ctx: Context, account_id: int, flt: OrderFilter, sort: str, size: int) -> list[OrdersPage]:
    pages = [sellers.orders_page(ctx, OPERATOR, account_id, flt, sort=sort, page_size=size)]
    while pages[-1].next_cursor:
        pages.append(
            sellers.orders_page(
                ctx, OPERATOR, account_id, flt, sort=sort, cursor=pages[-1].next_cursor, page_size=size
            )
        )
        assert len(pages) < 1000
    return pages


@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_walking_forward_then_back_returns_identical_pages(
    ctx: Context, shop: tuple[Shop, int], sort: str
) -> None:
    data, account_id = shop
    pages = walk(ctx, account_id, OrderFilter(), sort, 25)
    assert [r.id for p in pages for r in p.rows] == truth(data, account_id, sort)
    assert [p.first_row for p in pages] == [1 + 25 * n for n in range(len(pages))]
    assert all(len(p.rows) == 25 for p in pages[:-1]) and pages[0].prev_cursor is None
    back = [pages[-1]]
    while back[-1].prev_cursor:
        back.append(
            sellers.orders_page(
                ctx, OPERATOR, account_id, OrderFilter(), sort=sort, cursor=back[-1].prev_cursor, page_size=25
            )
        )
    back.reverse()
    assert [[r.id for r in p.rows] for p in back] == [[r.id for r in p.rows] for p in pages]
    assert [p.first_row for p in back] == [p.first_row for p in pages]
    assert all(p.next_cursor for p in back[:-1])


@pytest.mark.parametrize("size", [50, 100])
def test_every_page_size_walks_the_same_rows(ctx: Context, shop: tuple[Shop, int], size: int) -> None:
    data, account_id = shop
    pages = walk(ctx, account_id, OrderFilter(), "newest", size)
    assert [r.id for p in pages for r in p.rows] == truth(data, account_id, "newest")
    assert len(pages) == -(-140 // size)


def test_filters_and_cached_total_match_pandas(ctx: Context, shop: tuple[Shop, int]) -> None:
    data, account_id = shop
    window = Window.for_dates(FIRST, LAST, TZ)
    items = data.frame("order_items")
    names = {c["id"]: c["ebay_username"] for c in data.rows["customers"]}

    def search_hits(needle: str) -> set[int]:
        lowered = needle.lower()
        hit = items[
            items.sku.str.lower().str.contains(lowered, regex=False)
            | items.title.str.lower().str.contains(lowered, regex=False)
        ]
        return set(hit.order_id)

    cases = [
        (OrderFilter(statuses=("cancelled", "refunded")), lambda f: f.status.isin(["cancelled", "refunded"])),
        (OrderFilter(window=window), lambda f: (f.order_date >= window.start) & (f.order_date < window.end)),
        (
            OrderFilter(buyer="BUYER1"),  # case-insensitive part of the name: buyer1, buyer10, buyer11
            lambda f: f.customer_id.map(lambda c: not pd.isna(c) and "buyer1" in names[int(c)]),
        ),
        (OrderFilter(search="sku-2"), lambda f: f.id.isin(search_hits("sku-2"))),
        (OrderFilter(search="ord-0001"), lambda f: f.ebay_order_id.str.contains("ord-0001", regex=False)),
        (
            OrderFilter(statuses=("paid",), window=window, search="thing"),
            lambda f: (
                (f.status == "paid")
                & (f.order_date >= window.start)
                & (f.order_date < window.end)
                & f.id.isin(search_hits("thing"))
            ),
        ),
    ]
    for flt, keep in cases:
        expected = truth(data, account_id, "amount_high", keep)
        assert expected, flt  # each case selects something, and not everything
        assert len(expected) < 140 or flt.search == "thing"
        pages = walk(ctx, account_id, flt, "amount_high", 25)
        assert [r.id for p in pages for r in p.rows] == expected, flt
        assert sellers.orders_total(ctx, OPERATOR, account_id, flt) == len(expected), flt


def test_the_total_is_cached_until_refreshed(ctx: Context, db: Database, shop: tuple[Shop, int]) -> None:
    data, account_id = shop
    assert sellers.orders_total(ctx, OPERATOR, account_id, OrderFilter()) == 140
    since = data.counts()
    data.order(account_id, sd.local_midnight(LAST, TZ), [("N", "n", 1, Decimal("1.00"))])
    data.load(db, since=since)
    assert sellers.orders_total(ctx, OPERATOR, account_id, OrderFilter()) == 140
    assert sellers.orders_total(ctx, OPERATOR, account_id, OrderFilter(), fresh=True) == 141


@pytest.mark.parametrize("sort", ["newest", "amount_low"])
def test_orders_arriving_between_page_loads_cause_no_duplicates_or_gaps(
    ctx: Context, db: Database, shop: tuple[Shop, int], sort: str
) -> None:
    data, account_id = shop
    before = truth(data, account_id, sort)
    first = sellers.orders_page(ctx, OPERATOR, account_id, OrderFilter(), sort=sort, page_size=25)
    second = sellers.orders_page(
        ctx, OPERATOR, account_id, OrderFilter(), sort=sort, cursor=first.next_cursor, page_size=25
    )
    boundary = second.rows[-1]
    # new orders on both sides of the boundary, and one tied with it on the sort key
    newest = sd.local_midnight(LAST, TZ) + dt.timedelta(days=30)
    since = data.counts()
    for when, price in [
        (newest, Decimal("0.01")),  # sorts first in both sorts: already "seen" territory
        (boundary.order_date, boundary.total_amount),  # tied: the higher id decides
        (boundary.order_date - dt.timedelta(seconds=1), boundary.total_amount + Decimal("0.01")),
        (sd.local_midnight(FIRST, TZ) - dt.timedelta(days=60), Decimal("999.99")),  # sorts last
    ]:
        data.order(account_id, when, [("NEW", "new", 1, price)])
    data.load(db, since=since)
    rest = []
    page = second
    while page.next_cursor:
        page = sellers.orders_page(
            ctx, OPERATOR, account_id, OrderFilter(), sort=sort, cursor=page.next_cursor, page_size=25
        )
        rest.extend(r.id for r in page.rows)
    seen = [r.id for r in first.rows] + [r.id for r in second.rows] + rest
    assert len(seen) == len(set(seen)), "an order was shown twice"
    assert set(before) <= set(seen), "an order that was there all along was skipped"
    after = truth(data, account_id, sort)
    # the rest of the walk is exactly what now lies beyond the boundary
    assert rest == after[after.index(boundary.id) + 1 :]


# -- drill-down and export ----------------------------------------------------------------------------


def test_drill_down_shows_items_buyer_and_amounts(ctx: Context, db: Database) -> None:
    data = Shop()
    a = data.account("Drill", TZ)
    other = data.account("Else", TZ)
    buyer = data.customer(a, "jo_smith", "jo@example.com")
    oid = data.order(
        a,
        sd.local_midnight(FIRST, TZ),
        [("A-1", "Teapot", 2, Decimal("12.50")), ("B-2", "Cup", 3, Decimal("3.33"))],
        customer_id=buyer,
        shipping=Decimal("4.99"),
        refunded=Decimal("5.00"),
    )
    foreign = data.order(other, sd.local_midnight(FIRST, TZ), [("Z", "z", 1, Decimal("1.00"))])
    data.load(db)
    detail = sellers.order_detail(ctx, OPERATOR, a, oid)
    assert [(i.sku, i.title, i.quantity, i.unit_price, i.line_total) for i in detail.items] == [
        ("A-1", "Teapot", 2, Decimal("12.50"), Decimal("25.00")),
        ("B-2", "Cup", 3, Decimal("3.33"), Decimal("9.99")),
    ]
    assert detail.order.total_amount == Decimal("39.98")
    assert detail.items_total == Decimal("34.99") and detail.other_amount == Decimal("4.99")
    assert detail.order.net_amount == Decimal("34.98") and detail.order.items == 5
    assert (detail.order.buyer, detail.buyer_email) == ("jo_smith", "jo@example.com")
    with pytest.raises(NotFound, match="does not exist in this account"):
        sellers.order_detail(ctx, OPERATOR, a, foreign)  # another account's order is not reachable


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_streams_every_matching_order_in_order(ctx: Context, db: Database) -> None:
    data, account_id = sd.random_shop(8, n_orders=2600, tz=TZ, first=FIRST, last=LAST)
    data.load(db)
    flt = OrderFilter(statuses=("delivered", "paid", "shipped", "refunded"))
    chunks = sellers.export_orders_csv(ctx, OPERATOR, account_id, flt, sort="amount_high")
    assert not isinstance(chunks, list | tuple)
    pieces = list(chunks)
    assert len(pieces) >= 2  # rows are written out in chunks as they stream, not all at once
    rows = read_csv("".join(pieces))
    expected = truth(data, account_id, "amount_high", lambda f: f.status.isin(flt.statuses))
    by_id = {o["id"]: o for o in data.rows["orders"]}
    # the eBay order number, never ebaydash's internal id
    assert [r["ebay_order_id"] for r in rows] == [by_id[i]["ebay_order_id"] for i in expected]
    assert "order_id" not in rows[0] and "id" not in rows[0]
    zone = ZoneInfo(TZ)
    for r, order_id in list(zip(rows, expected, strict=True))[:50]:
        order = by_id[order_id]
        assert Decimal(r["total_amount"]) == order["total_amount"]
        assert Decimal(r["net_amount"]) == order["total_amount"] - order["refunded_amount"]
        # wall-clock time in the account's zone, as Excel reads a date: no "T", no offset
        assert r["order_date"] == order["order_date"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        assert r["time_zone"] == TZ
    with sellers.export_orders_file(ctx, OPERATOR, account_id, flt, sort="amount_high") as handle:
        assert not os.path.exists(handle.name)  # already unlinked: nothing is left behind
        data_bytes = handle.read()
    # a UTF-8 byte-order mark first, so Excel does not read the file in the local code page
    assert data_bytes.startswith(codecs.BOM_UTF8)
    assert data_bytes[len(codecs.BOM_UTF8) :].decode("utf-8") == "".join(pieces)
    assert data_bytes.decode("utf-8-sig") == "".join(pieces)


def test_export_with_line_items_has_one_row_per_item(ctx: Context, db: Database) -> None:
    shop = Shop()
    a = shop.account("Items", TZ)
    buyer = shop.customer(a, "=cmd|' /C calc'!A0")  # a formula from an imported file
    start = sd.local_midnight(FIRST, TZ)
    two = shop.order(
        a,
        start + dt.timedelta(hours=5),
        [("A-1", "Teapot", 2, Decimal("12.50")), ("+B-2", "Zoë's cup €", 3, Decimal("3.33"))],
        customer_id=buyer,
    )
    one = shop.order(a, start + dt.timedelta(hours=1), [("C-3", "Spoon", 1, Decimal("0.99"))])
    shop.load(db)
    by_id = {o["id"]: o for o in shop.rows["orders"]}
    text = "".join(sellers.export_orders_csv(ctx, OPERATOR, a, OrderFilter(), sort="newest", line_items=True))
    rows = read_csv(text)
    assert list(rows[0]) == list(sellers.EXPORT_ITEM_COLUMNS)
    got = [
        (r["ebay_order_id"], r["sku"], r["title"], r["quantity"], r["unit_price"], r["line_total"])
        for r in rows
    ]
    assert got == [
        (by_id[two]["ebay_order_id"], "A-1", "Teapot", "2", "12.50", "25.00"),
        (by_id[two]["ebay_order_id"], "'+B-2", "Zoë's cup €", "3", "3.33", "9.99"),
        (by_id[one]["ebay_order_id"], "C-3", "Spoon", "1", "0.99", "0.99"),
    ]
    # the order's columns repeat on each of its rows; formulas stay neutralised
    assert rows[0]["buyer"] == rows[1]["buyer"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["items"] == rows[1]["items"] == "5"
    # the same filter without items: one row per order, no item columns
    plain = read_csv("".join(sellers.export_orders_csv(ctx, OPERATOR, a, OrderFilter(), sort="newest")))
    assert [r["ebay_order_id"] for r in plain] == [by_id[two]["ebay_order_id"], by_id[one]["ebay_order_id"]]
    assert "sku" not in plain[0]
    # a search for one item's SKU still exports every item of the matching order
    found = read_csv(
        "".join(
            sellers.export_orders_csv(
                ctx, OPERATOR, a, OrderFilter(search="teapot"), sort="newest", line_items=True
            )
        )
    )
    assert [r["sku"] for r in found] == ["A-1", "'+B-2"]
    with sellers.export_orders_file(ctx, OPERATOR, a, OrderFilter(), line_items=True) as handle:
        assert handle.read().decode("utf-8-sig") == text


def test_an_empty_export_still_has_its_header(ctx: Context, shop: tuple[Shop, int]) -> None:
    _, account_id = shop
    text = "".join(sellers.export_orders_csv(ctx, OPERATOR, account_id, OrderFilter(search="no such thing")))
    assert text.strip().split(",") == list(sellers.EXPORT_COLUMNS)


# -- bad input -----------------------------------------------------------------------------------------


def test_tampered_truncated_or_foreign_cursors_give_a_clear_message(
    ctx: Context, shop: tuple[Shop, int]
) -> None:
    _, account_id = shop
    page = sellers.orders_page(ctx, OPERATOR, account_id, OrderFilter(), page_size=25)
    token = page.next_cursor
    assert token is not None
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in [
        flipped,
        token[:-3],
        token[: len(token) // 2],
        token + "xyz",
        "garbage",
        "%%%",
        "🙂" * 5,
        "A" * 5000,
    ]:
        with pytest.raises(InvalidCursor, match="no longer valid"):
            sellers.orders_page(ctx, OPERATOR, account_id, OrderFilter(), cursor=bad, page_size=25)
    with pytest.raises(InvalidCursor, match="no longer valid"):
        sellers.orders_page(
            ctx, OPERATOR, account_id, OrderFilter(), sort="oldest", cursor=token, page_size=25
        )
    with pytest.raises(InvalidCursor, match="filters changed"):
        sellers.orders_page(
            ctx, OPERATOR, account_id, OrderFilter(statuses=("paid",)), cursor=token, page_size=25
        )
    with pytest.raises(InvalidCursor, match="another listing"):
        sellers.orders_page(ctx, OPERATOR, account_id + 1, OrderFilter(), cursor=token, page_size=25)


def forged(
    ctx: Context, account_id: int, sort: str, values: list[Any], offset: Any = 0, direction: str = "next"
) -> str:
    """A cursor with a valid signature (made with the server's key, as if it had leaked) and
    fingerprint but hostile contents."""
    print_ = fingerprint({"account": account_id, "filter": sellers._filter_key(OrderFilter()), "sort": sort})
    cursor = Cursor(sort, direction, tuple(values), print_, offset, account_id=account_id)  # type: ignore[arg-type]
    return encode_cursor(cursor, key=ctx.settings.cursor_key)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sort=st.sampled_from(list(SORT_KEYS)),
    value=st.one_of(
        st.sampled_from(
            ["NaN", "Infinity", "-1e30", "1e10", "2026-13-01T00:00:00+00:00", "2026-03-01T00:00:00", ""]
        ),
        st.text(max_size=30),
    ),
    row_id=st.one_of(
        st.integers(-(2**70), 2**70), st.booleans(), st.floats(allow_nan=True), st.text(max_size=5)
    ),
    offset=st.one_of(st.integers(-5, 5), st.just(2**80), st.none()),
)
@example(sort="amount_high", value="1e10", row_id=1, offset=0)
@example(sort="newest", value="2026-03-01T00:00:00", row_id=1, offset=0)
@example(sort="newest", value="2026-03-01T00:00:00+00:00", row_id=2**63, offset=0)
def test_forged_cursors_never_reach_the_database_as_errors(
    ctx: Context, shop: tuple[Shop, int], sort: str, value: str, row_id: Any, offset: Any
) -> None:
    _, account_id = shop
    token = forged(ctx, account_id, sort, [value, row_id], offset)
    try:
        page = sellers.orders_page(
            ctx, OPERATOR, account_id, OrderFilter(), sort=sort, cursor=token, page_size=25
        )
    except InvalidCursor as exc:
        assert "no longer valid" in str(exc)
    else:  # a well-formed position in the listing is simply a place to continue from
        assert isinstance(page.rows, list) and len(page.rows) <= 25


def test_unknown_status_sort_or_page_size_are_refused_clearly(ctx: Context, shop: tuple[Shop, int]) -> None:
    _, account_id = shop
    with pytest.raises(InvalidInput, match="Unknown order status 'lost'"):
        sellers.orders_page(ctx, OPERATOR, account_id, OrderFilter(statuses=("paid", "lost")))
    with pytest.raises(InvalidInput, match="Unknown order status"):
        sellers.orders_total(ctx, OPERATOR, account_id, OrderFilter(statuses=("'; DROP TABLE orders; --",)))
    with pytest.raises(InvalidInput, match="Unknown sort"):
        sellers.orders_page(ctx, OPERATOR, account_id, OrderFilter(), sort="id; DROP TABLE orders")
    with pytest.raises(InvalidInput, match="Page size must be one of 25, 50, 100"):
        sellers.orders_page(ctx, OPERATOR, account_id, OrderFilter(), page_size=30)
    with pytest.raises(InvalidInput, match="Unknown sort"):
        list(sellers.export_orders_csv(ctx, OPERATOR, account_id, OrderFilter(), sort="total_amount"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * 10_000, r"limited to \d+ characters \(got 10,000\)"),
        ("a\x00b", "control or invalid characters"),
        ("bad \ud800 surrogate", "control or invalid characters"),
    ],
)
def test_search_text_no_database_can_match_gets_a_clear_message(
    ctx: Context, shop: tuple[Shop, int], text: str, message: str
) -> None:
    _, account_id = shop
    for flt in (OrderFilter(search=text), OrderFilter(buyer=text)):
        with pytest.raises(InvalidInput, match=message):
            sellers.orders_page(ctx, OPERATOR, account_id, flt)
        with pytest.raises(InvalidInput, match=message):
            sellers.orders_total(ctx, OPERATOR, account_id, flt)
        with pytest.raises(InvalidInput, match=message):
            sellers.export_orders_csv(ctx, OPERATOR, account_id, flt)


PLAIN = "qrstuvwxyzQRSTUVWXYZ"  # the only letters in the other orders' text


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    needle=st.text(
        st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=PLAIN), min_size=1, max_size=40
    )
)
@example(needle="%")
@example(needle="_")
@example(needle="\\")
@example(needle="/")
@example(needle="'; DROP TABLE orders; --")
@example(needle='"quoted"')
@example(needle="50% off_sale\\")
@example(needle="🙂🎉")
def test_search_text_matches_literally(ctx: Context, db: Database, needle: str) -> None:
    """Only the order whose title holds the text matches: %, _ and backslashes are no wildcards."""
    needle = needle.strip()
    if not needle:
        return
    with db.transaction() as conn:
        from ebaydash.db import bulk

        bulk.delete_all(conn)
    data = Shop()
    a = data.account("Lit", "UTC")
    when = sd.local_midnight(FIRST, "UTC")
    target = data.order(a, when, [("qrs", f"x{needle}y", 1, Decimal("1.00"))], ebay_order_id="qq")
    for n in range(3):
        data.order(a, when, [("tuv", "wxyz" * (n + 1), 1, Decimal("1.00"))], ebay_order_id="q" * (n + 3))
    data.load(db)
    page = sellers.orders_page(ctx, OPERATOR, a, OrderFilter(search=needle), fresh=True)
    assert [r.id for r in page.rows] == [target]
    assert sellers.orders_total(ctx, OPERATOR, a, OrderFilter(search=needle), fresh=True) == 1
