"""What a parser makes of one file: the valid orders (:class:`~ebaydash.models.OrderRecord`, a
model the database layer writes), the row errors, the rows that are not orders, and what the file
says about itself. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ebaydash.models import OrderRecord


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
    # its site) and the eBay site (``EBAY_DE`` …) told by the header language and the money, or the
    # API's listing site; ``None`` when the file does not tell it (a new account then takes the
    # site's zone only from a file that does)
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
