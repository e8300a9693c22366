"""Plain dataclasses: what the service layer returns and the pages render, and the order records
the importers read and the database layer writes. No I/O here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from ebaydash.errors import InvalidInput


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    ebay_user_id: str
    marketplace: str
    currency: str
    timezone: str
    last_order_at: dt.datetime | None = None


def local_today(tz: str) -> dt.date:
    """Today's date on the wall clock of zone ``tz`` (an IANA name): behind UTC in the evening of
    the Americas, ahead of it in the morning of Asia."""
    return dt.datetime.now(ZoneInfo(tz)).date()


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start, end)`` of aware datetimes.

    ``tz`` names the zone whose calendar days the window covers (set by :meth:`for_dates` and
    :meth:`last_days`); :meth:`previous` then steps back whole local days, so a window that
    crosses a DST change is compared with the same number of calendar days, not with a range an
    hour off midnight.
    """

    start: dt.datetime
    end: dt.datetime
    tz: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("A date range needs a time zone.")
        if self.end <= self.start:
            raise InvalidInput("The end of the date range must be after its start.")
        # Kept in UTC: Python subtracts datetimes that share a zone on the wall clock, so a
        # window across a DST change would otherwise be an hour off in ``length``.
        object.__setattr__(self, "start", self.start.astimezone(dt.UTC))
        object.__setattr__(self, "end", self.end.astimezone(dt.UTC))

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    def dates_touched(self, tz: str) -> tuple[dt.date, dt.date]:
        """The first and last local day of zone ``tz`` the window touches (its end is exclusive:
        a window ending at midnight ends on the day before)."""
        zone = ZoneInfo(tz)
        last = (self.end - dt.timedelta(microseconds=1)).astimezone(zone).date()
        return self.start.astimezone(zone).date(), last

    def local_dates(self) -> tuple[dt.date, dt.date] | None:
        """First and last local day when the window is whole days of ``tz``; else ``None``."""
        if self.tz is None:
            return None
        zone = ZoneInfo(self.tz)
        start, end = self.start.astimezone(zone), self.end.astimezone(zone)
        if start.timetz().replace(tzinfo=None) != dt.time() or end.timetz().replace(tzinfo=None) != dt.time():
            return None
        return start.date(), end.date() - dt.timedelta(days=1)

    def previous(self) -> Window:
        """The window of the same length that ends where this one starts (the same number of
        local days, for a window of whole days)."""
        dates = self.local_dates()
        if dates is not None and self.tz is not None:
            first, last = dates
            days = (last - first).days + 1
            return Window.for_dates(first - dt.timedelta(days=days), first - dt.timedelta(days=1), self.tz)
        return Window(self.start - self.length, self.start, self.tz)

    @classmethod
    def last_days(cls, days: int, tz: str, today: dt.date | None = None) -> Window:
        """The last ``days`` whole local days including today: stable all day, so cacheable."""
        if days < 1:
            raise InvalidInput("A date range must cover at least one day.")
        today = today or local_today(tz)
        return cls.for_dates(today - dt.timedelta(days=days - 1), today, tz)

    @classmethod
    def month_so_far(cls, tz: str, today: dt.date | None = None) -> Window:
        """This calendar month of zone ``tz`` up to and including today (local days): the
        sidebar's "This month" and the window refresh-ahead computes for it, built here once so
        both are equal and share cache keys."""
        today = today or local_today(tz)
        return cls.for_dates(today.replace(day=1), today, tz)

    @classmethod
    def for_dates(cls, first: dt.date, last: dt.date, tz: str) -> Window:
        """From local midnight of ``first`` to local midnight after ``last``."""
        if last < first:
            raise InvalidInput("The end date must not be before the start date.")
        zone = ZoneInfo(tz)
        start = dt.datetime.combine(first, dt.time(), zone)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
        return cls(start, end, tz)

    @property
    def days(self) -> float:
        return self.length.total_seconds() / 86400


Granularity = Literal["day", "week"]
WEEKLY_AFTER_DAYS = 90  # longer windows are drawn per week: 365 daily bars are unreadable


def granularity_for(window: Window) -> Granularity:
    # rounded: a window of whole local days across a DST change is an hour off whole days
    return "week" if round(window.days) > WEEKLY_AFTER_DAYS else "day"


@dataclass(frozen=True)
class Kpi:
    """A figure for the window and for the previous window of the same length."""

    current: Decimal | int
    previous: Decimal | int

    @property
    def change(self) -> Decimal | int:
        return self.current - self.previous

    @property
    def change_pct(self) -> float | None:
        """Relative change, or ``None`` when there is nothing to compare with."""
        if not self.previous:
            return None
        return float((Decimal(self.current) - Decimal(self.previous)) / Decimal(self.previous))


@dataclass(frozen=True)
class Kpis:
    account_id: int
    currency: str
    window: Window
    orders: Kpi
    revenue: Kpi
    average_order_value: Kpi
    unique_customers: Kpi
    active_listings: Kpi | None  # None: unknown (no listing imported for the account)
    active_products: Kpi | None
    refunds: Kpi
    refunded_amount: Kpi
    cancelled: Kpi
    as_of: dt.datetime


@dataclass(frozen=True)
class TrendPoint:
    """Orders and net revenue of one local day, or of the week starting that Monday."""

    bucket: dt.date
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class Trend:
    granularity: Granularity
    points: list[TrendPoint]

    @property
    def empty(self) -> bool:
        return not any(p.orders for p in self.points)


@dataclass(frozen=True)
class TopProduct:
    sku: str
    title: str
    units: int
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class TopBuyer:
    customer_id: int
    username: str
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class StatusCount:
    status: str
    orders: int
    amount: Decimal


@dataclass(frozen=True)
class Overview:
    """Everything the overview page shows, for one account and window."""

    kpis: Kpis
    trend: Trend
    top_by_revenue: list[TopProduct]
    top_by_units: list[TopProduct]
    top_buyers: list[TopBuyer]
    status_mix: list[StatusCount]


@dataclass(frozen=True)
class MoneyKpi:
    """A money figure for the window and the previous one; ``None`` means unknown (no money
    record or cost covers that window), never 0. ``reason`` says why the current one is unknown."""

    current: Decimal | None
    previous: Decimal | None
    reason: str | None = None

    @property
    def change(self) -> Decimal | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


@dataclass(frozen=True)
class FeeTypeAmount:
    """Fees of one eBay fee type (FeeTypeEnum code) in the window and the previous one."""

    fee_type: str
    label: str
    group: str
    current: Decimal
    previous: Decimal


@dataclass(frozen=True)
class ProfitFigures:
    """The profit tiles of an account for a window (README "Figures"), in its currency.

    Fees, ad spend and shipping labels are positive costs; net proceeds is what eBay pays out for
    the window's transactions; margin is a percentage (profit ÷ sales × 100, two places)."""

    account_id: int
    currency: str
    window: Window
    transactions: tuple[int, int]
    sales: MoneyKpi
    fees: MoneyKpi
    ad_spend: MoneyKpi
    shipping_labels: MoneyKpi
    net_proceeds: MoneyKpi
    cost_of_goods: MoneyKpi
    profit: MoneyKpi
    margin: MoneyKpi
    fees_by_type: tuple[FeeTypeAmount, ...]
    skus_without_cost: tuple[str, ...]
    sales_without_units: int
    money_imported: bool = True  # False: the account has no money record at all (import hint)


@dataclass(frozen=True)
class ProductProfit:
    """One SKU's profit in the window: line revenue − fees on its lines − cost of goods (None
    when a unit has no cost)."""

    sku: str
    title: str
    units: int
    revenue: Decimal
    fees: Decimal
    cost_of_goods: Decimal | None
    profit: Decimal | None


@dataclass(frozen=True)
class PayoutSummary:
    """One payout beside the transactions that name it: ``difference = amount − transactions_net``
    (0 when they match)."""

    payout_id: str
    paid_on: dt.date
    amount: Decimal
    currency: str
    status: str | None
    transactions: int
    transactions_net: Decimal
    difference: Decimal


@dataclass(frozen=True)
class PayoutTransaction:
    """One transaction paid out in a payout: gross and fees in the transaction currency, net in
    the payout currency, with the exchange rate eBay applied (None: same currency)."""

    transaction_id: str
    type: str
    booked_on: dt.date
    order_id: str | None
    gross: Decimal
    fees: Decimal
    net: Decimal
    currency: str
    payout_currency: str
    exchange_rate: Decimal | None


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[str, ...] = ()
    window: Window | None = None
    buyer: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class OrderRow:
    id: int
    ebay_order_id: str
    order_date: dt.datetime
    status: str
    buyer: str | None
    total_amount: Decimal
    refunded_amount: Decimal
    currency: str
    items: int

    @property
    def net_amount(self) -> Decimal:
        return self.total_amount - self.refunded_amount


@dataclass(frozen=True)
class OrdersPage:
    rows: list[OrderRow]
    next_cursor: str | None
    prev_cursor: str | None
    page_size: int
    sort: str
    first_row: int = 1  # 1-based position of the page's first row in the listing

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1


@dataclass(frozen=True)
class OrderItem:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class OrderDetail:
    order: OrderRow
    updated_at: dt.datetime
    buyer_email: str | None
    items: list[OrderItem] = field(default_factory=list)

    @property
    def items_total(self) -> Decimal:
        return sum((item.line_total for item in self.items), Decimal("0.00"))

    @property
    def other_amount(self) -> Decimal:
        """Shipping, tax and anything else the order total holds beyond its lines."""
        return self.order.total_amount - self.items_total


# -- orders read from a seller's files, for the database to write -------------------------------
#
# The importers make these and the database layer writes them (ebaydash.db.upsert). They carry
# exact values only: ``Decimal`` money with two places, aware UTC datetimes, statuses already
# mapped to :data:`~ebaydash.db.schema.ORDER_STATUSES`.


# What a source can vouch for beyond the fields every source has (see ebaydash.db.upsert.precedence):
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
    know never overwrites one stored from a source that does (``ebaydash.db.upsert.precedence``).
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
