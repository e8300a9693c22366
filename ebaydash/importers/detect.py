"""Opening an uploaded file: its encoding, its format, and a stream of what it holds.

:func:`scan_file` is the streaming entry point (orders one at a time, memory independent of the
file's size); :func:`read_file` collects a whole file into a :class:`ParsedFile`, for small files
and tests.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Generator
from typing import BinaryIO
from zoneinfo import ZoneInfo

from ebaydash.importers import fulfillment, seller_hub
from ebaydash.importers.encoding import TextSource, Unreadable, decode_error, decode_whole
from ebaydash.importers.money import sniff as money_sniff
from ebaydash.importers.records import NotOrder, ParsedFile, Rejected, RowError
from ebaydash.models import OrderRecord

FORMATS = (fulfillment.FORMAT, seller_hub.FORMAT)
Item = OrderRecord | Rejected | NotOrder
Opener = Callable[[], BinaryIO]

__all__ = ["FORMATS", "FileScan", "Unreadable", "decode", "detect", "read_file", "scan_file"]


def decode(data: bytes) -> str:
    """A whole small file's text, strictly Unicode (:func:`ebaydash.importers.encoding.decode_whole`);
    raises :class:`Unreadable` saying why not. Order files are read by :func:`scan_file` instead,
    which also reads legacy code pages with a note and reports damaged characters by row."""
    return decode_whole(data)


def detect(text: str) -> str:
    """``fulfillment-json``, ``seller-hub-csv``, a money format (``transaction-report-csv``,
    ``finances-transactions-json``, ``finances-payouts-json``) or ``unknown``, from the start of
    the text."""
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


class FileScan:
    """One file, read as a stream. Iterate it for its orders (:class:`OrderRecord`), the orders it
    cannot import (:class:`Rejected`, with every problem) and its rows that are not orders
    (:class:`NotOrder`), in file order. ``info`` holds the file-level facts — its format, file
    problems, warnings, counts, seller id, currency, site — complete once the iteration ends.
    ``bytes_read`` follows the reading, for progress."""

    def __init__(
        self,
        name: str,
        opener: Opener,
        *,
        zone: ZoneInfo,
        default_currency: str = "USD",
        size: int | None = None,
        max_bytes: int | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.name = name
        self.opener = opener
        self.zone = zone
        self.default_currency = default_currency
        self.size = size
        self.max_bytes = max_bytes
        # what an order may not be dated more than a day after; fixed here, so that every
        # reading of one import (checked, then written) judges the dates alike
        self.now = now or dt.datetime.now(dt.UTC)
        self.info = ParsedFile(name=name, format="unknown")
        self._source: TextSource | None = None

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read if self._source is not None else 0

    def __iter__(self) -> Generator[Item, None, None]:  # close() ends a reading early
        info = self.info
        if self.max_bytes is not None and self.size is not None and self.size > self.max_bytes:
            self._unreadable(
                f"the file is {self.size / 2**20:,.1f} MB, more than the import limit of "
                f"{self.max_bytes / 2**20:,.0f} MB (EBAYDASH_IMPORT_MAX_MB); split it into smaller exports"
            )
            return
        with self.opener() as stream:
            try:
                source = self._source = TextSource(stream)
            except Unreadable as exc:
                self._unreadable(str(exc), exc.line)
                return
            info.encoding = source.encoding.codec
            if source.encoding.note:
                info.warnings.append(f"{self.name} {source.encoding.note}")
            if source.repaired is not None:
                info.warnings.append(f"{self.name} {source.repaired.note}")
            if not source.sample.strip("\ufeff \t\r\n\x00"):
                self._unreadable("the file is empty")
                return
            kind = detect(source.sample)
            try:
                if kind == fulfillment.FORMAT:
                    yield from fulfillment.scan(self.name, source, info, now=self.now)
                elif kind == seller_hub.FORMAT:
                    yield from seller_hub.scan(
                        self.name,
                        source,
                        info,
                        zone=self.zone,
                        opener=self.opener,
                        default_currency=self.default_currency,
                        now=self.now,
                    )
                elif kind in money_sniff.MONEY_FORMATS:
                    self._unreadable(
                        f"this is a {money_sniff.FORMAT_LABELS[kind]}: eBay's money records (fees, "
                        "refunds, payouts), not orders; import money files on their own, without "
                        "order files, and they are recognised as such"
                    )
                else:
                    first = next((line.strip() for line in source.sample.splitlines() if line.strip()), "")
                    shown = first if len(first) <= 60 else first[:57] + "..."
                    self._unreadable(
                        "not a file ebaydash can import: expected a Fulfillment API getOrders page (JSON) "
                        "or a Seller Hub Orders report (CSV with an Order Number column), or, on their "
                        "own, eBay's money records (a Seller Hub Transaction report or Finances API "
                        f"pages); its first line reads {shown!r}",
                        1,
                    )
            except UnicodeDecodeError as exc:
                # a legacy code page that stops fitting further down the file
                info.readable = False
                info.errors.append(RowError(self.name, None, None, str(decode_error(exc, source.encoding))))
                return
            if source.repaired is not None and source.repaired.kept:
                info.warnings.append(f"{self.name} {source.repaired.kept_note}")

    def _unreadable(self, reason: str, line: int | None = None) -> None:
        self.info.readable = False
        self.info.errors.append(RowError(self.name, line, None, reason))


def scan_file(
    name: str,
    opener: Opener,
    *,
    zone: ZoneInfo,
    default_currency: str = "USD",
    size: int | None = None,
    max_bytes: int | None = None,
    now: dt.datetime | None = None,
) -> FileScan:
    """A :class:`FileScan` of the file ``opener`` opens (a new binary stream on every call, so a
    file can be read twice: once to check it, once to write it). ``now`` (default: the current
    time, UTC) is what an order may not be dated more than a day after."""
    return FileScan(
        name,
        opener,
        zone=zone,
        default_currency=default_currency,
        size=size,
        max_bytes=max_bytes,
        now=now,
    )


def read_file(
    name: str,
    data: bytes,
    *,
    zone: ZoneInfo,
    default_currency: str = "USD",
    max_bytes: int | None = None,
    now: dt.datetime | None = None,
) -> ParsedFile:
    """Parse one whole file of either format; problems come back in the result, never as exceptions."""
    scan = scan_file(
        name,
        lambda: io.BytesIO(data),
        zone=zone,
        default_currency=default_currency,
        size=len(data),
        max_bytes=max_bytes,
        now=now,
    )
    orders: list[OrderRecord] = []
    errors: list[RowError] = []
    not_orders: list[NotOrder] = []
    for item in scan:
        if isinstance(item, OrderRecord):
            orders.append(item)
        elif isinstance(item, Rejected):
            errors.extend(item.errors)
        else:
            not_orders.append(item)
    parsed = scan.info
    parsed.orders = orders
    parsed.errors = sorted(errors + parsed.errors, key=lambda e: e.line or 0)
    parsed.not_orders = not_orders
    return parsed
