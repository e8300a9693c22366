"""Plain dataclasses the service layer returns and the pages render. No I/O here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
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


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start, end)`` of aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("A date range needs a time zone.")
        if self.end <= self.start:
            raise InvalidInput("The end of the date range must be after its start.")

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    def previous(self) -> Window:
        """The window of the same length that ends where this one starts."""
        return Window(self.start - self.length, self.start)

    @classmethod
    def last_days(cls, days: int, tz: str, today: dt.date | None = None) -> Window:
        """The last ``days`` whole local days including today: stable all day, so cacheable."""
        if days < 1:
            raise InvalidInput("A date range must cover at least one day.")
        zone = ZoneInfo(tz)
        today = today or dt.datetime.now(zone).date()
        return cls.for_dates(today - dt.timedelta(days=days - 1), today, tz)

    @classmethod
    def for_dates(cls, first: dt.date, last: dt.date, tz: str) -> Window:
        """From local midnight of ``first`` to local midnight after ``last``."""
        if last < first:
            raise InvalidInput("The end date must not be before the start date.")
        zone = ZoneInfo(tz)
        start = dt.datetime.combine(first, dt.time(), zone)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
        return cls(start, end)

    @property
    def days(self) -> float:
        return self.length.total_seconds() / 86400


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
    active_listings: Kpi
    active_products: Kpi
    refunds: Kpi
    refunded_amount: Kpi
    cancelled: Kpi
    as_of: dt.datetime


@dataclass(frozen=True)
class TrendPoint:
    bucket: dt.date
    orders: int
    revenue: Decimal


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


@dataclass(frozen=True)
class OrdersPage:
    rows: list[OrderRow]
    next_cursor: str | None
    prev_cursor: str | None
    page_size: int
    sort: str
    total: int | None = None


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
