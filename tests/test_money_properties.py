"""Properties of the money parsers, with hypothesis.

- The same made-up transactions, written as a Transaction report (US English or German layout)
  and as a getTransactions page, read back as equal records that hold exactly the amounts they
  were made from.
- Any value in any cell of a report, or any JSON value in any field of a page, gives records or
  problems with a file and line — never an exception — and every record is counted.
- Amounts written the way each site writes them read back exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebaydash.importers.money import wordings
from ebaydash.importers.money.reader import read_money_file
from ebaydash.importers.money.records import MoneyFile, fee_tuple
from tests.conftest import ROOT

MONEY = ROOT / "tests" / "fixtures" / "money"
BERLIN = ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")
LINE_FEES = ("FINAL_VALUE_FEE", "FINAL_VALUE_FEE_FIXED_PER_ORDER", "INTERNATIONAL_FEE")


@dataclass
class Made:
    """One made-up transaction and the record it must become."""

    kind: str  # sale | refund | ad_fee | ad_credit | label | credit
    transaction_id: str
    order_id: str | None
    instant: dt.datetime
    lines: list[tuple[str, int, dict[str, int]]] = field(default_factory=list)  # id, gross, fees (cents)
    amount: int = 0  # cents, for the one-amount kinds
    premium: bool = False
    payout_id: str | None = None

    @property
    def sign(self) -> int:
        return -1 if self.kind in ("refund", "ad_fee", "label") else 1

    def expected(self) -> tuple[Decimal, dict[str, Decimal], Decimal]:
        """gross, fees by type, net, all signed as the records document."""
        if self.kind in ("ad_fee", "ad_credit"):
            code = "PREMIUM_AD_FEES" if self.premium else "AD_FEE"
            fee = -self.sign * _cents(self.amount)
            return Decimal("0.00"), {code: fee}, self.sign * _cents(self.amount)
        if self.kind in ("label", "credit"):
            return self.sign * _cents(self.amount), {}, self.sign * _cents(self.amount)
        fees: dict[str, Decimal] = {}
        for _line, _gross, line_fees in self.lines:
            for code, cents in line_fees.items():
                fees[code] = fees.get(code, Decimal("0.00")) + self.sign * _cents(cents)
        gross = self.sign * _cents(sum(g for _, g, _ in self.lines))
        return gross, fees, gross - sum(fees.values(), Decimal("0.00"))


def _cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


@st.composite
def line_items(draw: st.DrawFn, prefix: str) -> tuple[str, int, dict[str, int]]:
    gross = draw(st.integers(1, 50_000_000))  # up to 500,000.00: thousands separators appear
    codes = draw(st.lists(st.sampled_from(LINE_FEES), unique=True, max_size=3))
    # fees can exceed a small gross: a 0.30 sale with a 0.40 fixed fee nets -0.10
    fees = {code: draw(st.integers(1, max(1, gross // 4, 50))) for code in codes}
    return f"{prefix}{draw(st.integers(10**12, 10**13 - 1))}", gross, fees


@st.composite
def made_transactions(draw: st.DrawFn) -> list[Made]:
    count = draw(st.integers(1, 8))
    made: list[Made] = []
    for n in range(count):
        kind = draw(st.sampled_from(["sale", "refund", "ad_fee", "ad_credit", "label", "credit"]))
        instant = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            minutes=draw(st.integers(0, 364 * 24 * 60))
        )
        order = f"{n:02d}-{draw(st.integers(10000, 99999))}-{n:05d}"
        payout = draw(st.sampled_from([None, "5000000001", "5000000002"]))
        if kind == "sale":
            lines = draw(st.lists(line_items(""), min_size=1, max_size=3, unique_by=lambda li: li[0]))
            made.append(Made(kind, order, order, instant, lines=lines, payout_id=payout))
        elif kind == "refund":
            made.append(Made(kind, f"RF-{n}", order, instant, lines=[draw(line_items(""))], payout_id=payout))
        else:
            amount = draw(st.integers(1, 10_000_000))
            premium = draw(st.booleans()) if kind == "ad_fee" else False
            made.append(
                Made(
                    kind,
                    f"{kind.upper()}-{n}",
                    None,
                    instant,
                    amount=amount,
                    premium=premium,
                    payout_id=payout,
                )
            )
    return made


# -- writing them, the way eBay would -----------------------------------------------------------

HEADERS = {
    "en": {
        "date": "Transaction creation date",
        "type": "Type",
        "order": "Order number",
        "net": "Net amount",
        "payout_currency": "Payout currency",
        "payout": "Payout ID",
        "line": "Transaction ID",
        "fixed": "Final Value Fee - fixed",
        "variable": "Final Value Fee - variable",
        "international": "International fee",
        "gross": "Gross transaction amount",
        "currency": "Transaction currency",
        "reference": "Reference ID",
        "description": "Description",
    },
    "de": {
        "date": "Datum der Transaktionserstellung",
        "type": "Typ",
        "order": "Bestellnummer",
        "net": "Betrag abzügl. Kosten",
        "payout_currency": "Auszahlungswährung",
        "payout": "Auszahlung Nr.",
        "line": "Transaktionsnummer",
        "fixed": "Fixer Anteil der Verkaufsprovision",
        "variable": "Variabler Anteil der Verkaufsprovision",
        "international": "Internationale Gebühr",
        "gross": "Transaktionsbetrag (inkl. Kosten)",
        "currency": "Transaktionswährung",
        "reference": "Referenznummer",
        "description": "Beschreibung",
    },
}
TYPES = {
    "en": {
        "sale": "Order",
        "refund": "Refund",
        "ad_fee": "Other fee",
        "ad_credit": "Other fee",
        "label": "Shipping label",
        "credit": "Credit",
    },
    "de": {
        "sale": "Bestellung",
        "refund": "Rückerstattung",
        "ad_fee": "Andere Gebühr",
        "ad_credit": "Andere Gebühr",
        "label": "Versandetikett",
        "credit": "Gutschrift",
    },
}
FEE_HEADERS = {
    "FINAL_VALUE_FEE_FIXED_PER_ORDER": "fixed",
    "FINAL_VALUE_FEE": "variable",
    "INTERNATIONAL_FEE": "international",
}


def written(amount: Decimal, language: str) -> str:
    text = f"{amount:,.2f}"
    return text if language == "en" else text.replace(",", " ").replace(".", ",").replace(" ", ".")


def written_day(day: dt.date, language: str) -> str:
    return f"{day:%b} {day.day}, {day.year}" if language == "en" else f"{day:%d.%m.%Y}"


def report(made: list[Made], language: str) -> bytes:
    names = HEADERS[language]
    rows: list[dict[str, str]] = []
    for m in made:
        day = written_day(m.instant.astimezone(BERLIN).date(), language)
        base = {
            "date": day,
            "type": TYPES[language][m.kind],
            "order": m.order_id or "--",
            "payout_currency": "EUR",
            "currency": "EUR",
            "payout": m.payout_id or "--",
        }
        if m.kind in ("sale", "refund"):
            for line, gross_cents, fees in m.lines:
                gross = m.sign * _cents(gross_cents)
                signed_fees = {code: m.sign * _cents(c) for code, c in fees.items()}
                row = dict(
                    base,
                    line=line,
                    gross=written(gross, language),
                    net=written(gross - sum(signed_fees.values(), Decimal(0)), language),
                )
                if m.kind == "refund":
                    row["reference"] = m.transaction_id
                for code, value in signed_fees.items():
                    row[FEE_HEADERS[code]] = written(-value, language)  # charged: negative
                rows.append(row)
        else:
            amount = written(m.sign * _cents(m.amount), language)
            description = {
                "ad_fee": "Promoted Listings - Priority fee"
                if m.premium
                else "Promoted Listings - General fee",
                "ad_credit": "Promoted Listings - General fee credit",
            }.get(m.kind, "--")
            rows.append(
                dict(base, reference=m.transaction_id, gross=amount, net=amount, description=description)
            )
    out = io.StringIO()
    writer = csv.writer(out, delimiter="," if language == "en" else ";", lineterminator="\r\n")
    writer.writerow(["Transaction report" if language == "en" else "Transaktionsbericht"])
    writer.writerow([])
    writer.writerow(list(names.values()))
    for row in rows:
        writer.writerow([row.get(key, "--") for key in names])
    return out.getvalue().encode()


def api_page(made: list[Made]) -> bytes:
    def amount(cents: int) -> dict[str, str]:
        return {"value": f"{_cents(cents)}", "currency": "EUR"}

    transactions: list[dict[str, Any]] = []
    for m in made:
        net = m.expected()[2]
        booking = "CREDIT" if net >= 0 else "DEBIT"
        element: dict[str, Any] = {
            "transactionId": m.transaction_id,
            "transactionDate": m.instant.isoformat().replace("+00:00", ".000Z"),
            "bookingEntry": booking,
        }
        if m.order_id:
            element["orderId"] = m.order_id
        if m.payout_id:
            element["payoutId"] = m.payout_id
        if m.kind in ("sale", "refund"):
            gross = sum(g for _, g, _ in m.lines)
            fee_total = sum(sum(f.values()) for _, _, f in m.lines)
            element |= {
                "transactionType": "SALE" if m.kind == "sale" else "REFUND",
                "amount": amount(abs(gross - fee_total)),
                "totalFeeBasisAmount": amount(gross),
                "totalFeeAmount": amount(fee_total),
                "orderLineItems": [
                    {
                        "lineItemId": line,
                        "marketplaceFees": [{"feeType": c, "amount": amount(v)} for c, v in fees.items()],
                    }
                    for line, _, fees in m.lines
                ],
            }
        elif m.kind in ("ad_fee", "ad_credit"):
            element |= {
                "transactionType": "NON_SALE_CHARGE",
                "amount": amount(m.amount),
                "feeType": "PREMIUM_AD_FEES" if m.premium else "AD_FEE",
            }
        else:
            element |= {
                "transactionType": "SHIPPING_LABEL" if m.kind == "label" else "CREDIT",
                "amount": amount(m.amount),
            }
        transactions.append(element)
    return json.dumps({"total": len(transactions), "transactions": transactions}, indent=1).encode()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=made_transactions(), language=st.sampled_from(["en", "de"]))
def test_the_same_transactions_from_a_report_and_a_page_are_equal_and_exact(
    made: list[Made], language: str
) -> None:
    from_report = read_money_file("report.csv", report(made, language), zone=BERLIN)
    from_api = read_money_file("page.json", api_page(made), zone=BERLIN)
    assert not from_report.errors, [e.describe() for e in from_report.errors]
    assert not from_api.errors, [e.describe() for e in from_api.errors]
    ordered = sorted(from_report.transactions, key=lambda t: t.transaction_id)
    assert ordered == sorted(from_api.transactions, key=lambda t: t.transaction_id)
    truth = {m.transaction_id: m for m in made}
    assert {t.transaction_id for t in ordered} == set(truth)
    for record in ordered:
        m = truth[record.transaction_id]
        gross, fees, net = m.expected()
        assert (record.gross, record.fees, record.net) == (gross, fee_tuple(fees), net)
        assert record.booked_on == m.instant.astimezone(BERLIN).date()
        assert record.payout_id == m.payout_id
        assert record.net == record.gross - record.fee_total
        assert record.booking_entry == ("CREDIT" if net >= 0 else "DEBIT")


# -- nothing breaks the parsers -----------------------------------------------------------------

US_REPORT = (MONEY / "transaction_report_us.csv").read_text(encoding="utf-8-sig")
US_TABLE = list(csv.reader(io.StringIO(US_REPORT)))
HEADER_AT = next(i for i, row in enumerate(US_TABLE) if row and row[0] == "Transaction creation date")


def invariants(parsed: MoneyFile, name: str) -> None:
    assert len(parsed.transactions) + len(parsed.payouts) + parsed.rejected == parsed.records_found
    assert parsed.rejected >= 0
    for error in parsed.errors:
        assert error.file == name and error.reason
        assert error.line is None or error.line >= 1
    if parsed.rejected:
        assert parsed.errors
    for t in parsed.transactions:
        assert t.booking_entry in ("CREDIT", "DEBIT")
        if t.currency == t.payout_currency:
            assert t.net == t.gross - t.fee_total


@settings(max_examples=150, deadline=None)
@given(
    row=st.integers(HEADER_AT + 1, len(US_TABLE) - 1),
    column=st.integers(0, len(US_TABLE[HEADER_AT]) - 1),
    value=st.one_of(
        st.text(max_size=30),
        st.sampled_from(
            ["--", "1e999999999", "-0.00", "9" * 40, "NaN", "(1.00)", "1,5", "Feb 29, 2026", "\ufeff"]
        ),
    ),
)
def test_any_value_in_any_cell_gives_records_or_problems(row: int, column: int, value: str) -> None:
    table = [list(r) for r in US_TABLE]
    table[row][column] = value
    out = io.StringIO()
    csv.writer(out).writerows(table)
    parsed = read_money_file("fuzz.csv", out.getvalue().encode(), zone=BERLIN)
    invariants(parsed, "fuzz.csv")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["1e999999999", "-5.00", "12.345", "\ud800", "a\x00b", "SALE", "DEBIT"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
US_PAGE = json.loads((MONEY / "get_transactions_us.json").read_text())
FIELDS = sorted({key for t in US_PAGE["transactions"] for key in t})


def strict_json(text: str) -> bool:
    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        json.loads(text, parse_constant=refuse)
    except ValueError:
        return False
    return True


@settings(max_examples=150, deadline=None)
@given(index=st.integers(0, len(US_PAGE["transactions"]) - 1), key=st.sampled_from(FIELDS), value=JSON_VALUES)
def test_any_json_value_in_any_field_gives_records_or_problems(index: int, key: str, value: Any) -> None:
    raw = json.loads(json.dumps(US_PAGE))
    raw["transactions"][index][key] = value
    text = json.dumps(raw, indent=1)  # NaN and Infinity are written as JSON does not allow
    parsed = read_money_file("fuzz.json", text.encode("utf-8", "surrogatepass"), zone=BERLIN)
    invariants(parsed, "fuzz.json")
    others = {t["transactionId"] for i, t in enumerate(US_PAGE["transactions"]) if i != index}
    if not strict_json(text):  # NaN or Infinity: not JSON, the page is damaged from there on
        assert any("not a number JSON allows" in e.reason for e in parsed.errors)
    else:  # one bad transaction never costs the others
        assert {t.transaction_id for t in parsed.transactions} >= others


# -- amounts as each site writes them -----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(-999_999_999_999, 999_999_999_999), style=st.sampled_from(["en", "de", "fr", "ch"]))
def test_amounts_written_in_any_sites_style_read_back_exactly(cents: int, style: str) -> None:
    value = _cents(cents)
    text = f"{value:,.2f}"
    mark = "."
    if style == "de":
        text, mark = text.replace(",", " ").replace(".", ",").replace(" ", "."), ","
    elif style == "fr":
        text, mark = text.replace(",", "\u202f").replace(".", ","), ","
    elif style == "ch":
        text = text.replace(",", "'")
    assert wordings.amount(text, mark) == (value, None)
    assert wordings.amount(text.replace("-", "\u2212") + " €", mark) == (value, "EUR")
