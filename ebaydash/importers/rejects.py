"""The error report as CSV: one row per problem, with the original row or order to fix it from.

Every text cell comes from (or quotes) the imported file, so each is made spreadsheet-safe: a
seller opens this file in Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from ebaydash.importers.records import RowError
from ebaydash.plaintext import spreadsheet_safe

COLUMNS = ("file", "line", "order_id", "field", "reason", "original")


def rejects_csv(errors: Iterable[RowError]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for error in errors:
        writer.writerow(
            [
                spreadsheet_safe(error.file),
                "" if error.line is None else error.line,
                spreadsheet_safe(error.order_id or ""),
                spreadsheet_safe(error.field or ""),
                spreadsheet_safe(error.reason),
                spreadsheet_safe(error.raw),
            ]
        )
    return buffer.getvalue()
