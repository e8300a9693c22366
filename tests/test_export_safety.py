"""The CSV export never hands a spreadsheet a formula taken from imported data."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from ebaydash.services.sellers import _csv_chunks, spreadsheet_safe


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1-555", "'+1-555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("alice_smith", "alice_smith"),
        ("12-34567-89012", "12-34567-89012"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(raw: str, safe: str) -> None:
    assert spreadsheet_safe(raw) == safe


def test_export_rows_neutralise_formulas_in_text_columns() -> None:
    class Row:
        id = 1
        ebay_order_id = "=1+1"
        order_date = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
        status = "paid"
        buyer = "@evil"
        items = 2
        total_amount = Decimal("-5.00")
        refunded_amount = Decimal("0.00")
        currency = "USD"

    text = "".join(_csv_chunks(iter([Row()]), "UTC", line_items=False))  # type: ignore[list-item]
    header, row = list(csv.reader(io.StringIO(text)))
    assert row[header.index("ebay_order_id")] == "'=1+1"
    assert row[header.index("buyer")] == "'@evil"
    assert row[header.index("total_amount")] == "-5.00"  # numbers stay numbers
