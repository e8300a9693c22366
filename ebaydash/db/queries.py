"""ALL the SQL: one function per query, bound parameters only, allow-listed sorts and filters.

Each function runs exactly one statement through :class:`~ebaydash.db.engine.Database` (so it has
a time limit and is measured) and aggregates in the database: nothing here pulls a table into
Python to sum it.

Account metrics never join orders to listings or products in one FROM: those joins fan out and
multiply sums. Each table is aggregated in its own one-row subquery and the rows are then combined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy import Date as SADate
from sqlalchemy.engine import Row

from ebaydash.db.engine import Database
from ebaydash.db.schema import accounts, customers, listings, order_items, orders
from ebaydash.db.types import Money, UTCDateTime
from ebaydash.errors import InvalidInput
from ebaydash.models import OrderFilter, Window

o = orders.c

# -- accounts -----------------------------------------------------------------------------------


def list_accounts(db: Database) -> Sequence[Row[Any]]:
    # one index probe per account on (account_id, order_date)
    last_order = select(func.max(o.order_date)).where(o.account_id == accounts.c.id).scalar_subquery()
    stmt = select(
        accounts.c.id,
        accounts.c.name,
        accounts.c.ebay_user_id,
        accounts.c.marketplace,
        accounts.c.currency,
        accounts.c.timezone,
        type_coerce(last_order, UTCDateTime).label("last_order_at"),
    ).order_by(accounts.c.name)
    return db.fetch_all("list_accounts", stmt)


def get_account(db: Database, account_id: int) -> Row[Any] | None:
    stmt = select(accounts).where(accounts.c.id == account_id)
    return db.fetch_one("get_account", stmt)


# -- KPIs ---------------------------------------------------------------------------------------


def _money_sum(condition: ColumnElement[bool], amount: ColumnElement[Any]) -> ColumnElement[Any]:
    """SUM of ``amount`` where ``condition`` holds, 0 (not NULL) when nothing matches."""
    total = func.sum(case((condition, amount)))
    return type_coerce(func.coalesce(total, literal(0)), Money)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _live_at(moment: dt.datetime) -> ColumnElement[bool]:
    """A listing that was live (started, not yet ended) at ``moment``."""
    return and_(
        listings.c.started_at <= moment,
        or_(listings.c.ended_at.is_(None), listings.c.ended_at > moment),
    )


def account_kpis(db: Database, account_id: int, window: Window, now: dt.datetime) -> Row[Any]:
    """Orders, revenue, customers, refunds, listings and products for ``window`` and the window of
    the same length before it, in one statement and one round trip."""
    previous = window.previous()
    current_in = and_(o.order_date >= window.start, o.order_date < window.end)
    previous_in = and_(o.order_date >= previous.start, o.order_date < previous.end)
    counted = o.status != "cancelled"
    net = type_coerce(o.total_amount - o.refunded_amount, Money)

    def order_figures(period: ColumnElement[bool], suffix: str) -> list[ColumnElement[Any]]:
        live = and_(period, counted)
        return [
            _count_if(live).label(f"orders_{suffix}"),
            _money_sum(live, net).label(f"revenue_{suffix}"),
            func.count(func.distinct(case((live, o.customer_id)))).label(f"customers_{suffix}"),
            _count_if(and_(live, o.refunded_amount > 0)).label(f"refunds_{suffix}"),
            _money_sum(live, o.refunded_amount).label(f"refunded_{suffix}"),
            _count_if(and_(period, o.status == "cancelled")).label(f"cancelled_{suffix}"),
        ]

    order_agg = (
        select(*order_figures(current_in, "cur"), *order_figures(previous_in, "prev"))
        .where(o.account_id == account_id, o.order_date >= previous.start, o.order_date < window.end)
        .subquery("order_agg")
    )
    # Listings "now" are those live at the end of the window (or now, if the window is still open),
    # and "before" those live when the window started.
    end_moment = min(window.end, now)
    listing_agg = (
        select(
            _count_if(_live_at(end_moment)).label("listings_cur"),
            _count_if(_live_at(window.start)).label("listings_prev"),
            func.count(func.distinct(case((_live_at(end_moment), listings.c.product_id)))).label(
                "products_cur"
            ),
            func.count(func.distinct(case((_live_at(window.start), listings.c.product_id)))).label(
                "products_prev"
            ),
        )
        .where(listings.c.account_id == account_id)
        .subquery("listing_agg")
    )
    # both subqueries return exactly one row, so this join cannot fan out
    stmt = select(order_agg, listing_agg).select_from(order_agg.join(listing_agg, true()))
    row = db.fetch_one("account_kpis", stmt)
    assert row is not None  # aggregates without GROUP BY always return one row
    return row


# -- trends -------------------------------------------------------------------------------------


def local_day(column: ColumnElement[Any], tz: str, backend: str) -> ColumnElement[Any]:
    """The calendar day of a UTC timestamp in zone ``tz``, computed in the database."""
    if backend == "sqlite":
        # registered by the engine on connect: exact zone rules, DST included
        return type_coerce(func.ebaydash_local_date(column, tz), SADate())
    return cast(func.timezone(tz, column), SADate)


def revenue_trend(db: Database, account_id: int, window: Window, tz: str) -> Sequence[Row[Any]]:
    """Orders and net revenue per local day inside ``window`` (cancelled orders excluded)."""
    day = local_day(o.order_date, tz, db.backend).label("day")
    stmt = (
        select(
            day,
            func.count().label("orders"),
            type_coerce(func.sum(o.total_amount - o.refunded_amount), Money).label("revenue"),
        )
        .where(
            o.account_id == account_id,
            o.order_date >= window.start,
            o.order_date < window.end,
            o.status != "cancelled",
        )
        .group_by(day)
        .order_by(day)
    )
    return db.fetch_all("revenue_trend", stmt)


# -- orders listing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SortSpec:
    column: Any
    descending: bool
    kind: Literal["datetime", "money"]


SORTS: dict[str, SortSpec] = {
    "newest": SortSpec(o.order_date, True, "datetime"),
    "oldest": SortSpec(o.order_date, False, "datetime"),
    "amount_high": SortSpec(o.total_amount, True, "money"),
    "amount_low": SortSpec(o.total_amount, False, "money"),
}

MAX_SEARCH_CHARS = 200


def _filtered(account_id: int, flt: OrderFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [o.account_id == account_id]
    if flt.statuses:
        conditions.append(o.status.in_(flt.statuses))
    if flt.window is not None:
        conditions.append(o.order_date >= flt.window.start)
        conditions.append(o.order_date < flt.window.end)
    if flt.buyer:
        conditions.append(
            o.customer_id.in_(
                select(customers.c.id).where(
                    customers.c.account_id == account_id,
                    customers.c.ebay_username.icontains(flt.buyer, autoescape=True),
                )
            )
        )
    if flt.search:
        if len(flt.search) > MAX_SEARCH_CHARS:
            raise InvalidInput(f"Search text is limited to {MAX_SEARCH_CHARS} characters.")
        items = order_items.c
        conditions.append(
            or_(
                o.ebay_order_id.icontains(flt.search, autoescape=True),
                exists().where(
                    items.order_id == o.id,
                    or_(
                        items.sku.icontains(flt.search, autoescape=True),
                        items.title.icontains(flt.search, autoescape=True),
                    ),
                ),
            )
        )
    return conditions


def _order_columns() -> list[Any]:
    item_count = (
        select(func.coalesce(func.sum(order_items.c.quantity), 0))
        .where(order_items.c.order_id == o.id)
        .scalar_subquery()
    )
    return [
        o.id,
        o.ebay_order_id,
        o.order_date,
        o.status,
        customers.c.ebay_username.label("buyer"),
        o.total_amount,
        o.refunded_amount,
        o.currency,
        item_count.label("items"),
    ]


def orders_page(
    db: Database,
    account_id: int,
    flt: OrderFilter,
    sort: str,
    *,
    after: tuple[Any, int] | None,
    before: tuple[Any, int] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Up to ``limit + 1`` orders in ``sort`` order; the extra row tells the caller whether another
    page exists. ``after``/``before`` are the (sort value, id) of the boundary row (keyset
    pagination: as fast at page 10,000 as at page 1, and stable while new orders arrive).
    Rows come back in display order either way."""
    spec = SORTS.get(sort)
    if spec is None:
        raise InvalidInput(f"Unknown sort {sort!r}; choose one of {', '.join(SORTS)}.")
    conditions = _filtered(account_id, flt)
    key = tuple_(spec.column, o.id)
    backwards = before is not None
    boundary = before if backwards else after
    if boundary is not None:
        value_type = UTCDateTime() if spec.kind == "datetime" else Money()
        bound = tuple_(literal(boundary[0], value_type), literal(boundary[1]))
        # walking forward in a descending sort means smaller keys; backwards means larger
        smaller = spec.descending != backwards
        conditions.append(key < bound if smaller else key > bound)
    ascending = spec.descending == backwards
    ordering = [spec.column.asc(), o.id.asc()] if ascending else [spec.column.desc(), o.id.desc()]
    stmt = (
        select(*_order_columns())
        .select_from(orders.outerjoin(customers, customers.c.id == o.customer_id))
        .where(*conditions)
        .order_by(*ordering)
        .limit(limit + 1)
    )
    rows = db.fetch_all("orders_page", stmt)
    return list(reversed(rows)) if backwards else rows


def orders_count(db: Database, account_id: int, flt: OrderFilter) -> int:
    stmt = select(func.count()).select_from(orders).where(*_filtered(account_id, flt))
    row = db.fetch_one("orders_count", stmt)
    return int(row[0]) if row else 0


def order_detail(db: Database, account_id: int, order_id: int) -> Row[Any] | None:
    stmt = (
        select(*_order_columns(), o.updated_at, customers.c.email.label("buyer_email"))
        .select_from(orders.outerjoin(customers, customers.c.id == o.customer_id))
        .where(o.account_id == account_id, o.id == order_id)
    )
    return db.fetch_one("order_detail", stmt)


def order_lines(db: Database, account_id: int, order_id: int) -> Sequence[Row[Any]]:
    items = order_items.c
    stmt = (
        select(items.sku, items.title, items.quantity, items.unit_price)
        .select_from(order_items.join(orders, orders.c.id == items.order_id))
        .where(o.account_id == account_id, items.order_id == order_id)
        .order_by(items.id)
    )
    return db.fetch_all("order_lines", stmt)


def export_orders(db: Database, account_id: int, flt: OrderFilter, sort: str) -> Iterator[Row[Any]]:
    """Every order matching ``flt``, streamed with a server-side cursor."""
    spec = SORTS.get(sort) or SORTS["newest"]
    ordering = [spec.column.desc(), o.id.desc()] if spec.descending else [spec.column.asc(), o.id]
    stmt = (
        select(*_order_columns())
        .select_from(orders.outerjoin(customers, customers.c.id == o.customer_id))
        .where(*_filtered(account_id, flt))
        .order_by(*ordering)
    )
    return db.stream("export_orders", stmt)


def order_count_total(db: Database) -> int:
    row = db.fetch_one("order_count_total", select(func.count()).select_from(orders))
    return int(row[0]) if row else 0


# -- order writes (the cached order repository) -------------------------------------------------


def update_order_status(db: Database, account_id: int, order_id: int, status: str, now: dt.datetime) -> bool:
    """Set one order's status (and ``updated_at``); False when the account has no such order."""
    stmt = (
        orders.update()
        .where(o.account_id == account_id, o.id == order_id)
        .values(status=status, updated_at=now)
    )
    with db.transaction() as conn:
        return conn.execute(stmt).rowcount == 1
