"""Reading one money file: bytes in, :class:`~ebaydash.importers.money.records.MoneyFile` out.

The file is turned into text as order files are (:func:`ebaydash.importers.detect.decode`),
recognised by its content (:mod:`~ebaydash.importers.money.sniff`) and handed to its parser.
Nothing here touches the database, and no input makes it raise: every problem comes back in the
result with its file, line, field and reason.
"""

from __future__ import annotations

import codecs
from zoneinfo import ZoneInfo

from ebaydash.importers.detect import Unreadable, decode
from ebaydash.importers.money import finances, sniff, transaction_report
from ebaydash.importers.money.records import MoneyFile
from ebaydash.importers.records import RowError


def read_money_file(
    name: str,
    data: bytes,
    *,
    zone: ZoneInfo,
    default_currency: str = "USD",
    max_bytes: int | None = None,
) -> MoneyFile:
    """Parse one Transaction report or Finances API page.

    ``zone`` is the seller's time zone: the report's dates are days in it, and every record's
    ``booked_on`` is the day there. ``default_currency`` is used when a report names no currency.
    """
    if max_bytes is not None and len(data) > max_bytes:
        return _unreadable(
            name,
            f"the file is {len(data) / 2**20:,.1f} MB, more than the import limit of "
            f"{max_bytes / 2**20:,.0f} MB (EBAYDASH_IMPORT_MAX_MB); export a shorter period",
        )
    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        return _unreadable(
            name,
            "the file holds a NUL byte, which no text export does: it is damaged or not a CSV/JSON file",
            line,
        )
    try:
        text = decode(data)
    except Unreadable as exc:
        return _unreadable(name, str(exc), exc.line)
    if not text.strip():
        return _unreadable(name, "the file is empty")
    kind = sniff.money_format(text)
    if kind == sniff.TRANSACTION_REPORT:
        return transaction_report.parse(name, text, zone=zone, default_currency=default_currency)
    if kind == sniff.TRANSACTIONS_JSON:
        return finances.parse_transactions(name, text, zone=zone)
    if kind == sniff.PAYOUTS_JSON:
        return finances.parse_payouts(name, text, zone=zone)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    shown = first if len(first) <= 60 else first[:57] + "..."
    return _unreadable(
        name,
        "not a money file ebaydash can import: expected a Seller Hub Transaction report (CSV with "
        "Transaction creation date, Type and amount columns) or a Finances API getTransactions or "
        f"getPayouts page (JSON); its first line reads {shown!r}",
        1,
    )


def _unreadable(name: str, reason: str, line: int | None = None) -> MoneyFile:
    result = MoneyFile(name=name, format="unknown", readable=False)
    result.errors.append(RowError(name, line, None, reason))
    return result
