"""The error report as CSV: one row per problem, with the original row or order to fix it from."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from ebaydash.importers.records import RowError

COLUMNS = ("file", "line", "order_id", "field", "reason", "original")


def rejects_csv(errors: Iterable[RowError]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for error in errors:
        writer.writerow(
            [
                error.file,
                "" if error.line is None else error.line,
                error.order_id or "",
                error.field or "",
                error.reason,
                error.raw,
            ]
        )
    return buffer.getvalue()
