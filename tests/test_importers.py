"""Reading order files: format detection, the documented quirks, and every kind of bad input.

No database here: these tests check the records and errors the parsers produce, against values
computed independently from the fixture files (json.load / pandas).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebaydash.importers import ParsedFile, read_file
from ebaydash.importers.fulfillment import split_cost
from ebaydash.importers.statuses import from_fulfillment_api
from ebaydash.importers.values import ValueProblem, local_instant, money_text
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "imports"
CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.UTC


def read(name: str, data: bytes | None = None, zone: ZoneInfo = CHICAGO) -> ParsedFile:
    return read_file(name, data if data is not None else (FIXTURES / name).read_bytes(), zone=zone)


def page(name: str = "getorders_page1.json") -> dict:  # type: ignore[type-arg]
    return json.loads((FIXTURES / name).read_text())


def reasons(parsed: ParsedFile) -> str:
    return "\n".join(e.describe() for e in parsed.errors)


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("getorders_page1.json", "fulfillment-json"),
        ("getorders_page2.json", "fulfillment-json"),
        ("seller_hub_orders.csv", "seller-hub-csv"),
        ("seller_hub_orders_uk.csv", "seller-hub-csv"),
    ],
)
def test_the_format_is_detected_from_the_content(name: str, expected: str) -> None:
    # the name says nothing: detection reads the content
    parsed = read_file("upload.txt", (FIXTURES / name).read_bytes(), zone=CHICAGO)
    assert parsed.format == expected
    assert not parsed.errors, reasons(parsed)
    assert parsed.orders and len(parsed.orders) == parsed.orders_found


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"name,price\nwidget,1.00\n", "not a file ebaydash can import"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        (b'{"href": "x", "total": 0}', 'not a getOrders page: it has no "orders" list'),
        (b'{"orders": {"a": 1}}', 'not a getOrders page: it has no "orders" list'),
        (b"[1, 2, 3]", "expected a getOrders page"),
        (b'{"orders": nope}', "not valid JSON"),
    ],
)
def test_unreadable_files_get_one_clear_file_level_error(data: bytes, reason: str) -> None:
    parsed = read("bad.file", data)
    assert not parsed.readable
    assert len(parsed.errors) == 1 and parsed.errors[0].file == "bad.file"
    assert reason in parsed.errors[0].reason
    assert parsed.orders == []


# -- Fulfillment API JSON -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fulfillment", "payment", "cancel", "expected"),
    [
        ("FULFILLED", "PAID", "NONE_REQUESTED", "shipped"),
        ("FULFILLED", "PAID", "CANCELED", "cancelled"),
        ("NOT_STARTED", "FULLY_REFUNDED", None, "refunded"),
        ("FULFILLED", "FULLY_REFUNDED", None, "refunded"),
        ("FULFILLED", "PARTIALLY_REFUNDED", None, "shipped"),
        ("IN_PROGRESS", "PAID", None, "paid"),
        ("NOT_STARTED", "PAID", None, "paid"),
        ("NOT_STARTED", "PENDING", None, "pending"),
        ("NOT_STARTED", "FAILED", None, "pending"),
        ("NOT_STARTED", "PENDING", "CANCELED", "cancelled"),
    ],
)
def test_ebay_states_map_to_ours(fulfillment: str, payment: str, cancel: str | None, expected: str) -> None:
    assert from_fulfillment_api(fulfillment, payment, cancel) == expected


def test_a_getorders_page_becomes_exact_records() -> None:
    raw = page()
    parsed = read("getorders_page1.json")
    assert parsed.seller_id == "retro_records_us"
    assert parsed.declared_total == raw["total"] == 6
    by_id = {o.ebay_order_id: o for o in parsed.orders}
    assert list(by_id) == [o["orderId"] for o in raw["orders"]]
    for source in raw["orders"]:
        order = by_id[source["orderId"]]
        assert order.total_amount == Decimal(source["pricingSummary"]["total"]["value"])
        assert order.currency == source["pricingSummary"]["total"]["currency"]
        assert order.order_date == dt.datetime.fromisoformat(source["creationDate"])
        assert order.updated_at == dt.datetime.fromisoformat(source["lastModifiedDate"])
        assert order.buyer == source["buyer"]["username"]
        assert len(order.lines) == len(source["lineItems"])
        for line, item in zip(order.lines, source["lineItems"], strict=True):
            assert line.line_item_id == item["lineItemId"]
            assert line.quantity == item["quantity"]
            # unit price × quantity gives back eBay's line cost to the cent
            assert line.unit_price * line.quantity == Decimal(item["lineItemCost"]["value"])
    assert by_id["12-10000-00001"].buyer_email == "vinyl_fan_77@example.com"
    # no SKU on the listing: the item id names the product
    assert by_id["12-10000-00002"].lines[0].sku == "110000000777"
    assert by_id["12-10000-00002"].buyer == "b1x9q7ZrT3k"  # opaque buyer ids are kept as they are
    full, partial = by_id["12-10000-00003"], by_id["12-10000-00004"]
    assert (full.status, full.refunded_amount) == ("refunded", full.total_amount)
    # only the completed refund counts, not the pending one
    assert (partial.status, partial.refunded_amount) == ("shipped", Decimal("15.00"))


def test_variations_without_sku_are_told_apart_and_cancelled_orders_are_not_refunds() -> None:
    parsed = read("getorders_page2.json")
    by_id = {o.ebay_order_id: o for o in parsed.orders}
    cancelled = by_id["12-10000-00005"]
    assert (cancelled.status, cancelled.refunded_amount) == ("cancelled", Decimal("0.00"))
    pending = by_id["12-10000-00006"]
    assert pending.status == "pending"
    assert pending.lines[0].sku == "110000000006-420000000001"
    assert pending.updated_at == pending.order_date  # no lastModifiedDate: the creation date
    assert pending.order_date.microsecond == 999000


def test_a_single_getorder_response_is_accepted() -> None:
    order = page()["orders"][1]
    parsed = read("one.json", json.dumps(order).encode())
    assert [o.ebay_order_id for o in parsed.orders] == [order["orderId"]]


def test_a_truncated_page_keeps_the_complete_orders_and_says_where_it_broke() -> None:
    text = (FIXTURES / "getorders_page1.json").read_text()
    cut = text.index('"orderId": "12-10000-00003"') + 40
    parsed = read("cut.json", text[:cut].encode())
    assert [o.ebay_order_id for o in parsed.orders] == ["12-10000-00001", "12-10000-00002"]
    assert len(parsed.errors) == 1
    error = parsed.errors[0]
    assert "ends early" in error.reason and "2 complete order(s)" in error.reason
    assert error.line == text[:cut].count("\n") + 1  # the line where the text stops


def test_json_cut_before_any_order_is_unreadable_with_its_position() -> None:
    parsed = read("cut.json", b'{\n  "href": "x",\n  "total": 3,\n  "limit": ')
    assert not parsed.readable and parsed.errors[0].line == 4
    assert "not valid JSON" in parsed.errors[0].reason


def test_every_problem_of_an_order_is_reported_with_line_and_field() -> None:
    raw = page()
    bad = raw["orders"][0]
    bad["creationDate"] = "2026-02-30T10:00:00Z"  # impossible date
    bad["orderPaymentStatus"] = "PAYED"  # not an eBay state
    bad["pricingSummary"]["total"]["value"] = "12.345"  # fraction of a cent
    bad["lineItems"][0]["quantity"] = -1  # negative quantity
    bad["lineItems"][1]["quantity"] = "two"  # wrong type
    bad["lineItems"][1]["lineItemCost"] = 15.98  # a number, not an Amount object
    bad["buyer"] = "vinyl_fan_77"  # a string, not an object
    raw["orders"][2]["lineItems"] = "RET-0003"  # not a list
    raw["orders"][3]["pricingSummary"]["total"]["currency"] = "usd!"
    text = json.dumps(raw, indent=2)
    parsed = read("bad.json", text.encode())
    assert [o.ebay_order_id for o in parsed.orders] == ["12-10000-00002"]
    assert parsed.orders_found == 4 and parsed.rejected_orders == 3
    fields = {e.field: e for e in parsed.errors}
    expected = {
        "orders[0].creationDate": "not a valid date",
        "orders[0].orderPaymentStatus": "expected one of PAID",
        "orders[0].pricingSummary.total.value": "fractions of a cent",
        "orders[0].lineItems[0].quantity": "at least 1",
        "orders[0].lineItems[1].quantity": "whole number",
        "orders[0].lineItems[1].lineItemCost": "amount object",
        "orders[0].buyer": "expected an object",
        "orders[2].lineItems": "expected a list",
        "orders[3].pricingSummary.total.currency": "three-letter currency code",
    }
    for field, reason in expected.items():
        assert field in fields, f"{field} missing from:\n{reasons(parsed)}"
        assert reason in fields[field].reason
    first_line = text.index('"orderId": "12-10000-00001"')
    order_start = text.rfind("{", 0, first_line)
    assert fields["orders[0].creationDate"].line == text.count("\n", 0, order_start) + 1
    assert fields["orders[0].creationDate"].order_id == "12-10000-00001"
    # the rejects file can show the whole order
    assert json.loads(parsed.errors[0].raw)["orderId"] == "12-10000-00001"


def test_a_line_cost_that_does_not_divide_is_kept_exactly_and_other_currencies_refused() -> None:
    raw = page()
    raw["orders"][3]["lineItems"][0]["lineItemCost"]["value"] = "100.00"  # 3 units
    raw["orders"][3]["pricingSummary"]["total"]["value"] = "100.00"
    raw["orders"][3]["paymentSummary"]["refunds"] = []
    raw["orders"][1]["lineItems"][0]["lineItemCost"]["currency"] = "GBP"
    parsed = read("bad.json", json.dumps(raw).encode())
    text = reasons(parsed)
    assert "GBP differs from the order's currency USD" in text
    order = next(o for o in parsed.orders if o.ebay_order_id == raw["orders"][3]["orderId"])
    # 3 units for 100.00: two at 33.33 and one at 33.34, one line item, exact to the cent
    assert [(li.quantity, li.unit_price) for li in order.lines] == [
        (2, Decimal("33.33")),
        (1, Decimal("33.34")),
    ]
    assert len({li.line_item_id for li in order.lines}) == 1
    assert sum(li.quantity * li.unit_price for li in order.lines) == Decimal("100.00")


@given(cents=st.integers(0, 10**9), quantity=st.integers(1, 1000))
def test_a_split_line_cost_adds_up_exactly(cents: int, quantity: int) -> None:
    parts = split_cost(Decimal(cents) / 100, quantity)
    assert sum(units for units, _ in parts) == quantity
    assert sum(units * price for units, price in parts) == Decimal(cents) / 100
    assert all(price == price.quantize(Decimal("0.01")) for _, price in parts)
    assert len(parts) <= 2


def test_refunds_larger_than_the_order_are_refused() -> None:
    raw = page()
    raw["orders"][3]["paymentSummary"]["refunds"][0]["amount"]["value"] = "500.00"
    parsed = read("bad.json", json.dumps(raw).encode())
    assert "exceed the order total" in reasons(parsed)


def test_missing_fields_are_named() -> None:
    raw = page()
    order = raw["orders"][0]
    del order["orderId"], order["pricingSummary"], order["orderFulfillmentStatus"]
    order["lineItems"] = []
    parsed = read("bad.json", json.dumps(raw).encode())
    fields = {e.field for e in parsed.errors}
    assert {"orders[0].orderId", "orders[0].pricingSummary", "orders[0].orderFulfillmentStatus"} <= fields
    assert "orders[0].lineItems" in fields


# -- Seller Hub CSV -----------------------------------------------------------------------------


def test_seller_hub_quirks_bom_blank_line_footer_summary_rows_money_and_local_time() -> None:
    data = (FIXTURES / "seller_hub_orders.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf\r\n")  # the fixture keeps the quirks it tests
    parsed = read("seller_hub_orders.csv")
    assert parsed.seller_id == "gadget_garage"
    assert parsed.declared_total == parsed.orders_found == 3
    by_id = {o.ebay_order_id: o for o in parsed.orders}
    first = by_id["23-20000-00001"]
    # Sep-30-26 23:45:00 in Chicago (CDT, UTC-5) is 04:45 UTC the next day
    assert first.order_date == dt.datetime(2026, 10, 1, 4, 45, tzinfo=UTC)
    assert first.updated_at == dt.datetime(2026, 10, 1, 15, 0, tzinfo=UTC)  # shipped on
    assert (first.status, first.total_amount, first.currency) == ("shipped", Decimal("14.30"), "USD")
    assert first.lines[0].line_item_id == "3000000000001"
    multi = by_id["23-20000-00002"]
    # the summary row carries the total; the item rows the lines
    assert multi.total_amount == Decimal("1234.56") and multi.status == "paid"
    assert [(li.sku, li.quantity, li.unit_price) for li in multi.lines] == [
        ("GG-SOLDER-60", 1, Decimal("1199.00")),
        ("220000000003", 2, Decimal("17.78")),  # no Custom Label: the item number names the product
    ]
    assert by_id["23-20000-00003"].status == "pending"  # neither paid nor shipped


def test_seller_hub_rows_agree_with_pandas_reading_the_same_file() -> None:
    frame = pd.read_csv(
        FIXTURES / "seller_hub_orders.csv",
        skiprows=1,
        skipfooter=3,
        engine="python",
        dtype=str,
        encoding="utf-8-sig",
        keep_default_na=False,
    )
    frame = frame[frame["Order Number"] != ""]
    items = frame[frame["Item Title"] != ""]
    price = items["Sold For"].str.replace(r"[$,]", "", regex=True).map(Decimal)
    quantity = items["Quantity"].astype(int)
    parsed = read("seller_hub_orders.csv")
    assert len(parsed.orders) == frame["Sales Record Number"].nunique()
    assert sum(len(o.lines) for o in parsed.orders) == len(items)
    assert sum(li.unit_price * li.quantity for o in parsed.orders for li in o.lines) == sum(
        p * q for p, q in zip(price, quantity, strict=True)
    )


def test_header_wording_and_case_vary_between_exports() -> None:
    parsed = read("seller_hub_orders_uk.csv", zone=ZoneInfo("Europe/London"))
    assert not parsed.errors, reasons(parsed)
    assert {o.currency for o in parsed.orders} == {"GBP"}
    tea = {o.ebay_order_id: o for o in parsed.orders}["24-30000-00003"]
    assert tea.total_amount == Decimal("1005.00")
    assert tea.lines[0].title == 'Loose leaf tea, "Earl Grey", 250 g'
    # Jul-21-26 00:30 in London (BST, UTC+1) is the evening before in UTC
    assert tea.order_date == dt.datetime(2026, 7, 20, 23, 30, tzinfo=UTC)
    jan = {o.ebay_order_id: o for o in parsed.orders}["24-30000-00001"]
    assert jan.order_date == dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # GMT in winter


def test_header_aliases_are_matched_whatever_the_case() -> None:
    text = (
        "ORDER NUMBER,buyer username,Item Title,custom label,QUANTITY,Sold For,TOTAL PRICE,sale date\n"
        "1-1,amy,Widget,W-1,2,$3.00,$6.00,Sep-30-26 23:45:00\n"
        "1-2,ben,Gadget,G-1,1,$4.50,$4.50,Oct-01-26 10:00:00\n"
    )
    parsed = read("aliases.csv", text.encode())
    assert not parsed.errors, reasons(parsed)
    assert [(o.ebay_order_id, o.buyer, o.total_amount) for o in parsed.orders] == [
        ("1-1", "amy", Decimal("6.00")),
        ("1-2", "ben", Decimal("4.50")),
    ]


def test_a_missing_column_is_named_with_the_wordings_we_accept() -> None:
    text = (FIXTURES / "seller_hub_orders.csv").read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    header = lines[1].split(",")
    drop = header.index('"Sale Date"')
    rows = [
        ",".join(c for i, c in enumerate(line.split(",")) if i != drop) if "," in line else line
        for line in lines
    ]
    parsed = read("no-date.csv", "\n".join(rows).encode())
    assert not parsed.readable and parsed.orders == []
    assert parsed.orders_found == 3  # still counted: nothing vanishes silently
    [error] = parsed.errors
    assert error.line == 2 and error.field == "sale_date"
    assert "Sale Date" in error.reason and "Order Date" in error.reason


@pytest.mark.parametrize(
    ("cell", "value", "field", "reason"),
    [
        ("Quantity", "-2", "Quantity", "at least 1"),
        ("Quantity", "1.5", "Quantity", "whole number"),
        ("Quantity", "", "Quantity", "missing"),
        ("Sold For", "$-9.99", "Sold For", "must not be negative"),
        ("Sold For", "nine dollars", "Sold For", "not an amount"),
        ("Sold For", "$9.999", "Sold For", "fractions of a cent"),
        ("Sold For", "¥999", "Sold For", "unknown currency symbol"),
        ("Sale Date", "Feb-30-26 10:00:00", "Sale Date", "not a valid date"),
        ("Sale Date", "Smarch-01-26", "Sale Date", "'Smarch' is not a month"),
        ("Sale Date", "30/30/2026", "Sale Date", "not a valid date"),
        ("Sale Date", "yesterday", "Sale Date", "known format"),
        ("Sale Date", "2026-13-01 10:00:00", "Sale Date", "not a valid date"),
        # clocks in Chicago jump from 02:00 to 03:00 on 8 March 2026
        ("Sale Date", "Mar-08-26 02:30:00", "Sale Date", "does not exist in America/Chicago"),
    ],
)
def test_bad_cells_are_reported_with_line_field_and_reason(
    cell: str, value: str, field: str, reason: str
) -> None:
    header = ["Sales Record Number", "Order Number", "Item Title", "Quantity", "Sold For", "Sale Date"]
    good = ["1", "1-1", "Widget", "1", "$9.99", "Sep-30-26 23:45:00"]
    bad = dict(zip(header, ["2", "1-2", "Gadget", "1", "$1.00", "Oct-01-26 10:00:00"], strict=True))
    bad[cell] = value
    if cell == "Order Number":
        bad["Sales Record Number"] = ""
    text = "\n".join([",".join(header), ",".join(good), ",".join(f'"{v}"' for v in bad.values())])
    parsed = read("cells.csv", text.encode())
    assert [o.ebay_order_id for o in parsed.orders] == ["1-1"]
    assert parsed.orders_found == 2
    [error] = parsed.errors
    assert (error.file, error.line, error.field) == ("cells.csv", 3, field)
    assert reason in error.reason


def test_all_bad_rows_are_listed_not_just_the_first() -> None:
    rows = ["Order Number,Item Title,Quantity,Sold For,Sale Date"]
    rows += [f"{n},Thing,-{n},$1.00,Sep-30-26 10:00:00" for n in range(1, 51)]
    parsed = read("many.csv", "\n".join(rows).encode())
    assert len(parsed.errors) == 50 and [e.line for e in parsed.errors] == list(range(2, 52))


def test_one_order_in_two_currencies_is_refused() -> None:
    text = (
        "Sales Record Number,Order Number,Item Title,Quantity,Sold For,Total Price,Sale Date\n"
        "7,7-7,,,,$20.00,Sep-30-26 10:00:00\n"
        "7,7-7,Widget,1,$10.00,,\n"
        "7,7-7,Gadget,1,£10.00,,\n"
    )
    parsed = read("mixed.csv", text.encode())
    assert parsed.orders == []
    assert "different currencies (GBP, USD)" in reasons(parsed)


def test_a_row_with_more_cells_than_the_header_is_refused() -> None:
    text = "Order Number,Item Title,Quantity,Sold For,Sale Date\n1,Widget,1,$1.00,Sep-30-26,surprise\n"
    parsed = read("wide.csv", text.encode())
    assert "6 fields but the header has 5" in reasons(parsed)


def test_the_footer_count_is_compared_with_the_rows_read() -> None:
    text = (FIXTURES / "seller_hub_orders.csv").read_text(encoding="utf-8-sig")
    assert text.count("3 record(s)") == 1
    parsed = read("edited.csv", text.replace("3 record(s)", "4 record(s)").encode())
    assert parsed.declared_total == 4 and parsed.orders_found == 3


# -- single values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("$12.34", "12.34", "USD"),
        ("US $1,234.56", "1234.56", "USD"),
        ("£0.99", "0.99", "GBP"),
        ("EUR 12,34", "12.34", "EUR"),
        ("1.234,56 €", "1234.56", "EUR"),
        ("AU $5", "5.00", "AUD"),
        ("12.30", "12.30", None),
        ("-$5.00", "-5.00", "USD"),
        ("($5.00)", "-5.00", "USD"),
    ],
)
def test_money_as_people_write_it(text: str, amount: str, currency: str | None) -> None:
    assert money_text(text) == (Decimal(amount), currency)


def test_dates_in_other_spellings_and_with_zone_names() -> None:
    assert local_instant("30-Sep-26 23:45:00", CHICAGO) == dt.datetime(2026, 10, 1, 4, 45, tzinfo=UTC)
    assert local_instant("Sep-30-26 23:45:00 PDT", CHICAGO) == dt.datetime(2026, 10, 1, 6, 45, tzinfo=UTC)
    assert local_instant("2026-09-30T23:45:00+02:00", CHICAGO) == dt.datetime(2026, 9, 30, 21, 45, tzinfo=UTC)
    assert local_instant("Sep-30-2026", CHICAGO) == dt.datetime(2026, 9, 30, 5, 0, tzinfo=UTC)
    with pytest.raises(ValueProblem, match="unknown time zone"):
        local_instant("Sep-30-26 23:45:00 XYZ", CHICAGO)


def test_fixture_files_are_small_and_real_text() -> None:
    for path in FIXTURES.iterdir():
        assert path.stat().st_size < 20_000
        Path(path).read_bytes().decode("utf-8-sig")
