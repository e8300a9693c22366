"""Turning the bytes of an uploaded file into text and choosing its parser."""

from __future__ import annotations

import codecs
from zoneinfo import ZoneInfo

from ebaydash.importers import fulfillment, seller_hub
from ebaydash.importers.money import sniff as money_sniff
from ebaydash.importers.records import ParsedFile, RowError

FORMATS = (fulfillment.FORMAT, seller_hub.FORMAT)


class Unreadable(Exception):
    """The file cannot be turned into text; ``str()`` says why, for the seller."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line


def decode(data: bytes) -> str:
    """UTF-8 with or without a byte-order mark, or UTF-16 with one (Excel's "Unicode text")."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise Unreadable("the file claims to be UTF-16 text but is not") from None
    if b"\x00" in data[:65536]:
        raise Unreadable("this is a binary file, not a CSV or JSON export")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise Unreadable(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "export it again, or save it as CSV UTF-8",
            line,
        ) from None
    if "\x00" in text:
        raise Unreadable("this is a binary file, not a CSV or JSON export")
    return text


def detect(text: str) -> str:
    """``fulfillment-json``, ``seller-hub-csv``, a money format (``transaction-report-csv``,
    ``finances-transactions-json``, ``finances-payouts-json``) or ``unknown``."""
    # money files first: a getTransactions page is JSON too, and a Transaction report has an
    # "Order number" column
    money = money_sniff.money_format(text)
    if money is not None:
        return money
    if fulfillment.looks_like(text):
        return fulfillment.FORMAT
    if seller_hub.looks_like(text):
        return seller_hub.FORMAT
    return "unknown"


def read_file(
    name: str,
    data: bytes,
    *,
    zone: ZoneInfo,
    default_currency: str = "USD",
    max_bytes: int | None = None,
) -> ParsedFile:
    """Parse one file of either format; problems come back in the result, never as exceptions."""
    if max_bytes is not None and len(data) > max_bytes:
        return _unreadable(
            name,
            f"the file is {len(data) / 2**20:,.1f} MB, more than the import limit of "
            f"{max_bytes / 2**20:,.0f} MB (EBAYDASH_IMPORT_MAX_MB); split it into smaller exports",
        )
    try:
        text = decode(data)
    except Unreadable as exc:
        return _unreadable(name, str(exc), exc.line)
    if not text.strip():
        return _unreadable(name, "the file is empty")
    kind = detect(text)
    if kind == fulfillment.FORMAT:
        return fulfillment.parse(name, text)
    if kind == seller_hub.FORMAT:
        return seller_hub.parse(name, text, zone=zone, default_currency=default_currency)
    if kind in money_sniff.MONEY_FORMATS:
        return _unreadable(
            name,
            f"this is a {money_sniff.FORMAT_LABELS[kind]}: eBay's money records (fees, refunds, "
            "payouts), not orders; import orders from a Seller Hub Orders report or getOrders pages",
        )
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    shown = first if len(first) <= 60 else first[:57] + "..."
    return _unreadable(
        name,
        "not a file ebaydash can import: expected a Fulfillment API getOrders page (JSON) or a "
        f"Seller Hub Orders report (CSV with an Order Number column); its first line reads {shown!r}",
        1,
    )


def _unreadable(name: str, reason: str, line: int | None = None) -> ParsedFile:
    result = ParsedFile(name=name, format="unknown", readable=False)
    result.errors.append(RowError(name, line, None, reason))
    return result
