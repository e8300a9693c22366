"""eBay's money records: the Seller Hub Transaction report and the Finances API pages.

Pure functions from file bytes to typed records plus problems, with no database access:

- :func:`ebaydash.importers.money.reader.read_money_file` reads one file into a
  :class:`~ebaydash.importers.money.records.MoneyFile` (kept out of this package's namespace so
  that :mod:`ebaydash.importers.detect` can use :mod:`~ebaydash.importers.money.sniff` without an
  import cycle);
- :mod:`~ebaydash.importers.money.records`: :class:`MoneyTransaction`, :class:`MoneyLine`,
  :class:`Payout` and their sign conventions;
- :mod:`~ebaydash.importers.money.fees`: eBay's fee types and the report's fee columns;
- :mod:`~ebaydash.importers.money.checks`: rules across files (one record per transaction id,
  payouts against their transactions).

The storage design these records are shaped for is in ``docs/money-records.md``.
"""

from ebaydash.importers.money.records import (
    BOOKING_ENTRIES,
    MONEY_TYPES,
    MoneyFile,
    MoneyLine,
    MoneyTransaction,
    Payout,
)
from ebaydash.importers.money.sniff import FORMAT_LABELS, MONEY_FORMATS, money_format

__all__ = [
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
