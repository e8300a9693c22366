"""What the parsers produce: validated, normalised orders with their lines, row errors, and rows that
are not orders.

Records carry exact values only: ``Decimal`` money with two places, aware UTC datetimes, statuses
already mapped to :data:`~ebaydash.db.schema.ORDER_STATUSES`. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

# What a source can vouch for beyond the fields every source has (see ebaydash.importers.merge):
# "refunds": its refunded amount is a fact, not a default of 0.00 for "not shown";
# "cancellation": its status would say cancelled or refunded if the order were.
FACTS_ALL = frozenset({"refunds", "cancellation"})


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: the file name and its 1-based line (the order's first line)."""

    file: str
    line: int | None
    raw: str = ""  # the original text of the row or order, for the rejects file


@dataclass(frozen=True, slots=True)
class LineRecord:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    line_item_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order as a file states it.

    ``knows`` names the facts the source vouches for (:data:`FACTS_ALL` for the Fulfillment API; a
    Seller Hub report without refund or status columns knows neither): a fact a source does not
    know never overwrites one stored from a source that does (``ebaydash.importers.merge``).
    ``marketplace`` is the seller's eBay site the order was listed on (``EBAY_US`` …), never the
    buyer's.
    """

    ebay_order_id: str
    status: str
    total_amount: Decimal
    refunded_amount: Decimal
    currency: str
    order_date: dt.datetime
    updated_at: dt.datetime
    lines: tuple[LineRecord, ...]
    buyer: str | None = None
    buyer_email: str | None = None
    seller_id: str | None = None
    marketplace: str | None = None
    source: Source = field(default_factory=lambda: Source("", None), compare=False)
    knows: frozenset[str] = FACTS_ALL


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the input: which file, which line, which field, and why, in plain words.

    ``line`` is ``None`` for problems with the file as a whole; ``field`` is ``None`` when no single
    field is to blame. ``order_id`` names the eBay order when it is known.
    """

    file: str
    line: int | None
    field: str | None
    reason: str
    order_id: str | None = None
    raw: str = ""

    def describe(self) -> str:
        where = self.file + (f", line {self.line}" if self.line is not None else "")
        what = f"{self.field}: " if self.field else ""
        order = f" (order {self.order_id})" if self.order_id else ""
        return f"{where}{order}: {what}{self.reason}"


@dataclass(frozen=True, slots=True)
class NotOrder:
    """A row that is not an order and is not an error either: an unpaid commitment (the buyer never
    checked out, so eBay gave it no order number), a footer, a count or a summary line."""

    file: str
    line: int
    reason: str
    raw: str = ""

    def describe(self) -> str:
        return f"{self.file}, line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """An order (or what should have been one) that cannot be imported, with all its problems."""

    errors: tuple[RowError, ...]


@dataclass
class ParsedFile:
    """One file's outcome: the valid orders, the errors, and how many orders the file held.

    ``orders_found`` counts every order the file holds, valid or not (one per unidentifiable row),
    so ``len(orders) + rejected orders == orders_found``. Rows that are not orders (``not_orders``)
    are counted apart and never in ``orders_found``.
    """

    name: str
    format: str  # "fulfillment-json" | "seller-hub-csv" | "unknown"
    orders: list[OrderRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_orders: list[NotOrder] = field(default_factory=list)
    orders_found: int = 0
    rows_read: int = 0  # data rows (CSV) or orders (JSON) read
    seller_id: str | None = None
    # what the file says it holds: getOrders' "total" (of the whole search, over all pages) or the
    # Seller Hub footer's "N record(s) downloaded"; compared with what was read
    declared_total: int | None = None
    readable: bool = True  # False when the file as a whole could not be read
    # the seller's side of the data, for a new account: the currency of the report's money (or of
    # its site) and the eBay site (``EBAY_DE`` …) told by the header language and the money
    currency: str | None = None
    marketplace: str | None = None
    encoding: str | None = None  # how the bytes were read, e.g. "utf-8", "utf-16", "cp1252"
    delimiter: str | None = None  # CSV only

    @property
    def rejected_orders(self) -> int:
        return self.orders_found - len(self.orders)


FORMAT_LABELS = {
    "fulfillment-json": "Fulfillment API getOrders (JSON)",
    "seller-hub-csv": "Seller Hub Orders report (CSV)",
    "unknown": "not recognised",
}
