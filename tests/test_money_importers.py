"""Reading eBay's money records: the Transaction report and the Finances API pages.

No database here. The records are checked against values computed another way from the same
fixture files (pandas over the report, json.load over the pages), the report and the API against
each other (the same made-up sales in both), and every kind of bad input for a clear problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import ebaydash.importers.money as money_package
from ebaydash.importers import detect, read_file
from ebaydash.importers.money import checks, fees, wordings
from ebaydash.importers.money.reader import read_money_file
from ebaydash.importers.money.records import MoneyFile, MoneyTransaction, fee_tuple
from ebaydash.importers.values import ValueProblem
from tests.conftest import ROOT

MONEY = ROOT / "tests" / "fixtures" / "money"
ORDERS = ROOT / "tests" / "fixtures" / "imports"
LA = ZoneInfo("America/Los_Angeles")
D = Decimal


def read(name: str, data: bytes | None = None, zone: ZoneInfo = LA) -> MoneyFile:
    return read_money_file(name, data if data is not None else (MONEY / name).read_bytes(), zone=zone)


def reasons(parsed: MoneyFile) -> str:
    return "\n".join(e.describe() for e in parsed.errors)


def by_id(parsed: MoneyFile) -> dict[str, MoneyTransaction]:
    return {t.transaction_id: t for t in parsed.transactions}


def page(name: str = "get_transactions_us.json") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MONEY / name).read_text())
    return loaded


def report_lines(name: str = "transaction_report_us.csv") -> list[str]:
    return (MONEY / name).read_text(encoding="utf-8-sig").splitlines()


US_HEADER_LINE = 9  # eight preamble lines, then the header


def edit_report(column: str, value: str, *, row: int = 0, name: str = "transaction_report_us.csv") -> bytes:
    """The US report with one cell of data row ``row`` (0-based) replaced."""
    import csv
    import io

    lines = report_lines(name)
    table = list(csv.reader(io.StringIO("\n".join(lines[US_HEADER_LINE - 1 :]))))
    table[row + 1][table[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    return ("\n".join(lines[: US_HEADER_LINE - 1]) + "\n" + out.getvalue()).encode()


# -- the exported surface -----------------------------------------------------------------------


def test_the_package_exports_its_records_and_detection_only() -> None:
    assert sorted(money_package.__all__) == [
        "BOOKING_ENTRIES",
        "FORMAT_LABELS",
        "MONEY_FORMATS",
        "MONEY_TYPES",
        "MoneyFile",
        "MoneyLine",
        "MoneyTransaction",
        "Payout",
        "money_format",
    ]
    for name in money_package.__all__:
        assert getattr(money_package, name) is not None


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (MONEY / "transaction_report_us.csv", "transaction-report-csv"),
        (MONEY / "transaction_report_uk.csv", "transaction-report-csv"),
        (MONEY / "transaction_report_de.csv", "transaction-report-csv"),
        (MONEY / "get_transactions_us.json", "finances-transactions-json"),
        (MONEY / "get_payouts_us.json", "finances-payouts-json"),
        (ORDERS / "getorders_page1.json", "fulfillment-json"),
        (ORDERS / "seller_hub_orders.csv", "seller-hub-csv"),
        (ORDERS / "seller_hub_orders_uk.csv", "seller-hub-csv"),
    ],
)
def test_money_files_are_told_apart_from_order_files_by_content(path: Path, expected: str) -> None:
    detect_text = path.read_bytes().decode("utf-8-sig")
    assert detect(detect_text) == expected
    # without its preamble the report still is one (its header has an "Order number" column)
    if expected == "transaction-report-csv":
        header_at = next(i for i, line in enumerate(detect_text.splitlines()) if "Typ" in line)
        assert detect("\n".join(detect_text.splitlines()[header_at:])) == expected


def test_a_single_getpayout_answer_is_a_payouts_file_and_a_getorder_answer_is_not() -> None:
    payout = page("get_payouts_us.json")["payouts"][0]
    assert detect(json.dumps(payout)) == "finances-payouts-json"
    order = json.loads((ORDERS / "getorders_page1.json").read_text())["orders"][0]
    assert detect(json.dumps(order)) == "fulfillment-json"
    # a title that merely mentions a "transactions" list does not make an order page a money page
    text = (
        (ORDERS / "getorders_page1.json")
        .read_text()
        .replace('"title": "', '"title": "\\"transactions\\": [ ', 1)
    )
    assert detect(text) == "fulfillment-json"


@pytest.mark.parametrize(
    "name", ["transaction_report_us.csv", "get_transactions_us.json", "get_payouts_us.json"]
)
def test_the_order_import_refuses_money_files_with_a_clear_reason(name: str) -> None:
    parsed = read_file(name, (MONEY / name).read_bytes(), zone=LA)
    assert not parsed.readable and parsed.orders == []
    [error] = parsed.errors
    assert "money records" in error.reason and "not orders" in error.reason


@pytest.mark.parametrize("name", ["getorders_page1.json", "seller_hub_orders.csv"])
def test_the_money_reader_refuses_order_files(name: str) -> None:
    parsed = read(name, (ORDERS / name).read_bytes())
    assert not parsed.readable and parsed.format == "unknown"
    [error] = parsed.errors
    assert "not a money file" in error.reason and error.line == 1


# -- the same sales from both sources -----------------------------------------------------------


def test_the_same_sales_from_the_report_and_the_api_normalise_to_equal_records() -> None:
    report = read("transaction_report_us.csv")
    api = read("get_transactions_us.json")
    payouts = read("get_payouts_us.json")
    for parsed in (report, api, payouts):
        assert not parsed.errors, reasons(parsed)
    assert len(report.transactions) == len(api.transactions) == 10
    assert sorted(report.transactions, key=lambda t: t.transaction_id) == sorted(
        api.transactions, key=lambda t: t.transaction_id
    )
    assert sorted(report.payouts, key=lambda p: p.payout_id) == sorted(
        payouts.payouts, key=lambda p: p.payout_id
    )
    assert len(report.payouts) == 2


def test_the_comparison_sees_a_different_payout_a_different_day_and_a_different_fee() -> None:
    # negative controls: each change in the API page makes its record differ from the report's
    report = by_id(read("transaction_report_us.csv"))
    raw = page()
    sale = next(t for t in raw["transactions"] if t["transactionId"] == "23-11111-00001")
    sale["payoutId"] = "5000000002"
    label = next(t for t in raw["transactions"] if t["transactionType"] == "SHIPPING_LABEL")
    label["transactionDate"] = "2026-09-02T07:00:00.000Z"  # midnight in Los Angeles: the next day
    other = next(t for t in raw["transactions"] if t["transactionId"] == "23-11111-00004")
    fees_of_line = other["orderLineItems"][0]["marketplaceFees"]
    fees_of_line[0]["feeType"] = "INTERNATIONAL_FEE"  # the same amount, another type
    api = by_id(read("page.json", json.dumps(raw).encode()))
    assert api["23-11111-00001"] != report["23-11111-00001"]
    assert api["23-11111-00001"].payout_id == "5000000002"
    assert api["SL-8000000001"] != report["SL-8000000001"]
    assert api["SL-8000000001"].booked_on == dt.date(2026, 9, 2)
    assert api["23-11111-00004"] != report["23-11111-00004"]
    unchanged = set(report) - {"23-11111-00001", "SL-8000000001", "23-11111-00004"}
    assert all(api[key] == report[key] for key in unchanged)


def test_what_only_one_source_knows_is_kept_but_not_compared() -> None:
    report = by_id(read("transaction_report_us.csv"))
    api = by_id(read("get_transactions_us.json"))
    sale_r, sale_a = report["23-11111-00002"], api["23-11111-00002"]
    assert sale_r == sale_a
    # the report names each line's item, SKU and quantity; getTransactions leaves them to the order
    assert [(li.line_item_id, li.item_id, li.sku, li.quantity) for li in sale_r.lines] == [
        ("10000000000002", "110000000002", "CD-001", 2),
        ("10000000000003", "110000000003", "CD-002", 1),
    ]
    assert [(li.item_id, li.sku) for li in sale_a.lines] == [(None, None), (None, None)]
    # the API knows the instant; the report only the day, whose start in the seller's zone stands in
    assert sale_a.time_known and sale_a.transaction_date == dt.datetime(2026, 9, 2, 5, 30, tzinfo=dt.UTC)
    assert not sale_r.time_known and sale_r.transaction_date == dt.datetime(2026, 9, 1, 7, 0, tzinfo=dt.UTC)
    assert sale_r.source.file == "transaction_report_us.csv" and sale_a.source.line is not None


def test_the_booked_day_is_the_day_in_the_sellers_time_zone() -> None:
    # 05:30 UTC on 2 September is the evening of 1 September in Los Angeles: a window edge
    sale = by_id(read("get_transactions_us.json"))["23-11111-00002"]
    assert sale.booked_on == dt.date(2026, 9, 1)
    in_utc = by_id(read("get_transactions_us.json", zone=ZoneInfo("UTC")))["23-11111-00002"]
    assert in_utc.booked_on == dt.date(2026, 9, 2)
    late = by_id(read("get_transactions_us.json"))["23-11111-00004"]  # 23:30 UTC on 30 Sep
    assert late.booked_on == dt.date(2026, 9, 30)


# -- truth computed another way -----------------------------------------------------------------

REPORT_FEE_COLUMNS = {
    "Final Value Fee - fixed": "FINAL_VALUE_FEE_FIXED_PER_ORDER",
    "Final Value Fee - variable": "FINAL_VALUE_FEE",
    "Regulatory operating fee": "REGULATORY_OPERATING_FEE",
    'Very high "item not as described" fee': "HIGH_ITEM_NOT_AS_DESCRIBED_FEE",
    "Below standard performance fee": "BELOW_STANDARD_FEE",
    "International fee": "INTERNATIONAL_FEE",
    "Charity donation": "CHARITY_DONATION",
    "Deposit processing fee": "DEPOSIT_PROCESSING_FEE",
}


def test_report_records_agree_with_pandas_reading_the_same_rows() -> None:
    frame = pd.read_csv(
        MONEY / "transaction_report_us.csv",
        skiprows=US_HEADER_LINE - 1,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )

    def cents(column: str, rows: pd.DataFrame) -> Decimal:
        return sum((D(v) for v in rows[column] if v != "--"), D("0.00"))

    parsed = read("transaction_report_us.csv")
    payout_rows = frame[frame["Type"] == "Payout"]
    other_rows = frame[frame["Type"] != "Payout"]
    assert sum((t.net for t in parsed.transactions), D(0)) == cents("Net amount", other_rows)
    assert sum((p.amount for p in parsed.payouts), D(0)) == -cents("Net amount", payout_rows)
    totals: dict[str, Decimal] = {}
    for t in parsed.transactions:
        for code, value in t.fees:
            totals[code] = totals.get(code, D(0)) + value
    ad_rows = other_rows[other_rows["Type"] == "Other fee"]
    for column, code in REPORT_FEE_COLUMNS.items():
        assert totals.get(code, D(0)) == -cents(column, other_rows), column
    # "Other fee" rows carry no fee column: their amount is the fee
    assert totals["AD_FEE"] + totals["PREMIUM_AD_FEES"] == -cents("Net amount", ad_rows)
    sale_rows = other_rows[other_rows["Type"] == "Order"]
    sales = [t for t in parsed.transactions if t.type == "sale"]
    assert len(sales) == sale_rows["Order number"].nunique()
    assert sum(len(t.lines) for t in sales) == len(sale_rows)
    assert sum((t.gross for t in sales), D(0)) == cents("Gross transaction amount", sale_rows)
    assert {t.transaction_id for t in parsed.transactions if t.type != "sale"} == set(
        other_rows[other_rows["Type"] != "Order"]["Reference ID"]
    )


def test_api_records_agree_with_json_load_of_the_same_page() -> None:
    raw = page()
    parsed = by_id(read("get_transactions_us.json"))
    assert len(parsed) == len(raw["transactions"]) == raw["total"]
    for source in raw["transactions"]:
        record = parsed[source["transactionId"]]
        sign = 1 if source["bookingEntry"] == "CREDIT" else -1
        assert record.net == sign * D(source["amount"]["value"])
        assert record.booking_entry == source["bookingEntry"]
        assert record.payout_id == source.get("payoutId")
        assert record.transaction_date == dt.datetime.fromisoformat(source["transactionDate"])
        if source["transactionType"] == "NON_SALE_CHARGE":
            assert record.fees == ((source["feeType"], -sign * D(source["amount"]["value"])),)
            assert record.gross == 0
            continue
        expected: dict[str, Decimal] = {}
        for line in source.get("orderLineItems", []):
            for fee in line.get("marketplaceFees", []):
                expected[fee["feeType"]] = expected.get(fee["feeType"], D(0)) + sign * D(
                    fee["amount"]["value"]
                )
            for donation in line.get("donations", []):
                expected["CHARITY_DONATION"] = expected.get("CHARITY_DONATION", D(0)) + sign * D(
                    donation["amount"]["value"]
                )
        assert record.fees == fee_tuple(expected)
        basis = source.get("totalFeeBasisAmount")
        assert record.gross == sign * D(basis["value"] if basis else source["amount"]["value"])


def test_sign_conventions_hold_for_every_kind_of_transaction() -> None:
    records = by_id(read("get_transactions_us.json"))
    for t in records.values():
        assert t.net == t.gross - t.fee_total, t.transaction_id
        assert t.booking_entry == ("CREDIT" if t.net >= 0 else "DEBIT")
    sale = records["23-11111-00001"]
    assert (sale.gross, sale.fee_total, sale.net) == (D("45.00"), D("6.36"), D("38.64"))
    assert sale.ebay_collected_tax == D("3.60")  # collected for the state, not the seller's gross
    refund = records["RF-9000000001"]  # after the sale was paid out
    assert (refund.type, refund.gross, refund.net) == ("refund", D("-20.00"), D("-17.35"))
    assert refund.fees == (("FINAL_VALUE_FEE", D("-2.65")),)  # the fee eBay gives back: a credit
    assert records["FEE-7000000001_1"].fees == (("AD_FEE", D("2.25")),)
    credit = records["FEE-7000000001_2"]  # the same ad fee credited back
    assert (credit.fees, credit.net, credit.booking_entry) == ((("AD_FEE", D("-2.25")),), D("2.25"), "CREDIT")
    label = records["SL-8000000001"]
    assert (label.type, label.gross, label.fees, label.net) == ("shipping_label", D("-5.50"), (), D("-5.50"))
    donated = records["23-11111-00003"]
    assert donated.fee("CHARITY_DONATION") == D("3.00") and fees.group_of("CHARITY_DONATION") == "donation"
    assert records["23-11111-00004"].payout_id is None  # not paid out yet: kept


def test_payouts_equal_the_net_of_their_transactions_and_a_gap_shows() -> None:
    parsed = read("transaction_report_us.csv")
    balances = checks.payout_balances(parsed.payouts, parsed.transactions)
    assert [(b.payout_id, b.amount, b.difference) for b in balances] == [
        ("5000000001", D("61.33"), D("0.00")),
        ("5000000002", D("11.42"), D("0.00")),
    ]
    missing = [t for t in parsed.transactions if t.transaction_id != "SL-8000000001"]
    gap = checks.payout_balances(parsed.payouts, missing)[0]
    assert gap.difference == D("-5.50") and gap.transactions == 3


def test_one_record_per_transaction_id_across_files() -> None:
    report = read("transaction_report_us.csv").transactions
    api = read("get_transactions_us.json").transactions
    kept, dropped, problems = checks.deduplicate([*report, *api])
    assert (len(kept), dropped, problems) == (10, 10, [])
    assert all(t.source.file == "transaction_report_us.csv" for t in kept)  # the first copy stays
    # an older copy without the payout id gives way to the one that has it
    unpaid = dataclasses.replace(api[0], payout_id=None)
    kept, _, problems = checks.deduplicate([unpaid, api[0]])
    assert kept == [api[0]] and kept[0].payout_id is not None and not problems
    # copies that disagree on money are both refused, with a problem naming both places
    changed = dataclasses.replace(api[0], net=api[0].net + D("0.01"))
    kept, _, problems = checks.deduplicate([api[0], changed, api[1]])
    assert kept == [api[1]]
    [problem] = problems
    assert problem.field == "net" and "neither copy is imported" in problem.reason


def test_pages_of_a_search_that_were_not_all_imported_are_named() -> None:
    raw = page()
    raw["total"] = 25
    parsed = read("page1.json", json.dumps(raw).encode())
    assert parsed.declared_total == 25
    [warning] = checks.completeness_warnings([parsed])
    assert "matched 25 transactions but these pages hold 10" in warning
    assert checks.completeness_warnings([read("get_transactions_us.json")]) == []


# -- other sites --------------------------------------------------------------------------------


def test_a_uk_report_with_a_currency_conversion() -> None:
    parsed = read("transaction_report_uk.csv", zone=ZoneInfo("Europe/London"))
    assert not parsed.errors, reasons(parsed)
    assert parsed.seller_id == "leeds_tea_house"
    records = by_id(parsed)
    home = records["24-22222-00001"]
    assert home.booked_on == dt.date(2026, 9, 14) and home.currency == home.payout_currency == "GBP"
    assert home.fee("REGULATORY_OPERATING_FEE") == D("0.09")
    abroad = records["24-22222-00002"]
    # gross and fees in the buyer's currency, net in the payout currency, at the rate shown
    assert (abroad.currency, abroad.payout_currency, abroad.exchange_rate) == ("EUR", "GBP", D("0.8543"))
    assert (abroad.gross, abroad.fee_total, abroad.net) == (D("30.00"), D("4.67"), D("21.64"))
    assert records["SL-UK-0000001"].type == "shipping_label"  # "Postage label"
    assert records["FEE-UK-0000001_1"].fees == (("AD_FEE", D("1.07")),)
    [payout] = parsed.payouts
    assert (payout.amount, payout.currency, payout.paid_on) == (D("18.06"), "GBP", dt.date(2026, 9, 16))


def test_a_german_report_with_semicolons_decimal_commas_and_german_words() -> None:
    parsed = read("transaction_report_de.csv", zone=ZoneInfo("Europe/Berlin"))
    assert not parsed.errors, reasons(parsed)
    assert parsed.seller_id == "gadget_garage_de"
    records = by_id(parsed)
    sale = records["05-33333-00001"]
    assert (sale.type, sale.gross, sale.net, sale.currency) == ("sale", D("1234.00"), D("1113.36"), "EUR")
    assert sale.lines[0].title == "Lötstation 80 W, digital; mit Ablage"  # a semicolon inside quotes
    assert sale.booked_on == dt.date(2026, 9, 2)
    assert records["FEE-DE-0000001_1"].fees == (("AD_FEE", D("12.34")),)
    refund = records["RF-DE-0000001"]
    assert (refund.type, refund.fees, refund.net) == (
        "refund",
        (("FINAL_VALUE_FEE", D("-2.79")),),
        D("-97.21"),
    )
    assert parsed.payouts[0].amount == D("1003.81") and parsed.payouts[0].status == "SUCCEEDED"


def test_problems_name_the_column_as_the_report_words_it() -> None:
    text = (MONEY / "transaction_report_de.csv").read_text(encoding="utf-8")
    parsed = read("de.csv", text.replace('"1.113,36"', '"1.113,37"').encode(), zone=ZoneInfo("Europe/Berlin"))
    [error] = parsed.errors
    assert (error.line, error.field) == (9, "Betrag abzügl. Kosten")
    assert "do not add up" in error.reason and "1113.37" in error.reason
    assert error.raw.startswith("02.09.2026;Bestellung;05-33333-00001")  # the row as written


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("1.234,56", ",", ("1234.56", None)),
        ("1 234,56 €", ",", ("1234.56", "EUR")),
        ("1\u202f234,56", ",", ("1234.56", None)),  # narrow no-break space (French)
        ("\u22123,20", ",", ("-3.20", None)),  # a minus sign, not a hyphen
        ("-1,234.56", ".", ("-1234.56", None)),
        ("(5.00)", ".", ("-5.00", None)),
        ("£12.34", ".", ("12.34", "GBP")),
        ("-$0.30", ".", ("-0.30", "USD")),
        ("1.234", ",", ("1234.00", None)),
        ("1,234", ".", ("1234.00", None)),
        ("AU $5", ".", ("5.00", "AUD")),
    ],
)
def test_amounts_as_each_site_writes_them(text: str, mark: str, expected: tuple[str, str | None]) -> None:
    assert wordings.amount(text, mark) == (D(expected[0]), expected[1])


@pytest.mark.parametrize(
    ("text", "mark", "reason"),
    [
        ("12,34", ".", "number format (e.g. 1,234.56)"),
        ("12.34", ",", "number format (e.g. 1.234,56)"),
        ("1.2.3", ".", "number format"),
        ("1e999999999", ".", "not an amount"),
        ("99999999999999999999", ".", "larger than the largest amount"),
        ("12.345", ".", "fractions of a cent"),
        ("NaN", ".", "not an amount"),
        ("¥12", ".", "unknown currency symbol"),
    ],
)
def test_amounts_that_cannot_be_read_exactly_are_refused(text: str, mark: str, reason: str) -> None:
    with pytest.raises(
        ValueProblem, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    ):
        wordings.amount(text, mark)


@pytest.mark.parametrize(
    ("text", "day", "time_known"),
    [
        ("Sep 30, 2026", dt.date(2026, 9, 30), False),
        ("Sept. 3, 2026", dt.date(2026, 9, 3), False),
        ("30 Sep 2026", dt.date(2026, 9, 30), False),
        ("30.09.2026", dt.date(2026, 9, 30), False),
        ("30. Sep. 2026", dt.date(2026, 9, 30), False),
        ("3. März 2026", dt.date(2026, 3, 3), False),
        ("30 sept. 2026", dt.date(2026, 9, 30), False),
        ("1 févr. 2026", dt.date(2026, 2, 1), False),
        ("30 set 2026", dt.date(2026, 9, 30), False),
        ("30 de septiembre de 2026", dt.date(2026, 9, 30), False),
        ("2026-09-30", dt.date(2026, 9, 30), False),
        ("Sep 30, 2026 11:45 PM", dt.date(2026, 9, 30), True),
        ("30.09.2026 23:45", dt.date(2026, 9, 30), True),
        ("Sep-30-26 23:45:00", dt.date(2026, 9, 30), True),
    ],
)
def test_dates_as_each_site_writes_them(text: str, day: dt.date, time_known: bool) -> None:
    when = wordings.when(text, ZoneInfo("Europe/Berlin"), month_first=True)
    assert (when.day, when.time_known) == (day, time_known)
    if time_known:
        assert when.instant == dt.datetime(2026, 9, 30, 21, 45, tzinfo=dt.UTC)  # CEST is UTC+2
    else:
        assert when.instant == dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo("Europe/Berlin"))


def test_numeric_dates_take_their_order_from_the_file() -> None:
    assert wordings.slashed_order(["03/04/2026", "25/04/2026"]) is False  # 25 can only be a day
    assert wordings.slashed_order(["03/04/2026", "04/25/2026"]) is True
    assert wordings.slashed_order(["03/04/2026"]) is None
    with pytest.raises(ValueProblem, match="mix"):
        wordings.slashed_order(["25/04/2026", "04/25/2026"])
    header = report_lines()[US_HEADER_LINE - 1]
    rows = [
        "Type,Order number,Net amount,Gross transaction amount,Transaction creation date",
        "Order,1-1,9.00,9.00,03/04/2026",
        "Order,1-2,9.00,9.00,13/04/2026",
    ]
    assert "Transaction creation date" in header
    parsed = read("dmy.csv", "\n".join(rows).encode(), zone=ZoneInfo("UTC"))
    assert [t.booked_on for t in parsed.transactions] == [dt.date(2026, 4, 3), dt.date(2026, 4, 13)]


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("0.8543", ".", "0.8543"),
        ("0,8543", ",", "0.8543"),
        ("1.1698", ",", "1.1698"),
        ("1,234.5", ".", "1234.5"),
    ],
)
def test_exchange_rates(text: str, mark: str, expected: str) -> None:
    assert wordings.rate(text, mark) == D(expected)


def test_an_exchange_rate_that_could_be_a_thousand_is_refused() -> None:
    with pytest.raises(ValueProblem, match="ambiguous"):
        wordings.rate("1.000", ",")
    with pytest.raises(ValueProblem, match="positive"):
        wordings.rate("0", ".")


# -- bad input: the report ----------------------------------------------------------------------


def test_a_missing_required_column_is_named_with_the_wordings_we_accept() -> None:
    lines = report_lines()
    header = lines[US_HEADER_LINE - 1].replace('"Net amount"', '"Netto"')
    data = "\n".join([*lines[: US_HEADER_LINE - 1], header, *lines[US_HEADER_LINE:]]).encode()
    parsed = read("no-net.csv", data)
    assert not parsed.readable and parsed.transactions == [] and parsed.payouts == []
    assert parsed.records_found == 13  # every row still counted: nothing vanishes silently
    [error] = parsed.errors
    assert (error.line, error.field) == (US_HEADER_LINE, "Net amount")
    assert "Net amount" in error.reason and "Betrag abzügl. Kosten" in error.reason


def test_an_unknown_type_is_kept_as_other_with_a_note() -> None:
    parsed = read("odd.csv", edit_report("Type", "Reserve release", row=6))
    assert not parsed.errors, reasons(parsed)
    [other] = [t for t in parsed.transactions if t.type == "other"]
    assert other.ebay_type == "Reserve release" and other.transaction_id == "FEE-7000000002_1"
    assert "not one ebaydash knows" in other.notes[0]
    assert any("'Reserve release'" in w and "kept" in w for w in parsed.warnings)
    assert len(parsed.transactions) == 10  # nothing dropped


def test_amounts_that_do_not_add_up_name_the_line_the_field_and_the_sums() -> None:
    parsed = read("edited.csv", edit_report("Net amount", "38.65"))
    [error] = parsed.errors
    assert (error.line, error.field, error.order_id) == (US_HEADER_LINE + 1, "Net amount", "23-11111-00001")
    assert "gross 45.00 - fees 6.36 = 38.64, but the net amount is 38.65" in error.reason
    assert "23-11111-00001" not in by_id(parsed)  # the whole transaction is refused
    assert parsed.rejected == 1 and len(parsed.transactions) == 9


def test_a_fee_column_left_out_of_the_download_is_suggested_as_the_cause() -> None:
    import csv
    import io

    table = list(csv.reader(io.StringIO((MONEY / "transaction_report_uk.csv").read_text(encoding="utf-8"))))
    at = next(i for i, row in enumerate(table) if row and row[0] == "Transaction creation date")
    drop = table[at].index("International fee")
    out = io.StringIO()
    csv.writer(out).writerows(
        [row[:drop] + row[drop + 1 :] if i >= at else row for i, row in enumerate(table)]
    )
    parsed = read("uk.csv", out.getvalue().encode(), zone=ZoneInfo("Europe/London"))
    [error] = parsed.errors
    assert error.order_id == "24-22222-00002" and error.field == "Net amount"
    assert "no column for" in error.reason and "International fee" in error.reason


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Net amount", "1e999999999", "not an amount"),
        ("Net amount", "99999999999999999999", "larger than the largest amount"),
        ("Net amount", "--", "the amount is missing"),
        ("Gross transaction amount", "forty-five", "not an amount"),
        ("Final Value Fee - fixed", "-0.401", "fractions of a cent"),
        ("Transaction creation date", "Feb 30, 2026", "not a valid date"),
        ("Transaction creation date", "", "the date is missing"),
        ("Transaction creation date", "yesterday", "not a date in a known format"),
        ("Type", "--", "the transaction type is missing"),
        ("Transaction currency", "dollars", "three-letter currency code"),
        ("Payout currency", "EUR", "no exchange rate"),
        ("Exchange rate", "1.2", "an exchange rate of 1.2"),
        ("Quantity", "1.5", "whole number"),
        ("Quantity", "99999999", "whole number"),
        ("Custom label", "x" * 81, "longer than 80"),
        ("Order number", "--", "without an order number"),
    ],
)
def test_bad_cells_are_problems_with_line_field_and_reason(column: str, value: str, reason: str) -> None:
    parsed = read("cells.csv", edit_report(column, value))
    assert reason in reasons(parsed), reasons(parsed)
    error = next(e for e in parsed.errors if reason in e.reason)
    assert (error.file, error.line) == ("cells.csv", US_HEADER_LINE + 1)
    assert error.field is not None and error.raw
    assert "23-11111-00001" not in by_id(parsed)
    assert len(parsed.transactions) + len(parsed.payouts) + parsed.rejected == parsed.records_found


def test_rows_of_one_order_that_disagree_are_refused_together() -> None:
    parsed = read("split.csv", edit_report("Payout ID", "5000000009", row=2))
    [error] = parsed.errors
    assert error.line == US_HEADER_LINE + 3 and error.field == "Payout ID"
    assert "rows of transaction 23-11111-00002 disagree" in error.reason
    assert "23-11111-00002" not in by_id(parsed) and parsed.rejected == 1


def test_a_nul_byte_is_reported_with_its_line() -> None:
    data = (MONEY / "transaction_report_us.csv").read_bytes()
    cut = data.index(b"Abbey Road")
    parsed = read("nul.csv", data[:cut] + b"\x00" + data[cut:])
    assert not parsed.readable
    [error] = parsed.errors
    assert error.line == US_HEADER_LINE + 1 and "NUL byte" in error.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\n \n", "empty"),
        (b"\xff\xfe" + "Type,Net amount\n".encode("utf-16-le")[:-1], "claims to be UTF-16"),
        (b"Transaction creation date,Type,Net amount\n" + b"\xe9", "not UTF-8"),
        (b"a,b\n1,2\n", "not a money file"),
        (b'{"href": "x"}', "not a money file"),
    ],
)
def test_unreadable_money_files_get_one_clear_file_level_problem(data: bytes, reason: str) -> None:
    parsed = read("bad.file", data)
    assert not parsed.readable and len(parsed.errors) == 1
    assert reason in parsed.errors[0].reason, parsed.errors[0].reason


def test_notes_after_the_table_are_skipped_with_a_warning() -> None:
    data = (MONEY / "transaction_report_us.csv").read_bytes() + b'"End of report"\r\n'
    parsed = read("footer.csv", data)
    assert not parsed.errors and len(parsed.transactions) == 10
    assert any("End of report" in w for w in parsed.warnings)


def test_a_too_large_file_is_refused_before_reading() -> None:
    parsed = read_money_file("big.csv", b"x" * 2048, zone=LA, max_bytes=1024)
    assert not parsed.readable and "import limit" in parsed.errors[0].reason


# -- bad input: the API pages -------------------------------------------------------------------


# json.dumps cannot write these numbers; they are put into the text in place of the strings
HUGE = "<an integer of 5,000 digits>"
EXPONENT = "<the number 1e999999999>"


def api_with(path: list[Any], value: Any, *, index: int = 0, name: str = "get_transactions_us.json") -> bytes:
    raw = page(name)
    key = "transactions" if "transactions" in raw else "payouts"
    target: Any = raw[key][index]
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    text = json.dumps(raw, indent=2).replace(json.dumps(HUGE), "1" * 5000)
    return text.replace(json.dumps(EXPONENT), "1e999999999").encode()


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        (["amount", "value"], "1e999999999", "transactions[0].amount.value", "not an amount"),
        (["amount", "value"], EXPONENT, "transactions[0].amount.value", "larger than the largest"),
        (["amount", "value"], HUGE, "transactions[0].amount.value", "larger than the largest"),
        (["amount", "value"], "-38.64", "transactions[0].amount.value", "expected a positive amount"),
        (["amount"], 38.64, "transactions[0].amount", "amount object"),
        (["amount", "currency"], "usd!", "transactions[0].amount.currency", "three-letter"),
        (["bookingEntry"], "PLUS", "transactions[0].bookingEntry", "CREDIT or DEBIT"),
        (["transactionId"], "23-\ud800", "transactions[0].transactionId", "lone UTF-16 surrogate"),
        (["transactionId"], KeyError, "transactions[0].transactionId", "missing"),
        (["transactionDate"], "2026-02-30T10:00:00Z", "transactions[0].transactionDate", "not a valid date"),
        # the shared text check (importers.values.text_problem) names a NUL byte as such
        (["transactionMemo"], "a\u0000b", "transactions[0].transactionMemo", "NUL byte"),
        (["totalFeeAmount", "value"], "6.37", "transactions[0].totalFeeAmount.value", "is not the lines'"),
        (["totalFeeBasisAmount", "value"], "45.01", "transactions[0].amount.value", "do not add up"),
        (["orderLineItems"], "fees", "transactions[0].orderLineItems", "expected a list"),
        (
            ["orderLineItems", 0, "marketplaceFees", 0, "feeType"],
            None,
            "transactions[0].orderLineItems[0].marketplaceFees[0].feeType",
            "fee type code",
        ),
        (
            ["orderLineItems", 0, "marketplaceFees", 0, "amount", "currency"],
            "EUR",
            "transactions[0].orderLineItems[0].marketplaceFees[0].amount.currency",
            "differs from the transaction's currency USD",
        ),
    ],
)
def test_bad_api_values_are_problems_with_line_and_path(
    path: list[Any], value: Any, field: str, reason: str
) -> None:
    parsed = read("bad.json", api_with(path, value))
    matching = [e for e in parsed.errors if e.field == field and reason in e.reason]
    assert matching, reasons(parsed)
    text = api_with(path, value).decode()
    assert matching[0].line == text[: text.index('"transactions": [')].count("\n") + 2  # where it starts
    assert "23-11111-00001" not in by_id(parsed) and len(parsed.transactions) == 9
    assert json.loads(parsed.errors[0].raw)  # the element, for the rejects file


def test_an_unknown_api_type_is_kept_as_other_with_a_note() -> None:
    parsed = read("odd.json", api_with(["transactionType"], "RESERVE", index=3))
    assert not parsed.errors, reasons(parsed)
    [other] = [t for t in parsed.transactions if t.type == "other"]
    assert other.ebay_type == "RESERVE" and "kept as 'other'" in other.notes[0]
    assert parsed.warnings


def test_fees_without_a_breakdown_are_kept_as_unitemised() -> None:
    parsed = read("lump.json", api_with(["orderLineItems"], KeyError))
    sale = by_id(parsed)["23-11111-00001"]
    assert sale.fees == (("UNITEMISED", D("6.36")),) and sale.net == D("38.64")
    assert "UNITEMISED" in sale.notes[0]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('{"transactions": [{"amount": NaN}]}', 1, "NaN is not a number JSON allows"),
        ('{"transactions": [' + "[" * 100_000 + "]" * 100_000 + "]}", 1, "too deeply nested"),
        ('{\n "total": 3,\n "transactions": nope}', 3, "not valid JSON"),
        ('{"transactions": {"a": 1}}', 1, 'no "transactions" list'),
    ],
)
def test_broken_api_json_is_one_clear_problem(text: str, line: int, reason: str) -> None:
    parsed = read("broken.json", text.encode())
    assert reason in reasons(parsed)
    assert parsed.errors[0].line == line


def test_a_page_cut_short_keeps_the_complete_transactions_and_says_where() -> None:
    text = (MONEY / "get_transactions_us.json").read_text()
    cut = text.index('"transactionId": "SL-8000000001"') + 10
    complete = [t["transactionId"] for t in page()["transactions"]].index("SL-8000000001")
    assert complete >= 1
    parsed = read("cut.json", text[:cut].encode())
    assert len(parsed.transactions) == complete
    [error] = parsed.errors
    assert "ends early" in error.reason and error.line == text[:cut].count("\n") + 1


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        (["payoutStatus"], "PAID", "payouts[0].payoutStatus", "expected one of INITIATED"),
        (["amount", "value"], "-1.00", "payouts[0].amount.value", "cannot be negative"),
        (["payoutDate"], None, "payouts[0].payoutDate", "ISO 8601"),
        (["transactionCount"], "four", "payouts[0].transactionCount", "whole number"),
        (["payoutId"], "", "payouts[0].payoutId", "missing"),
    ],
)
def test_bad_payouts_are_problems(path: list[Any], value: Any, field: str, reason: str) -> None:
    parsed = read("payouts.json", api_with(path, value, name="get_payouts_us.json"))
    errors = {e.field: e for e in parsed.errors}
    assert field in errors and reason in errors[field].reason, reasons(parsed)
    assert len(parsed.payouts) == 1 and parsed.rejected == 1


def test_a_converted_api_amount_keeps_both_currencies_and_the_rate() -> None:
    raw = page()
    sale = raw["transactions"][0]
    assert sale["transactionId"] == "23-11111-00001"
    # the buyer paid 45.00 EUR; the seller is paid in USD at 1.1000
    for key in ("totalFeeBasisAmount", "totalFeeAmount"):
        sale[key]["currency"] = "EUR"
    for fee in sale["orderLineItems"][0]["marketplaceFees"]:
        fee["amount"]["currency"] = "EUR"
    sale["amount"] = {
        "value": "42.50",
        "currency": "USD",
        "convertedFromValue": "38.64",
        "convertedFromCurrency": "EUR",
        "exchangeRate": "1.1000",
    }
    parsed = by_id(read("fx.json", json.dumps(raw).encode()))
    record = parsed["23-11111-00001"]
    assert (record.currency, record.payout_currency, record.exchange_rate) == ("EUR", "USD", D("1.1000"))
    assert (record.gross, record.fee_total, record.net) == (D("45.00"), D("6.36"), D("42.50"))
    sale["amount"]["value"] = "42.60"  # not 38.64 × 1.1
    errors = read("fx.json", json.dumps(raw).encode()).errors
    assert any("× 1.1000 is 42.50 USD, but the amount is 42.60" in e.reason for e in errors)


def test_fee_codes_and_report_columns_map_as_documented() -> None:
    assert fees.FEE_COLUMNS["fvf_fixed"] == "FINAL_VALUE_FEE_FIXED_PER_ORDER"
    assert fees.FEE_COLUMNS["fvf_variable"] == "FINAL_VALUE_FEE"
    assert set(fees.FEE_COLUMNS) <= set(wordings.ALIASES)
    assert all(code in fees.FEE_TYPES for code in fees.FEE_COLUMNS.values())
    assert fees.fee_type_of_description("Promoted Listings - Priority fee") == "PREMIUM_AD_FEES"
    assert fees.fee_type_of_description("Promoted Listings - General fee") == "AD_FEE"
    assert fees.fee_type_of_description("Anzeigengebühr") == "AD_FEE"
    assert fees.fee_type_of_description("Something new") is None
    assert fees.group_of("A_FEE_EBAY_INVENTS_TOMORROW") == "other"


def test_fixture_files_are_small_and_text() -> None:
    for path in MONEY.iterdir():
        assert path.stat().st_size < 20_000
        path.read_bytes().decode("utf-8-sig")
