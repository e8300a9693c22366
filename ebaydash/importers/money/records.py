"""What the money parsers produce: normalised transactions and payouts, and the file's outcome.

One :class:`MoneyTransaction` per eBay transaction id, whichever file it came from. Both the
Seller Hub Transaction report and the Finances API pages normalise to the same shape, so the same
sale read from either compares equal (``==``). Fields only one source can carry (the exact time,
the buyer's name, a line's SKU on a sale read from the API …) are kept but left out of the
comparison (``compare=False``), as :class:`~ebaydash.models.OrderRecord` does with its
source.

Sign conventions (all amounts exact ``Decimal`` with two places):

- ``gross`` and ``net`` are seen from the seller's balance: positive is money in, negative money
  out. A sale is positive, a refund, a shipping label or an ad fee negative.
- ``fees`` are positive when they cost the seller and negative when eBay credits them back (the
  final value fee returned with a refund, an ad fee refunded). Charity donations are kept among
  them as ``CHARITY_DONATION`` because they, too, come off the proceeds; :data:`FEE_GROUPS` says
  which codes are fees proper.
- Always ``net == gross - sum(fees)`` in one currency; with a currency conversion,
  ``net ≈ (gross - sum(fees)) × exchange_rate`` to the cent per converted amount.
- ``gross`` and ``fees`` are in the transaction ``currency`` (what the buyer paid in), ``net`` in
  the ``payout_currency``; ``exchange_rate`` converts the first into the second and is ``None``
  when they are the same currency.
- ``Payout.amount`` is positive: what eBay sent to the seller's bank.

Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from ebaydash.importers.records import RowError
from ebaydash.models import Source

ZERO = Decimal("0.00")

# Our vocabulary for transaction types: eBay's TransactionTypeEnum (Finances API) in lower case,
# plus the types only the Seller Hub report shows, plus "other" for a type we do not know.
MONEY_TYPES: tuple[str, ...] = (
    "sale",
    "refund",
    "credit",
    "dispute",
    "claim",
    "non_sale_charge",
    "shipping_label",
    "transfer",
    "balance_transfer",
    "adjustment",
    "withdrawal",
    "loan_repayment",
    "purchase",
    "hold",
    "charge",
    "other",
)
BOOKING_ENTRIES: tuple[str, ...] = ("CREDIT", "DEBIT")  # eBay's BookingEntryEnum

Fees = tuple[tuple[str, Decimal], ...]
"""Amounts by fee type code, sorted by code, without zero entries (see :func:`fee_tuple`)."""


def fee_tuple(fees: dict[str, Decimal]) -> Fees:
    """The canonical form of a fee mapping: sorted by code, zero amounts dropped (a report's
    ``0.00`` and an API's missing fee mean the same)."""
    return tuple(sorted((code, amount) for code, amount in fees.items() if amount != 0))


@dataclass(frozen=True, slots=True)
class MoneyLine:
    """One order line of a transaction and the fees eBay charged (or credited) on it.

    ``line_item_id`` is eBay's ``orderLineItems[].lineItemId``, which the Seller Hub report shows
    as "Transaction ID". The item, SKU, title and quantity are shown by the report but not by
    ``getTransactions`` (they come with the order), so they are not compared.
    """

    line_item_id: str | None
    fees: Fees = ()
    item_id: str | None = field(default=None, compare=False)
    sku: str | None = field(default=None, compare=False)
    title: str | None = field(default=None, compare=False)
    quantity: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MoneyTransaction:
    """One eBay monetary transaction, normalised (conventions in the module docstring).

    ``transaction_id`` is eBay's: for a sale it is the order number (``getTransactions`` gives a
    SALE the order's id as its ``transactionId``); for other types the report's "Reference ID".
    ``booked_on`` is the calendar day in the seller's time zone, which both sources know;
    ``transaction_date`` is the aware UTC instant when the source has the time (the API does),
    else the start of ``booked_on`` (``time_known`` False).
    """

    transaction_id: str
    type: str  # one of MONEY_TYPES
    booking_entry: str  # CREDIT (net >= 0) or DEBIT
    booked_on: dt.date
    gross: Decimal
    fees: Fees
    net: Decimal
    currency: str
    payout_currency: str
    exchange_rate: Decimal | None = None
    order_id: str | None = None
    payout_id: str | None = None
    lines: tuple[MoneyLine, ...] = ()
    transaction_date: dt.datetime = field(default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC), compare=False)
    time_known: bool = field(default=False, compare=False)
    ebay_type: str = field(default="", compare=False)  # as eBay wrote it: "SALE", "Order", "Bestellung"
    status: str | None = field(default=None, compare=False)  # transactionStatus / "Payout status"
    item_id: str | None = field(default=None, compare=False)  # the listing an ad fee is for
    buyer: str | None = field(default=None, compare=False)
    memo: str | None = field(default=None, compare=False)  # transactionMemo / "Description"
    ebay_collected_tax: Decimal | None = field(default=None, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)
    source: Source = field(default_factory=lambda: Source("", None), compare=False)

    @property
    def fee_total(self) -> Decimal:
        return sum((amount for _, amount in self.fees), ZERO)

    def fee(self, code: str) -> Decimal:
        """The amount of one fee type, ``0.00`` when the transaction has none of it."""
        return next((amount for c, amount in self.fees if c == code), ZERO)


@dataclass(frozen=True, slots=True)
class Payout:
    """One payout from eBay to the seller's bank (``getPayouts``, or a report's "Payout" row).

    ``status`` is eBay's PayoutStatusEnum (``SUCCEEDED`` …); the report's wording ("Funds sent")
    is mapped onto it. ``paid_on`` is the day in the seller's time zone; ``payout_date`` the
    instant when known.
    """

    payout_id: str
    amount: Decimal
    currency: str
    paid_on: dt.date
    status: str | None = field(default=None, compare=False)
    payout_date: dt.datetime = field(default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC), compare=False)
    time_known: bool = field(default=False, compare=False)
    instrument: str | None = field(default=None, compare=False)  # e.g. "BANK Checking ••••1234"
    transaction_count: int | None = field(default=None, compare=False)
    fee: Decimal | None = field(default=None, compare=False)  # totalFee (express payout fee)
    source: Source = field(default_factory=lambda: Source("", None), compare=False)


@dataclass
class MoneyFile:
    """One money file's outcome: its valid transactions and payouts, and every problem.

    ``records_found`` counts every transaction and payout the file holds, valid or not, so
    ``len(transactions) + len(payouts) + rejected == records_found``.
    """

    name: str
    format: str  # one of MONEY_FORMATS, or "unknown"
    transactions: list[MoneyTransaction] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    records_found: int = 0
    rows_read: int = 0  # data rows (CSV) or list elements (JSON)
    seller_id: str | None = None
    declared_total: int | None = None  # a page's "total" (of the whole search)
    readable: bool = True

    @property
    def rejected(self) -> int:
        return self.records_found - len(self.transactions) - len(self.payouts)
