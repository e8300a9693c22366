"""Which character separates a CSV report's fields: ``,`` (eBay), ``;`` (Excel in most of Europe),
tab (Excel's "Unicode Text") or ``|``.

The stdlib :class:`csv.Sniffer`, limited to those four, proposes; the proposal stands when it splits
a header row naming an order-number column. Otherwise each candidate is tried and the one whose
header row names the most known columns wins (Sniffer guesses from character frequencies and can be
misled by titles full of commas; a header we recognise cannot). An Excel ``sep=;`` first line
settles it outright.
"""

from __future__ import annotations

import csv
import io
import re

from ebaydash.importers import headers

CANDIDATES = ",;\t|"
HEADER_SEARCH_ROWS = 30  # a header row further down than this is not a Seller Hub report
_SEP_LINE = re.compile(r"\s*sep=(?P<sep>.)\s*$", re.IGNORECASE)
_ORDER_KEYS = ("order_id", "sales_record")


def excel_separator(line: str) -> str | None:
    """The separator an Excel ``sep=X`` line names, else ``None``."""
    match = _SEP_LINE.match(line.strip("\r\n\ufeff"))
    return match["sep"] if match else None


def detect(sample: str) -> str:
    """The field separator of a CSV text starting with ``sample`` (``,`` when nothing tells)."""
    first = next((line for line in sample.splitlines() if line.strip()), "")
    stated = excel_separator(first)
    if stated is not None:
        return stated
    try:
        proposed: str | None = csv.Sniffer().sniff(sample[:65536], delimiters=CANDIDATES).delimiter
    except csv.Error:
        proposed = None
    scores = {d: header_score(sample, d) for d in CANDIDATES}
    if proposed is not None and scores.get(proposed, 0) > 0 and scores[proposed] == max(scores.values()):
        return proposed
    best = max(CANDIDATES, key=lambda d: (scores[d], d == ","))
    if scores[best] > 0:
        return best
    return proposed or ","


def header_score(sample: str, delimiter: str) -> int:
    """How many known columns the header row has when split by ``delimiter`` (0: no header row
    naming an order number within the first rows)."""
    reader = csv.reader(io.StringIO(sample[:65536], newline=""), delimiter=delimiter)
    try:
        for n, row in enumerate(reader):
            if n >= HEADER_SEARCH_ROWS:
                break
            fields = [headers.field_of(cell) for cell in row]
            if any(f in _ORDER_KEYS for f in fields):
                return len({f for f in fields if f is not None})
    except csv.Error:
        return 0
    return 0
