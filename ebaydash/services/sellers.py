"""Seller-facing services: accounts, overview figures, orders. Read through the cache, per account.

Account data is cached in the account's namespace (``acct:{id}``), so an import into one account
invalidates exactly that account's figures. Callers pass ``fresh=True`` to bypass the cache and
repopulate it (the refresh button).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Row

from ebaydash.cache.tiered import cacheable
from ebaydash.context import Context
from ebaydash.db import queries
from ebaydash.db.pagination import Cursor, decode_cursor, encode_cursor, fingerprint
from ebaydash.db.schema import ORDER_STATUSES
from ebaydash.db.types import to_money
from ebaydash.errors import InvalidInput, NotFound
from ebaydash.models import (
    Account,
    Kpi,
    Kpis,
    OrderDetail,
    OrderFilter,
    OrderItem,
    OrderRow,
    OrdersPage,
    TrendPoint,
    Window,
)
from ebaydash.services._measure import measured

PAGE_SIZES = (25, 50, 100)
ZERO = Decimal("0.00")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- accounts -----------------------------------------------------------------------------------


@measured("accounts")
@cacheable("accounts", namespace="global", ttl=60)
def accounts(ctx: Context, *, fresh: bool = False) -> list[Account]:
    return [Account(**row._mapping) for row in queries.list_accounts(ctx.db)]


def default_account(candidates: list[Account], *, now: dt.datetime | None = None) -> Account:
    """The account to show first: the first by name with an order in the last 30 days, so the
    demo opens on a shop that is alive; else simply the first."""
    recent = (now or _now()) - dt.timedelta(days=30)
    for candidate in candidates:
        if candidate.last_order_at is not None and candidate.last_order_at >= recent:
            return candidate
    return candidates[0]


def account(ctx: Context, account_id: int, *, fresh: bool = False) -> Account:
    for candidate in accounts(ctx, fresh=fresh):
        if candidate.id == account_id:
            return candidate
    raise NotFound(f"There is no account with id {account_id}.")


# -- overview -----------------------------------------------------------------------------------


@measured("kpis")
@cacheable("kpis", namespace="acct:{account_id}")
def kpis(ctx: Context, account_id: int, window: Window, *, fresh: bool = False) -> Kpis:
    """The overview's tiles for ``window`` and the same-length window before it.

    Definitions (also shown as help text on the tiles):
    - orders: orders placed in the window, cancelled ones excluded;
    - revenue: their totals minus what was refunded on them;
    - average order value: revenue / orders (0 when there are no orders);
    - unique customers: distinct buyers of those orders;
    - refunds: orders with any refund, and the refunded amount;
    - active listings / products: listings live at the end of the window (or now), and the
      distinct products they sell; the comparison is with the start of the window.
    """
    acct = account(ctx, account_id)
    row = queries.account_kpis(ctx.db, account_id, window, _now())

    def pair(name: str) -> Kpi:
        current, previous = row._mapping[f"{name}_cur"], row._mapping[f"{name}_prev"]
        if isinstance(current, Decimal):
            return Kpi(to_money(current), to_money(previous))
        return Kpi(int(current), int(previous))

    orders, revenue = pair("orders"), pair("revenue")
    aov = Kpi(_average(revenue.current, orders.current), _average(revenue.previous, orders.previous))
    return Kpis(
        account_id=account_id,
        currency=acct.currency,
        window=window,
        orders=orders,
        revenue=revenue,
        average_order_value=aov,
        unique_customers=pair("customers"),
        active_listings=pair("listings"),
        active_products=pair("products"),
        refunds=pair("refunds"),
        refunded_amount=pair("refunded"),
        cancelled=pair("cancelled"),
        as_of=_now(),
    )


def _average(total: Decimal | int, count: Decimal | int) -> Decimal:
    if not count:
        return ZERO
    return to_money(Decimal(total) / Decimal(count))


@measured("trend")
@cacheable("trend", namespace="acct:{account_id}")
def trend(ctx: Context, account_id: int, window: Window, *, fresh: bool = False) -> list[TrendPoint]:
    """Orders and revenue per local day of the account, every day of the window present."""
    acct = account(ctx, account_id)
    rows = queries.revenue_trend(ctx.db, account_id, window, acct.timezone)
    by_day = {_as_date(r.day): r for r in rows}
    first = window.start.astimezone(_zone(acct.timezone)).date()
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(_zone(acct.timezone)).date()
    points = []
    day = first
    while day <= last:
        r = by_day.get(day)
        points.append(TrendPoint(day, int(r.orders) if r else 0, to_money(r.revenue) if r else ZERO))
        day += dt.timedelta(days=1)
    return points


def _zone(tz: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


# -- orders -------------------------------------------------------------------------------------


def validate_filter(flt: OrderFilter) -> OrderFilter:
    unknown = [s for s in flt.statuses if s not in ORDER_STATUSES]
    if unknown:
        raise InvalidInput(f"Unknown order status {unknown[0]!r}; choose from {', '.join(ORDER_STATUSES)}.")
    if flt.search is not None and len(flt.search) > queries.MAX_SEARCH_CHARS:
        raise InvalidInput(f"Search text is limited to {queries.MAX_SEARCH_CHARS} characters.")
    return OrderFilter(
        statuses=tuple(sorted(set(flt.statuses))),
        window=flt.window,
        buyer=(flt.buyer or "").strip() or None,
        search=(flt.search or "").strip() or None,
    )


def _row_to_order(row: Row[Any]) -> OrderRow:
    return OrderRow(
        id=int(row.id),
        ebay_order_id=row.ebay_order_id,
        order_date=row.order_date,
        status=row.status,
        buyer=row.buyer,
        total_amount=row.total_amount,
        refunded_amount=row.refunded_amount,
        currency=row.currency,
        items=int(row.items),
    )


def _sort_value(order: OrderRow, sort: str) -> str:
    spec = queries.SORTS[sort]
    if spec.kind == "datetime":
        return order.order_date.isoformat()
    return str(order.total_amount)


def _parse_sort_value(value: Any, sort: str) -> Any:
    from ebaydash.errors import InvalidCursor

    try:
        if queries.SORTS[sort].kind == "datetime":
            parsed = dt.datetime.fromisoformat(str(value))
            if parsed.tzinfo is None:
                raise ValueError
            return parsed
        return to_money(str(value))
    except (ValueError, ArithmeticError):
        raise InvalidCursor(
            "This page link is no longer valid (it was changed or cut short). Start again from page 1."
        ) from None


@measured("orders_page")
@cacheable("orders_page", namespace="acct:{account_id}", ttl=60)
def orders_page(
    ctx: Context,
    account_id: int,
    flt: OrderFilter,
    *,
    sort: str = "newest",
    cursor: str | None = None,
    page_size: int = 25,
    fresh: bool = False,
) -> OrdersPage:
    """One page of orders, newest first by default; ``cursor`` comes from a previous page."""
    if page_size not in PAGE_SIZES:
        raise InvalidInput(f"Page size must be one of {', '.join(map(str, PAGE_SIZES))}.")
    if sort not in queries.SORTS:
        raise InvalidInput(f"Unknown sort {sort!r}; choose one of {', '.join(queries.SORTS)}.")
    flt = validate_filter(flt)
    print_ = fingerprint({"account": account_id, "filter": _filter_key(flt), "sort": sort})
    after = before = None
    direction = "next"
    if cursor:
        decoded = decode_cursor(cursor, expected_sort=sort, fingerprint=print_)
        boundary = (_parse_sort_value(decoded.values[0], sort), int(decoded.values[-1]))
        direction = decoded.direction
        if direction == "next":
            after = boundary
        else:
            before = boundary
    rows = [
        _row_to_order(r)
        for r in queries.orders_page(
            ctx.db, account_id, flt, sort, after=after, before=before, limit=page_size
        )
    ]
    more = len(rows) > page_size
    if more:
        # the extra row lies beyond the page, on the side we are walking towards
        rows = rows[1:] if direction == "prev" else rows[:-1]

    def token(order: OrderRow, to: str) -> str:
        return encode_cursor(
            Cursor(sort, "next" if to == "next" else "prev", (_sort_value(order, sort), order.id), print_)
        )

    has_next = more if direction == "next" else before is not None
    has_prev = (after is not None) if direction == "next" else more
    return OrdersPage(
        rows=rows,
        next_cursor=token(rows[-1], "next") if rows and has_next else None,
        prev_cursor=token(rows[0], "prev") if rows and has_prev else None,
        page_size=page_size,
        sort=sort,
    )


def _filter_key(flt: OrderFilter) -> dict[str, Any]:
    return {
        "statuses": list(flt.statuses),
        "window": [flt.window.start.isoformat(), flt.window.end.isoformat()] if flt.window else None,
        "buyer": flt.buyer,
        "search": flt.search,
    }


@measured("orders_total")
@cacheable("orders_total", namespace="acct:{account_id}")
def orders_total(ctx: Context, account_id: int, flt: OrderFilter, *, fresh: bool = False) -> int:
    """How many orders match; cached, because counting is the costly part of a listing."""
    return queries.orders_count(ctx.db, account_id, validate_filter(flt))


@measured("order_detail")
@cacheable("order_detail", namespace="acct:{account_id}")
def order_detail(ctx: Context, account_id: int, order_id: int, *, fresh: bool = False) -> OrderDetail:
    row = queries.order_detail(ctx.db, account_id, order_id)
    if row is None:
        raise NotFound(f"Order {order_id} does not exist in this account.")
    items = [
        OrderItem(sku=r.sku, title=r.title, quantity=int(r.quantity), unit_price=r.unit_price)
        for r in queries.order_lines(ctx.db, account_id, order_id)
    ]
    return OrderDetail(
        order=_row_to_order(row), updated_at=row.updated_at, buyer_email=row.buyer_email, items=items
    )


EXPORT_COLUMNS = (
    "order_id",
    "ebay_order_id",
    "order_date",
    "status",
    "buyer",
    "items",
    "total_amount",
    "refunded_amount",
    "currency",
)


def export_orders_csv(
    ctx: Context, account_id: int, flt: OrderFilter, *, sort: str = "newest"
) -> Iterator[str]:
    """CSV text of every matching order, yielded in chunks as rows stream from the database."""
    flt = validate_filter(flt)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for n, row in enumerate(queries.export_orders(ctx.db, account_id, flt, sort), start=1):
        writer.writerow(
            [
                row.id,
                row.ebay_order_id,
                row.order_date.isoformat(),
                row.status,
                row.buyer or "",
                row.items,
                row.total_amount,
                row.refunded_amount,
                row.currency,
            ]
        )
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
