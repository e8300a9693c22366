"""Recognising money files by their content, apart from order files.

- a Seller Hub **Transaction report** has, within its first lines (after a preamble), a header row
  naming the transaction date, the type and an amount, fee or payout column (in any wording of
  :mod:`~ebaydash.importers.money.wordings`, separated by commas, semicolons or tabs); an Orders
  report never has all three;
- a **getTransactions** page is a JSON object with a ``transactions`` field, a **getPayouts** page
  one with a ``payouts`` field (or a single ``getPayout`` answer: ``payoutId`` and
  ``payoutStatus``); a getOrders page has an ``orders`` field instead (whichever comes first
  decides).

Only the first 64 KiB are looked at. This module imports nothing that reads files, so the order
importers' :func:`~ebaydash.importers.detect.detect` can ask it first.
"""

from __future__ import annotations

import csv
import io
import re

from ebaydash.importers.money import wordings

TRANSACTION_REPORT = "transaction-report-csv"
TRANSACTIONS_JSON = "finances-transactions-json"
PAYOUTS_JSON = "finances-payouts-json"
MONEY_FORMATS: tuple[str, ...] = (TRANSACTION_REPORT, TRANSACTIONS_JSON, PAYOUTS_JSON)
FORMAT_LABELS: dict[str, str] = {
    TRANSACTION_REPORT: "Seller Hub Transaction report (CSV)",
    TRANSACTIONS_JSON: "Finances API getTransactions (JSON)",
    PAYOUTS_JSON: "Finances API getPayouts (JSON)",
}
DELIMITERS = (",", ";", "\t")
HEADER_SEARCH_ROWS = 60
_HEAD = 65536
_KEY = r'(?<!\\)"{}"\s*:'
# columns only a money report has; with the date and type columns they make its header
MONEY_COLUMNS = frozenset(
    {"net", "gross", "payout_id", "payout_date", "payout_currency", "reference_id", "exchange_rate"}
    | {"fvf_fixed", "fvf_variable", "regulatory_fee", "inad_fee", "below_standard_fee", "international_fee"}
)


def money_format(text: str) -> str | None:
    """The money format of ``text`` (one of :data:`MONEY_FORMATS`), or ``None``."""
    head = text[:_HEAD]
    start = head.lstrip()[:1]
    if start == "{":
        return _json_format(head)
    if start == "[":
        return None
    return TRANSACTION_REPORT if find_header(head) is not None else None


def _json_format(head: str) -> str | None:
    positions = {
        key: match.start()
        for key in ("orders", "transactions", "payouts")
        if (match := re.search(_KEY.format(key), head)) is not None
    }
    if positions:
        first = min(positions, key=positions.__getitem__)
        return {"transactions": TRANSACTIONS_JSON, "payouts": PAYOUTS_JSON}.get(first)
    single = re.search(_KEY.format("payoutId"), head) and re.search(_KEY.format("payoutStatus"), head)
    return PAYOUTS_JSON if single and not re.search(_KEY.format("orderId"), head) else None


def find_header(text: str) -> tuple[str, int, list[str]] | None:
    """The delimiter, 0-based record index and cells of the report's header row, or ``None``.

    The header is the first record (of the first :data:`HEADER_SEARCH_ROWS`) naming the date and
    type columns and one only a money report has (:data:`MONEY_COLUMNS`: the net or gross amount,
    a fee, the payout …); of the delimiters that find one, the earliest header wins.
    """
    best: tuple[str, int, list[str]] | None = None
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for index, cells in enumerate(reader):
                if index >= HEADER_SEARCH_ROWS or (best is not None and index >= best[1]):
                    break
                keys = {wordings.LOOKUP.get(wordings.normalise(cell), ("", ""))[0] for cell in cells}
                if {"date", "type"} <= keys and keys & MONEY_COLUMNS:
                    best = (delimiter, index, cells)
                    break
        except csv.Error:
            continue
    return best
