"""The kinds of real-world files of issue 12, each beyond the cases folder: property-based where the
kind is a family (any site, separator, encoding, quoting, footer layout, refund list), with the
truth taken from the orders the generator wrote, never from the parser.

No database here (see test_import_service_kinds.py for what needs one).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ebaydash.importers import (
    NotOrder,
    ParsedFile,
    Rejected,
    dialect,
    encoding,
    fulfillment,
    headers,
    locales,
    read_file,
    scan_file,
    values,
)
from ebaydash.importers.values import ValueProblem
from ebaydash.models import OrderRecord
from tests.export_files import SITES, Layout, Line, Order, heading, render

UTC = ZoneInfo("UTC")
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(data: bytes, name: str = "report.csv") -> ParsedFile:
    return read_file(name, data, zone=UTC)


def problems(parsed: ParsedFile) -> str:
    return "\n".join(e.describe() for e in parsed.errors)


# -- strategies ---------------------------------------------------------------------------------

TITLE_CHARS = st.sampled_from(list("abcdefghijkXYZ 0123456789,;|'\"&()-./€éüßñ"))


@st.composite
def titles(draw: st.DrawFn) -> str:
    text = draw(st.text(TITLE_CHARS, min_size=1, max_size=30)).strip()
    assume(text)
    return text


@st.composite
def orders(draw: st.DrawFn, max_orders: int = 4) -> list[Order]:
    count = draw(st.integers(1, max_orders))
    first_record = draw(st.integers(1, 9000))
    result = []
    for n in range(count):
        n_lines = draw(st.integers(1, 3))
        lines = tuple(
            Line(
                sku=f"SKU-{n}-{k}",
                title=draw(titles()),
                # 12 digits, one item number per line (never six trailing zeros, which read as Excel's)
                item_number=f"{draw(st.integers(100_000, 999_999))}{n + 1:03d}{k + 1:03d}",
                quantity=draw(st.integers(1, 12)),
                unit_price=Decimal(draw(st.integers(1, 250_000))) / 100,
            )
            for k in range(n_lines)
        )
        sale = dt.datetime(2025, 1, 1) + dt.timedelta(minutes=draw(st.integers(0, 700_000)))
        paid = sale + dt.timedelta(minutes=draw(st.integers(1, 60))) if draw(st.booleans()) else None
        shipped = paid + dt.timedelta(days=1) if paid is not None and draw(st.booleans()) else None
        result.append(
            Order(
                record=first_record + n,
                order_id=f"{10 + n}-{draw(st.integers(10000, 99999))}-{n:05d}",
                buyer=f"buyer_{n}",
                lines=lines,
                shipping=Decimal(draw(st.integers(0, 2_000))) / 100,
                sale=sale,
                paid=paid,
                shipped=shipped,
            )
        )
    return result


def assert_same(parsed: ParsedFile, written: list[Order], currency: str) -> None:
    assert not parsed.errors, problems(parsed)
    assert [o.ebay_order_id for o in parsed.orders] == [o.order_id for o in written]
    for got, want in zip(parsed.orders, written, strict=True):
        assert got.total_amount == want.total
        assert got.currency == currency
        assert got.order_date == want.sale.replace(tzinfo=dt.UTC)
        assert [(li.sku, li.title, li.quantity, li.unit_price) for li in got.lines] == [
            (li.sku, li.title, li.quantity, li.unit_price) for li in want.lines
        ]
        expected = "shipped" if want.shipped else "paid" if want.paid else "pending"
        assert got.status == expected


# -- kind 1: dialect, encoding, locale ----------------------------------------------------------


@PROPERTY
@given(
    written=orders(),
    site=st.sampled_from(sorted(SITES)),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    quote_all=st.booleans(),
    blank_first=st.booleans(),
)
def test_any_site_separator_encoding_and_quoting_reads_back_exactly(
    written: list[Order], site: str, delimiter: str, codec: str, quote_all: bool, blank_first: bool
) -> None:
    layout = Layout(delimiter=delimiter, encoding=codec, quote_all=quote_all, blank_first=blank_first)
    try:
        data = render(written, SITES[site], layout)
    except UnicodeEncodeError:
        assume(False)  # a title Windows-1252 cannot hold
    parsed = read(data)
    assert parsed.delimiter == delimiter
    assert_same(parsed, written, SITES[site].currency)
    assert parsed.currency == SITES[site].currency
    assert parsed.marketplace == SITES[site].marketplace
    assert parsed.declared_total == len(written)
    if codec == "cp1252" and any(ord(ch) > 127 for ch in data.decode("cp1252")):
        assert any("Windows-1252" in w for w in parsed.warnings)  # decoded, and said so


def test_csv_sniffer_is_right_on_the_sample_files_and_header_recognition_backs_it() -> None:
    # a title full of semicolons misleads Sniffer's character counting; the header does not
    site = SITES["US"]
    written = [
        Order(
            1,
            "1-11111-00001",
            "a",
            (Line("S;1", "x;y;z;w;v;u;t", "123456789012", 1, Decimal("1.00")),),
            Decimal(0),
            dt.datetime(2026, 1, 1),
        )
    ]
    data = render(written, site, Layout(delimiter=",", quote_all=True))
    text = data.decode("utf-8-sig")
    assert dialect.detect(text) == ","
    assert dialect.header_score(text, ";") == 0 and dialect.header_score(text, ",") > 5


@pytest.mark.parametrize(
    ("text", "mark", "amount", "currency"),
    [
        ("1.116,99 €", ",", "1116.99", "EUR"),
        ("1 234,50 €", ",", "1234.50", "EUR"),
        ("1\u202f234,50\u00a0€", ",", "1234.50", "EUR"),
        ("EUR 12,34", None, "12.34", "EUR"),
        ("AU $3,000.00", ".", "3000.00", "AUD"),
        ("C $12.00", ".", "12.00", "CAD"),
        ("£1,116.99", ".", "1116.99", "GBP"),
        ("1.234", ",", "1234.00", None),  # German: a thousands point
        ("CHF 1'234.50", ".", "1234.50", "CHF"),
        ("12,5", ",", "12.50", None),
    ],
)
def test_money_of_every_site(text: str, mark: str | None, amount: str, currency: str | None) -> None:
    assert values.money_text(text, mark) == (Decimal(amount), currency)


@pytest.mark.parametrize("text", ["1.234", "1,2,3", "12.34.56", "1.23,4.5", "1 23,00"])
def test_money_that_groups_wrongly_is_refused(text: str) -> None:
    with pytest.raises(ValueProblem):
        values.money_text(text, ".")


@given(
    locale=st.sampled_from(["en_US", "en_GB", "de_DE", "de_AT", "fr_FR", "it_IT", "es_ES"]),
    month=st.integers(1, 12),
    width=st.sampled_from(["abbreviated", "wide"]),
    context=st.sampled_from(["format", "stand-alone"]),
)
def test_every_month_name_of_the_sites_languages_is_understood(
    locale: str, month: int, width: str, context: str
) -> None:
    from babel.dates import get_month_names

    name = get_month_names(width, context, locale)[month]
    assert locales.month_number(name) == month
    assert values.local_instant(f"05-{name}-26", UTC, True).month == month


def test_the_case_dates_and_numeric_dates() -> None:
    assert values.local_instant("10-Dez-25", UTC, True) == dt.datetime(2025, 12, 10, tzinfo=dt.UTC)
    assert values.local_instant("03-Mär-26", UTC, True) == dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    assert values.local_instant("10.12.2025", UTC) == dt.datetime(2025, 12, 10, tzinfo=dt.UTC)
    assert values.local_instant("10/12/2025", UTC, True).month == 12  # day first outside the US
    assert values.local_instant("10/12/2025", UTC, False).month == 10  # month first in the US
    assert values.local_instant("Sep-30-26 11:45:00 PM", UTC) == dt.datetime(
        2026, 9, 30, 23, 45, tzinfo=dt.UTC
    )


def test_windows_1252_is_read_with_a_note_and_the_text_is_right() -> None:
    site = SITES["DE"]
    written = [
        Order(
            1,
            "1-11111-00001",
            "käufer",
            (Line("S1", "Größe Überraschung, 5 € Rabatt", "123456789012", 1, Decimal("1116.99")),),
            Decimal("4.99"),
            dt.datetime(2025, 12, 10),
        )
    ]
    parsed = read(render(written, site, Layout(delimiter=";", encoding="cp1252")))
    assert_same(parsed, written, "EUR")
    assert parsed.encoding == "cp1252"
    [note] = [w for w in parsed.warnings if "Windows-1252" in w]
    assert "CSV UTF-8" in note  # how to export without the guess


def test_utf16_without_a_byte_order_mark_is_recognised() -> None:
    written = [
        Order(
            1,
            "1-11111-00001",
            "b",
            (Line("S1", "Mug", "123456789012", 1, Decimal("9.00")),),
            Decimal(0),
            dt.datetime(2026, 9, 14),
        )
    ]
    text = render(written, SITES["US"], Layout(delimiter="\t", encoding="utf-8")).decode()
    parsed = read(text.encode("utf-16-le"))
    assert_same(parsed, written, "USD")


def test_an_excel_sep_line_and_lines_before_the_header_are_skipped() -> None:
    written = [
        Order(
            1,
            "1-11111-00001",
            "b",
            (Line("S1", "Mug", "123456789012", 1, Decimal("9.00")),),
            Decimal(0),
            dt.datetime(2026, 9, 14),
        )
    ]
    text = render(written, SITES["US"], Layout(delimiter=";", encoding="utf-8", blank_first=False)).decode()
    parsed = read(("sep=;\r\nOrders report generated 2 October 2026\r\n" + text).encode())
    assert_same(parsed, written, "USD")


# -- headers of eBay's sites --------------------------------------------------------------------


def test_every_heading_names_one_field_and_one_language() -> None:
    table = headers.lookup()  # raises when a wording names two fields
    assert len(table) > 200
    for key, by_language in headers.HEADERS.items():
        assert set(by_language) == set(locales.LANGUAGES), key
        for language, wordings in by_language.items():
            for wording in wordings:
                assert table[headers.normalise(wording)] == (key, language), wording


@pytest.mark.parametrize("code", sorted(SITES))
def test_each_sites_header_row_is_recognised_with_its_language(code: str) -> None:
    site = SITES[code]
    row = [heading(k, site) for k in ("sales_record", "order_id", "title", "quantity", "price", "sale_date")]
    assert [headers.field_of(h) for h in row] == [
        "sales_record",
        "order_id",
        "title",
        "quantity",
        "price",
        "sale_date",
    ]
    assert headers.language_of(row) == site.language


@pytest.mark.parametrize(
    "spelling",
    [
        "SalesRecordNumber",
        "sales record no.",
        "SALES_RECORD_NUMBER",
        "Sales Record Number:",
        "Verkaufsprotokoll-Nr.",
    ],
)
def test_headings_are_compared_without_case_spaces_or_punctuation(spelling: str) -> None:
    assert headers.field_of(spelling) == "sales_record"


def test_the_old_selling_manager_wordings_are_known() -> None:
    # the German Selling Manager export: Mitgliedsname, Stückzahl, Verkaufspreis, Gesamtpreis, ...
    row = [
        "Verkaufsprotokollnummer",
        "Mitgliedsname",
        "Bestellnummer",
        "Artikelbezeichnung",
        "Stückzahl",
        "Verkaufspreis",
        "Gesamtpreis",
        "Verkaufsdatum",
        "Bezahldatum",
        "Versanddatum",
        "Transaktions-ID",
    ]
    assert [headers.field_of(h) for h in row] == [
        "sales_record",
        "buyer",
        "order_id",
        "title",
        "quantity",
        "price",
        "total",
        "sale_date",
        "paid_date",
        "shipped_date",
        "transaction_id",
    ]


# -- kind 2: rows that are not orders -----------------------------------------------------------


@PROPERTY
@given(
    written=orders(max_orders=3),
    footer=st.sampled_from(["joined", "own-cell", "quoted", "bare", "none"]),
    seller=st.sampled_from(
        ["Seller ID : shop_seller", "Seller ID: shop_seller", "Seller ID :shop_seller", ""]
    ),
    commitments=st.integers(0, 2),
    summary_line=st.booleans(),
    count_is_a_record=st.booleans(),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_footers_commitments_and_summaries_in_any_layout_are_not_orders(
    written: list[Order],
    footer: str,
    seller: str,
    commitments: int,
    summary_line: bool,
    count_is_a_record: bool,
    delimiter: str,
) -> None:
    site = SITES["US"]
    extra: list[list[str]] = []
    for n in range(commitments):
        # the buyer committed to buy but never paid: a sales record, no order number
        extra.append(
            [
                str(90_000 + n),
                "",
                f"late_{n}",
                "123456789099",
                "Mug",
                "MUG",
                "1",
                "$5.00",
                "$1.00",
                "$6.00",
                "Sep-06-26",
                "",
                "",
            ]
        )
    if summary_line:
        extra.append(["", "", "", "", "", "", "", "", "", "$999.00", "", "", ""])
    if count_is_a_record:
        # the footer's count is also a real sales record number: the footer must not join that order
        count = len(written) + commitments
        written = [
            Order(
                count if i == 0 else o.record + 10_000,
                o.order_id,
                o.buyer,
                o.lines,
                o.shipping,
                o.sale,
                o.paid,
                o.shipped,
            )
            for i, o in enumerate(written)
        ]
    layout = Layout(
        delimiter=delimiter,
        footer=footer,
        seller_line=seller,
        extra_rows=extra,
        count=len(written) + commitments,
    )
    data = render(written, site, layout)
    parsed = read(data)
    assert_same(parsed, written, "USD")
    reasons = [row.reason for row in parsed.not_orders]
    assert sum("commitment" in r for r in reasons) == commitments
    assert sum("summary" in r for r in reasons) == int(summary_line)
    if footer != "none":
        assert parsed.declared_total == len(written) + commitments
        assert any("footer" in r for r in reasons)
        assert not parsed.warnings  # the count agrees
    if footer != "none" and seller:
        assert parsed.seller_id == "shop_seller"


def test_a_footer_count_that_disagrees_is_pointed_out() -> None:
    written = [
        Order(
            1,
            "1-11111-00001",
            "b",
            (Line("S1", "Mug", "123456789012", 1, Decimal("9.00")),),
            Decimal(0),
            dt.datetime(2026, 9, 14),
        )
    ]
    data = render(written, SITES["US"]).replace(b"1 record(s)", b"5 record(s)")
    parsed = read(data)
    assert parsed.orders and not parsed.errors
    assert any("footer says 5" in w for w in parsed.warnings)


def test_footers_in_other_languages_and_a_count_without_number() -> None:
    text = (
        "Bestellnummer;Angebotstitel;Anzahl;Verkauft für;Verkauft am\n"
        "1-1;Tasse;1;5,00 €;10-Dez-25\n"
        "1 Datensätze heruntergeladen;;;;\n"
        "record(s) downloaded;;;;\n"
        "Verkäufer-ID: laden\n"
    )
    parsed = read(text.encode())
    assert [o.ebay_order_id for o in parsed.orders] == ["1-1"] and not parsed.errors
    assert parsed.declared_total == 1 and parsed.seller_id == "laden"
    assert len(parsed.not_orders) == 3


# -- kind 3: damaged structure ------------------------------------------------------------------


@PROPERTY
@given(written=orders(max_orders=4), data=st.data(), delimiter=st.sampled_from([",", ";", "\t"]))
def test_a_bare_quote_is_named_where_it_starts_and_never_shifts_or_alters_anything(
    written: list[Order], data: st.DataObject, delimiter: str
) -> None:
    site = SITES["US"]
    clean = render(written, site, Layout(delimiter=delimiter, quote_all=True, encoding="utf-8")).decode()
    target = data.draw(st.sampled_from([o for o in written]))
    title = target.lines[0].title
    lines = clean.split("\r\n")
    cells_of = [next(csv.reader([text], delimiter=delimiter), []) for text in lines]
    number = next(
        i for i, cells in enumerate(cells_of) if cells[1:2] == [target.order_id] and cells[4:5] == [title]
    )
    quoted = f'"{title.replace(chr(34), chr(34) * 2)}"'
    cut = data.draw(st.integers(1, len(quoted) - 1))
    broken = quoted[:cut] + '"' + quoted[cut:]
    cells = ['"' + c.replace('"', '""') + '"' for c in cells_of[number]]
    cells[4] = broken  # the title cell alone is damaged
    lines[number] = delimiter.join(cells)
    parsed = read("\r\n".join(lines).encode())
    # the damaged order is refused, with the quote named at its line and column ...
    refused = [e for e in parsed.errors if "quote" in e.reason]
    if not refused:
        # a quote that makes a valid doubled pair reads back as a different, still exact title
        assume(False)
    assert refused[0].line == number + 1 and refused[0].field == "Item Title"
    assert {e.field for e in parsed.errors} == {"Item Title"}  # no other column is blamed
    # ... and every other order reads back exactly, its titles untouched
    others = [o for o in written if o.order_id != target.order_id]
    assert [o.ebay_order_id for o in parsed.orders] == [o.order_id for o in others]
    for got, want in zip(parsed.orders, others, strict=True):
        assert [li.title for li in got.lines] == [li.title for li in want.lines]
    assert parsed.orders_found == len(written)


def test_a_quote_that_opens_and_never_closes_lets_the_next_rows_be_read_again() -> None:
    text = (
        "Sales Record Number,Order Number,Item Title,Quantity,Sold For,Sale Date\n"
        '1,1-1,"Mug, blue,1,$5.00,Sep-01-26\n'
        "2,1-2,Plate,1,$6.00,Sep-02-26\n"
        "3,1-3,Bowl,1,$7.00,Sep-03-26\n"
    )
    parsed = read(text.encode())
    assert [o.ebay_order_id for o in parsed.orders] == ["1-2", "1-3"]
    [error] = parsed.errors
    assert (error.line, error.field) == (2, "Item Title") and "quote" in error.reason


def test_a_bare_quote_inside_an_unquoted_value_is_kept_exactly() -> None:
    text = 'Order Number,Item Title,Quantity,Sold For,Sale Date\n1-1,12" single,1,$5.00,Sep-01-26\n'
    parsed = read(text.encode())
    assert not parsed.errors and parsed.orders[0].lines[0].title == '12" single'


def test_a_damaged_row_of_a_multi_item_order_refuses_the_whole_order() -> None:
    text = (
        "Sales Record Number,Order Number,Item Title,Quantity,Sold For,Total Price,Sale Date\n"
        "7,7-7,,,,$20.00,Sep-30-26\n"
        '7,7-7,"Mug "large",1,$10.00,,\n'
        "7,7-7,Plate,1,$10.00,,\n"
        "8,8-8,Bowl,1,$3.00,$3.00,Sep-30-26\n"
    )
    parsed = read(text.encode())
    assert [o.ebay_order_id for o in parsed.orders] == ["8-8"]  # never 7-7 without its mug
    [error] = parsed.errors
    assert error.line == 3 and error.order_id == "7-7" and parsed.orders_found == 2


def test_a_row_split_by_the_wrong_separator_is_refused_as_a_whole() -> None:
    text = (
        "Order Number;Item Title;Quantity;Sold For;Sale Date\n1-1;Mug;1;5,00 €;10-Dez-25\n1-2;Cup;1;4,00 €\n"
    )
    parsed = read(text.encode())
    assert [o.ebay_order_id for o in parsed.orders] == ["1-1"]
    [error] = parsed.errors
    assert (
        error.line == 3 and "4 fields but the header has 5" in error.reason and "semicolons" in error.reason
    )


# -- kind 4: values damaged by Excel ------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Item Number", "1.23457E+11"),
        ("Item Number", "1,23457E+11"),
        ("Item Number", "123457000000"),
        ("Item Number", "123456789012.0"),
        ("Transaction ID", "2.34568E+13"),
        ("Order Number", "1.10123E+11"),
    ],
)
def test_identifiers_damaged_by_excel_are_refused_saying_so(column: str, value: str) -> None:
    header = [
        "Sales Record Number",
        "Order Number",
        "Item Number",
        "Item Title",
        "Transaction ID",
        "Quantity",
        "Sold For",
        "Sale Date",
    ]
    row = dict(
        zip(
            header,
            ["1", "1-1", "123456789012", "Mug", "1234567890123", "1", "$5.00", "Sep-01-26"],
            strict=True,
        )
    )
    row[column] = value
    text = ",".join(header) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n"
    parsed = read(text.encode())
    assert parsed.orders == []
    [error] = parsed.errors
    assert error.field == column and "Excel" in error.reason and "again" in error.reason


@given(st.integers(10**11, 10**12 - 1))
def test_real_item_numbers_are_never_taken_for_damaged_ones(number: int) -> None:
    assert values.identifier(str(number), "item number") == str(number)
    assert values.looks_rounded(str(number)) == (str(number).endswith("000000"))


def test_one_real_id_ending_in_zeros_among_many_is_not_taken_for_excel_damage() -> None:
    header = "Order Number,Item Number,Item Title,Transaction ID,Quantity,Sold For,Sale Date"
    rows = [f"1-{k},{123456789012 + k},Mug,{21234567891 + k},1,$5.00,Sep-01-26" for k in range(20)]
    rows.append("1-99,123456789999,Mug,21234600000,1,$5.00,Sep-01-26")  # five zeros, by chance
    parsed = read("\n".join([header, *rows]).encode())
    assert not parsed.errors and len(parsed.orders) == 21
    # negative control: a column that is rounded throughout is Excel's doing
    damaged = [f"1-{k},{123456789012 + k},Mug,{21234600000 + k * 100000},1,$5.00,Sep-01-26" for k in range(5)]
    parsed = read("\n".join([header, *damaged]).encode())
    assert len(parsed.errors) >= 4 and all("lost its last digits" in e.reason for e in parsed.errors)


def test_one_sku_with_two_titles_is_reported_and_the_lines_keep_their_own() -> None:
    text = (
        "Order Number,Item Number,Item Title,Custom Label,Quantity,Sold For,Sale Date\n"
        "1-1,123456789012,Field guide birds,FG,1,$5.00,Sep-01-26\n"
        "1-2,123456789013,Field guide trees,FG,1,$6.00,Sep-02-26\n"
    )
    parsed = read(text.encode())
    assert [o.lines[0].title for o in parsed.orders] == ["Field guide birds", "Field guide trees"]
    [warning] = parsed.warnings
    assert "Custom Label FG has two different titles" in warning and "line 2" in warning


# -- kind 5: refunds ----------------------------------------------------------------------------


@st.composite
def refund_lists(draw: st.DrawFn) -> tuple[dict[str, Any], Decimal]:
    """An order with refunds at both levels, and the refunded amount computed from the model."""
    n = draw(st.integers(0, 5))
    order_level: list[dict[str, Any]] = []
    line_level: list[dict[str, Any]] = []
    expected = Decimal("0.00")
    for k in range(n):
        amount = Decimal(draw(st.integers(1, 500))) / 100
        done = draw(st.booleans())
        where = draw(st.sampled_from(["order", "line", "both"]))
        with_id = where == "both" or draw(st.booleans())
        base = {"amount": {"value": str(amount), "currency": "USD"}}
        if with_id:
            base["refundId"] = f"R{k}"
        date = f"2026-09-{10 + k:02d}T10:00:00.000Z"
        if where in ("order", "both"):
            status = "REFUNDED" if done else draw(st.sampled_from(["PENDING", "FAILED"]))
            order_level.append({**base, "refundStatus": status, **({"refundDate": date} if done else {})})
        if where in ("line", "both"):
            line_level.append({**base, **({"refundDate": date} if done else {})})
        if done:
            expected += amount
    if not order_level:
        # the line items' refunds are all the order tells: a PARTIALLY_REFUNDED order's count
        expected = sum((Decimal(r["amount"]["value"]) for r in line_level), Decimal("0.00"))
    order = json.loads(_ORDER)
    order["paymentSummary"]["refunds"] = draw(st.permutations(order_level))
    order["lineItems"][0]["refunds"] = draw(st.permutations(line_level))
    return order, expected


_ORDER = json.dumps(
    {
        "orderId": "27-1-1",
        "creationDate": "2026-09-01T10:00:00.000Z",
        "lastModifiedDate": "2026-09-02T10:00:00.000Z",
        "orderFulfillmentStatus": "FULFILLED",
        "orderPaymentStatus": "PARTIALLY_REFUNDED",
        "pricingSummary": {"total": {"value": "100.00", "currency": "USD"}},
        "paymentSummary": {"refunds": []},
        "lineItems": [
            {
                "lineItemId": "1",
                "sku": "A",
                "title": "A",
                "quantity": 1,
                "lineItemCost": {"value": "100.00", "currency": "USD"},
            }
        ],
    }
)


@settings(max_examples=200, deadline=None)
@given(refund_lists())
def test_refunds_of_both_levels_count_once_each_and_only_when_completed(
    case: tuple[dict[str, Any], Decimal],
) -> None:
    order, expected = case
    parsed = read(json.dumps({"total": 1, "orders": [order]}).encode(), "page.json")
    assert not parsed.errors, problems(parsed)
    [record] = parsed.orders
    assert record.refunded_amount == expected
    assert record.status == "shipped"


def test_an_unknown_refund_status_is_a_problem_of_the_order() -> None:
    order = json.loads(_ORDER)
    order["paymentSummary"]["refunds"] = [
        {"refundId": "X", "refundStatus": "MAYBE", "amount": {"value": "1.00", "currency": "USD"}}
    ]
    parsed = read(json.dumps({"orders": [order]}).encode(), "page.json")
    assert parsed.orders == [] and "refundStatus" in (parsed.errors[0].field or "")


# -- kind 7: the seller's side ------------------------------------------------------------------


def test_the_account_site_is_the_listing_site_never_the_buyers() -> None:
    order = json.loads(_ORDER)
    order["lineItems"][0]["purchaseMarketplaceId"] = "EBAY_DE"  # a German buyer
    order["lineItems"][0]["listingMarketplaceId"] = "EBAY_US"  # of a US seller
    parsed = read(json.dumps({"orders": [order]}).encode(), "page.json")
    assert (parsed.marketplace, parsed.currency) == ("EBAY_US", "USD")
    assert parsed.orders[0].marketplace == "EBAY_US"


@pytest.mark.parametrize("code", sorted(SITES))
def test_a_reports_site_and_currency_come_from_its_money_and_language(code: str) -> None:
    site = SITES[code]
    written = [
        Order(
            1,
            "1-11111-00001",
            "b",
            (Line("S1", "Mug", "123456789012", 1, Decimal("9.00")),),
            Decimal(0),
            dt.datetime(2026, 9, 14),
        )
    ]
    parsed = read(render(written, site))
    assert (parsed.currency, parsed.marketplace) == (site.currency, site.marketplace)


# -- kind 8: pathological values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        (("lineItems", 0, "quantity"), "9" * 5000, "orders[0].lineItems[0].quantity"),
        (("lineItems", 0, "quantity"), "1e999999999", "orders[0].lineItems[0].quantity"),
        (("lineItems", 0, "quantity"), "-1e999999999", "orders[0].lineItems[0].quantity"),
        (("pricingSummary", "total", "value"), "1e999999999", "orders[0].pricingSummary.total.value"),
        (("pricingSummary", "total", "value"), '"1e999999999"', "orders[0].pricingSummary.total.value"),
        (("pricingSummary", "total", "value"), "1" * 5000, "orders[0].pricingSummary.total.value"),
        (("pricingSummary", "total", "value"), "NaN", "orders[0].pricingSummary.total.value"),
        (("pricingSummary", "total", "value"), "-Infinity", "orders[0].pricingSummary.total.value"),
        (("lineItems", 0, "title"), '"bad\\u0000title"', "orders[0].lineItems[0].title"),
        (("lineItems", 0, "title"), '"lone \\ud800 surrogate"', "orders[0].lineItems[0].title"),
        (("buyer",), '{"username": "\\udfff"}', "orders[0].buyer.username"),
        (("lineItems", 0, "legacyItemId"), "7" * 5000, "orders[0].lineItems[0].legacyItemId"),
        (("orderId",), "1" * 5000, "orders[0].orderId"),
    ],
)
def test_pathological_json_values_are_problems_of_their_order(
    path: tuple[Any, ...], raw: str, field: str
) -> None:
    order = json.loads(_ORDER)
    order["lineItems"][0].pop("sku")
    order["lineItems"][0]["legacyItemId"] = "123"
    target = order
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "@@VALUE@@"
    text = json.dumps({"orders": [order, json.loads(_ORDER)]}, indent=1).replace('"@@VALUE@@"', raw)
    parsed = read(text.encode(), "page.json")
    assert len(parsed.orders) == 1  # the other order is fine
    assert parsed.errors and parsed.errors[0].line == 3 and parsed.errors[0].field == field, problems(parsed)
    assert len(parsed.errors[0].reason) < 400
    parsed.errors[0].describe().encode("utf-8")  # printable: no lone surrogate reaches a message


@pytest.mark.parametrize(
    ("cell", "raw", "column"),
    [
        ("Quantity", b"9" * 5000, "Quantity"),
        ("Sold For", b"$" + b"1" * 5000, "Sold For"),
        ("Sold For", b"1e999999999", "Sold For"),
        ("Item Title", b"Mug\x00blue", "Item Title"),
        ("Item Title", b"Mug \xed\xa0\x80 blue", "Item Title"),  # a lone surrogate, UTF-8 encoded
        ("Item Title", b"Mug \xff blue", "Item Title"),
    ],
)
def test_pathological_csv_values_are_problems_of_their_row(cell: str, raw: bytes, column: str) -> None:
    header = ["Order Number", "Item Title", "Quantity", "Sold For", "Sale Date"]
    good = [b"1-1", "Grüner Becher".encode(), b"1", b"$5.00", b"Sep-01-26"]
    bad = dict(zip(header, [b"1-2", b"Mug", b"1", b"$5.00", b"Sep-02-26"], strict=True))
    bad[cell] = raw
    data = b"\n".join([",".join(header).encode(), b",".join(good), b",".join(bad.values())]) + b"\n"
    parsed = read(data)
    assert [o.ebay_order_id for o in parsed.orders] == ["1-1"]
    [error] = parsed.errors
    assert (error.line, error.field) == (3, column), problems(parsed)
    assert len(error.reason) < 400


# -- kind 9: streaming --------------------------------------------------------------------------


def _page(n: int) -> bytes:
    orders = []
    for k in range(n):
        order = json.loads(_ORDER)
        order["orderId"] = f"27-{k}-1"
        order["paymentSummary"]["refunds"] = []
        order["orderPaymentStatus"] = "PAID"
        orders.append(order)
    return json.dumps({"total": n, "orders": orders}, indent=1).encode()


@settings(max_examples=30, deadline=None)
@given(chunk=st.integers(1, 5000), n=st.integers(1, 6))
def test_a_page_reads_the_same_whatever_the_chunks(chunk: int, n: int) -> None:
    data = _page(n)
    whole = read(data, "page.json")
    original = fulfillment.CHUNK_CHARS
    fulfillment.CHUNK_CHARS = chunk
    try:
        pieces = read(data, "page.json")
    finally:
        fulfillment.CHUNK_CHARS = original
    assert [(o.ebay_order_id, o.source.line) for o in pieces.orders] == [
        (o.ebay_order_id, o.source.line) for o in whole.orders
    ]
    assert pieces.declared_total == n and not pieces.errors


def test_a_large_page_is_read_with_a_bounded_window(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _page(3000)  # ~2 MB
    monkeypatch.setattr(fulfillment, "CHUNK_CHARS", 64 * 1024)
    longest = 0
    original = fulfillment._Window.release

    def watch(self: Any, pos: int) -> None:
        nonlocal longest
        longest = max(longest, len(self.text))
        original(self, pos)

    monkeypatch.setattr(fulfillment._Window, "release", watch)
    scan = scan_file("page.json", lambda: io.BytesIO(data), zone=UTC)
    kinds = [type(item) for item in scan]
    assert kinds == [OrderRecord] * 3000
    assert longest < 4 * 64 * 1024 < len(data)  # the text held never grows with the file


def test_a_truncated_page_in_the_middle_of_a_chunk_keeps_what_came_before() -> None:
    data = _page(50)
    parsed = read(data[: len(data) // 2], "page.json")
    assert 0 < len(parsed.orders) < 50
    assert "ends early" in parsed.errors[-1].reason


def test_csv_orders_stream_out_as_their_rows_end() -> None:
    rows = ["Order Number,Item Title,Quantity,Sold For,Sale Date"] + [
        f"{k}-1,Mug,1,$5.00,Sep-01-26" for k in range(5000)
    ]
    text = "\n".join(rows).encode()
    scan = scan_file("big.csv", lambda: io.BytesIO(text), zone=UTC)
    seen = 0
    for item in scan:
        assert isinstance(item, OrderRecord | NotOrder | Rejected)
        seen += 1
    assert seen == 5000 and scan.info.orders_found == 5000


def test_the_encoding_sample_never_splits_a_character() -> None:
    text = (
        "Order Number,Item Title,Quantity,Sold For,Sale Date\n" + "1-1,Größe €,1,$5.00,Sep-01-26\n" * 200
    ).encode()
    for cut in range(1, 40):
        source = encoding.TextSource(io.BytesIO(text), sample_bytes=cut * 7 + 1)
        assert "".join(source.lines()).encode() == text


def test_undecodable_bytes_are_rows_problems_not_the_files() -> None:
    assert encoding.detect("ok é".encode() + b" \xff x", complete=True).codec == "utf-8"
    assert codecs.lookup(encoding.detect("Größe".encode("cp1252"), complete=True).codec).name == "cp1252"
    with pytest.raises(encoding.Unreadable):
        encoding.detect(b"\x00\x01\x02\x03" * 100, complete=True)


def test_a_missing_header_is_one_clear_problem() -> None:
    parsed = read(b"just,some,numbers\n1,2,3\n")
    assert not parsed.readable and "not a file ebaydash can import" in parsed.errors[0].reason
    data = b"Order Number,Comment\n" + b"1-1,hello\n"
    parsed = read(data)
    assert not parsed.readable and {e.field for e in parsed.errors} >= {"sale_date", "quantity"}


# -- kind 6: which source owns which field ------------------------------------------------------

STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")


@given(
    stored_status=st.sampled_from(STATUSES),
    stored_refund=st.integers(0, 5000),
    status=st.sampled_from(STATUSES),
    refund=st.integers(0, 5000),
    knows=st.sets(st.sampled_from(["refunds", "cancellation"])),
)
def test_a_source_never_overwrites_a_fact_it_does_not_know(
    stored_status: str, stored_refund: int, status: str, refund: int, knows: set[str]
) -> None:
    from ebaydash.db.upsert import precedence as merge

    total = Decimal("50.00")
    incoming = OrderRecord(
        "1-1",
        status,
        total,
        min(Decimal(refund) / 100, total),
        "USD",
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        (),
        knows=frozenset(knows),
    )
    stored = merge.Stored(stored_status, min(Decimal(stored_refund) / 100, total))
    newer = merge.reconcile(incoming, stored)
    if "cancellation" not in knows and stored_status in merge.TERMINAL and status not in merge.TERMINAL:
        assert newer.status == stored_status  # a report's dates never undo a cancellation
    elif "cancellation" in knows:
        assert newer.status == status
    if "refunds" not in knows and newer.status == status and status not in ("cancelled", "refunded"):
        assert newer.refunded_amount == stored.refunded_amount
    if knows == {"refunds", "cancellation"}:
        assert newer == incoming  # the API owns every field
    older = merge.older_facts(incoming, stored)
    if older is not None:
        # an older copy only ever adds a fact that never goes back
        assert stored_status not in merge.TERMINAL
        assert older[0] in merge.TERMINAL or older[1] > stored.refunded_amount


def test_a_line_level_refund_is_counted_when_the_order_says_it_was_refunded() -> None:
    order = json.loads(_ORDER)
    order["lineItems"][0]["refunds"] = [{"refundId": "L1", "amount": {"value": "7.00", "currency": "USD"}}]
    parsed = read(json.dumps({"orders": [order]}).encode(), "page.json")
    assert parsed.orders[0].refunded_amount == Decimal("7.00")
    # negative control: an order eBay still calls PAID has had no money back yet
    order["orderPaymentStatus"] = "PAID"
    parsed = read(json.dumps({"orders": [order]}).encode(), "page.json")
    assert parsed.orders[0].refunded_amount == Decimal("0.00")


def test_a_second_account_of_one_seller_is_not_warned_about_its_own_files() -> None:
    from ebaydash.importers.checks import seller_warnings

    # ebaydash named the second account of 'tidy_attic_co' 'tidy_attic_co-2' (create_account)
    assert seller_warnings({"tidy_attic_co"}, "tidy_attic_co-2") == []
    assert seller_warnings({"tidy_attic_co"}, "tidy_attic_co") == []
    warned = seller_warnings({"quiet_shelf_goods"}, "tidy_attic_co-2")
    assert len(warned) == 1 and "'quiet_shelf_goods'" in warned[0]


def test_a_new_account_is_warned_about_files_of_several_sellers_not_about_its_own_name() -> None:
    from ebaydash.importers.checks import seller_warnings

    # a new account belongs to no seller yet: the surprise is two sellers in one import
    assert seller_warnings({"groove_bin"}, None) == []
    [warned] = seller_warnings({"groove_bin", "quiet_shelf_goods"}, None)
    assert "2 eBay sellers ('groove_bin', 'quiet_shelf_goods')" in warned
    assert "belongs to" not in warned
