"""The overview's statements through the rollups (:mod:`ebaydash.db.rollups`): each returns the
rows of the statement of the same name in :mod:`ebaydash.db.queries`, exactly, for any window.

The window is cut at the local midnights of the account's zone (:func:`ebaydash.db.rollups.split`):
its whole days are read from the rollups, the partial days at its edges from the orders, and the
pieces are summed (an order lies in exactly one piece). Distinct customers do not sum across days:
for whole days they are read from the customers' previous purchase days (see
:mod:`ebaydash.db.rollups`), and counted on the orders' covering index when a window has a partial
day. Top buyers, whose per-buyer sums do not add up across days either, read the customers in
descending order of what they could at most have spent and stop early when that settles the list.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy import Date as SADate
from sqlalchemy.engine import Row
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from ebaydash.db import queries
from ebaydash.db.engine import Database
from ebaydash.db.figures import CANCELLED, local_day
from ebaydash.db.queries import (
    TopProductsBy,
    _money,
    _top_limit,
    listing_figures,
    listing_figures_at,
    ranked_products,
)
from ebaydash.db.rollups import Split, month_split, split
from ebaydash.db.schema import (
    accounts,
    customer_day_gaps,
    customer_totals,
    customers,
    day_rollups,
    order_items,
    orders,
    sku_day_rollups,
    sku_month_rollups,
)
from ebaydash.db.types import Money, UTCDateTime
from ebaydash.models import Granularity, Window

__all__ = [
    "TOP_BUYER_CANDIDATES",
    "account_kpis",
    "kpi_pieces",
    "revenue_trend",
    "status_mix",
    "top_buyers",
    "top_products",
    "whole_days",
]

o = orders.c
r = day_rollups.c
s = sku_day_rollups.c
g = customer_day_gaps.c
t = customer_totals.c
sm = sku_month_rollups.c
items = order_items.c

#: statuses whose lines count in top products (the same rule as queries.top_products)
_NOT_SOLD = (CANCELLED, "refunded")


def _between(table: Any, account_id: int, days: tuple[dt.date, dt.date]) -> ColumnElement[bool]:
    return and_(table.c.account_id == account_id, table.c.day >= days[0], table.c.day <= days[1])


def _in_range(account_id: int, edge: tuple[dt.datetime, dt.datetime]) -> ColumnElement[bool]:
    return and_(o.account_id == account_id, o.order_date >= edge[0], o.order_date < edge[1])


def _union(parts: list[Select[Any]], name: str) -> Any:
    if len(parts) == 1:
        return parts[0].subquery(name)
    return union_all(*parts).subquery(name)


_ONE: ColumnElement[Any] = literal_column("1")


@dataclass(frozen=True)
class _OrderSums:
    """Columns of per-status order sums (a day rollup's, or one order's as a row of 1)."""

    status: Any
    orders: Any
    total: Any
    refunded: Any
    refund_orders: Any

    def figures(self, in_period: ColumnElement[bool], suffix: str) -> list[ColumnElement[Any]]:
        """The KPI row's order figures for one period: orders, revenue, refunds, refunded and
        cancelled, labelled ``<figure>_<suffix>`` as :func:`ebaydash.db.queries.account_kpis`."""
        counted = and_(in_period, self.status != CANCELLED)
        refunded = func.sum(self.refunded).filter(counted)
        return [
            func.coalesce(func.sum(self.orders).filter(counted), 0).label(f"orders_{suffix}"),
            _money(func.sum(self.total).filter(counted) - refunded).label(f"revenue_{suffix}"),
            func.coalesce(func.sum(self.refund_orders).filter(counted), 0).label(f"refunds_{suffix}"),
            _money(refunded).label(f"refunded_{suffix}"),
            func.coalesce(func.sum(self.orders).filter(and_(in_period, self.status == CANCELLED)), 0).label(
                f"cancelled_{suffix}"
            ),
        ]


def account_kpis(db: Database, account_id: int, window: Window, now: dt.datetime, tz: str) -> Row[Any]:
    """The row of :func:`ebaydash.db.queries.account_kpis`, with the order sums read from the
    rollups for whole local days of ``tz`` (the account's zone) and from the orders at the edges.
    Distinct customers come from :data:`~ebaydash.db.schema.customer_day_gaps` when both windows
    are whole days, and are counted on the orders (covering index) when either has an edge."""
    pieces = kpi_pieces(window, tz)
    if whole_days(pieces):
        return _whole_day_kpis(db, account_id, window, now, pieces)
    parts: list[Select[Any]] = []
    for flag, piece in ((1, pieces[0]), (0, pieces[1])):
        cur: ColumnElement[Any] = literal_column(str(flag))
        if piece.days is not None:
            parts.append(
                select(
                    cur.label("cur"),
                    r.status.label("status"),
                    r.orders.label("orders"),
                    r.total_amount.label("total"),
                    r.refunded_amount.label("refunded"),
                    r.refund_orders.label("refund_orders"),
                ).where(_between(day_rollups, account_id, piece.days))
            )
        for edge in piece.edges:
            parts.append(
                select(
                    cur.label("cur"),
                    o.status.label("status"),
                    _ONE.label("orders"),
                    o.total_amount.label("total"),
                    o.refunded_amount.label("refunded"),
                    case((o.refunded_amount > 0, _ONE), else_=literal_column("0")).label("refund_orders"),
                ).where(_in_range(account_id, edge))
            )
    src = _union(parts, "src")
    f = src.c
    sums_of = _OrderSums(f.status, f.orders, f.total, f.refunded, f.refund_orders)
    sums = select(*sums_of.figures(f.cur == 1, "cur"), *sums_of.figures(f.cur == 0, "prev")).subquery("sums")
    customers = _customers_of_orders(account_id, window)
    listing_agg = listing_figures(account_id, window, now)
    currency = select(accounts.c.currency).where(accounts.c.id == account_id).scalar_subquery()
    stmt = select(sums, customers, listing_agg, currency.label("currency")).select_from(
        sums.join(customers, true()).join(listing_agg, true())
    )
    row = db.fetch_one("account_kpis", stmt, replica_ok=True)
    assert row is not None  # aggregates without GROUP BY always return one row
    return row


def kpi_pieces(window: Window, tz: str) -> tuple[Split, Split]:
    """The window and the one before it, cut at the local midnights of ``tz``."""
    previous = window.previous()
    return split(window.start, window.end, tz), split(previous.start, previous.end, tz)


def whole_days(pieces: tuple[Split, Split]) -> bool:
    """Whether both pieces are whole local days only (no partial day at an edge)."""
    return all(piece.days is not None and not piece.edges for piece in pieces)


def _whole_day_kpis(
    db: Database, account_id: int, window: Window, now: dt.datetime, pieces: tuple[Split, Split]
) -> Row[Any]:
    cur_days, prev_days = pieces[0].days, pieces[1].days
    assert cur_days is not None and prev_days is not None  # see whole_days
    params = {
        "account_id": account_id,
        "cur_first": cur_days[0],
        "cur_last": cur_days[1],
        "prev_first": prev_days[0],
        "prev_last": prev_days[1],
        "start": window.start,
        "end_moment": min(window.end, now),
    }
    row = db.fetch_one("account_kpis", _whole_day_kpis_statement(), params=params, replica_ok=True)
    assert row is not None  # aggregates without GROUP BY always return one row
    return row


@functools.cache
def _whole_day_kpis_statement() -> Select[Any]:
    """The KPIs of a window of whole local days and the one before it, all from the rollups: the
    order sums from day_rollups, the distinct customers from customer_day_gaps (a customer counts
    once, on their first purchase day in the window: the one whose previous purchase day lies
    before it). Built once with named parameters (see :func:`_whole_day_kpis`), as building it
    per call would cost more Python than the statement takes to run.

    Short aliases and its constants written inline keep the SQL under psycopg's 4,096 characters
    for caching its conversion to the server's placeholders (the statement is sent as is every
    time: 0.2-0.3 ms less per call, with 7 parameters to send instead of 27)."""
    r = day_rollups.alias("d").c
    g = customer_day_gaps.alias("cg").c
    account_id = bindparam("account_id", type_=BigInteger)
    cur_first, cur_last = bindparam("cur_first", type_=SADate), bindparam("cur_last", type_=SADate)
    prev_first, prev_last = bindparam("prev_first", type_=SADate), bindparam("prev_last", type_=SADate)
    start: Any = bindparam("start", type_=UTCDateTime)
    end_moment: Any = bindparam("end_moment", type_=UTCDateTime)
    in_cur, in_prev = r.day >= cur_first, r.day < cur_first
    sums_of = _OrderSums(r.status, r.orders, r.total_amount, r.refunded_amount, r.refund_orders)
    sums = (
        select(*sums_of.figures(in_cur, "cur"), *sums_of.figures(in_prev, "prev"))
        .where(r.account_id == account_id, r.day >= prev_first, r.day <= cur_last)
        .subquery("sums")
    )

    def first_days(first: Any, last: Any) -> ColumnElement[bool]:
        return and_(g.day >= first, g.day <= last, g.previous_day < first)

    customers = (
        select(
            func.coalesce(func.sum(g.customers).filter(first_days(cur_first, cur_last)), 0).label(
                "customers_cur"
            ),
            func.coalesce(func.sum(g.customers).filter(first_days(prev_first, prev_last)), 0).label(
                "customers_prev"
            ),
        )
        .where(g.account_id == account_id, g.day >= prev_first, g.day <= cur_last)
        .subquery("customer_agg")
    )
    listing_agg = listing_figures_at(account_id, start, end_moment)
    currency = select(accounts.c.currency).where(accounts.c.id == account_id).scalar_subquery()
    statement = select(sums, customers, listing_agg, currency.label("currency")).select_from(
        sums.join(customers, true()).join(listing_agg, true())
    )
    return typing.cast(Select[Any], visitors.replacement_traverse(statement, {}, _inline_constant))


def _inline_constant(element: Any, **_kw: Any) -> ColumnElement[Any] | None:
    """A constant of the code's own (0, a status name), which SQLAlchemy makes a bound
    parameter, as a literal of the SQL text; named parameters stay parameters."""
    if not isinstance(element, BindParameter) or not element.unique or element.value is None:
        return None
    value = element.value
    if isinstance(value, int) and not isinstance(value, bool):
        return literal_column(str(value))
    if isinstance(value, str) and value.isidentifier():  # a status name: nothing to escape
        return literal_column(f"'{value}'")
    return None


def _customers_of_orders(account_id: int, window: Window) -> Any:
    """Distinct customers of each window counted on the orders (covering index): for windows
    with a partial day, which the per-day tables cannot split."""
    previous = window.previous()
    return (
        select(
            func.count(func.distinct(o.customer_id))
            .filter(o.order_date >= window.start)
            .label("customers_cur"),
            func.count(func.distinct(o.customer_id))
            .filter(o.order_date < window.start)
            .label("customers_prev"),
        )
        .where(
            o.account_id == account_id,
            o.order_date >= previous.start,
            o.order_date < window.end,
            o.status != CANCELLED,
        )
        .subquery("customer_agg")
    )


def _week_of(day: ColumnElement[Any], backend: str) -> ColumnElement[Any]:
    """The Monday starting the ISO week of a date column (as queries.local_week buckets)."""
    if backend == "sqlite":
        return type_coerce(func.date(day, "-6 days", "weekday 1"), SADate())
    return cast(func.date_trunc("week", day), SADate)


def revenue_trend(
    db: Database, account_id: int, window: Window, tz: str, granularity: Granularity = "day"
) -> Sequence[Row[Any]]:
    """The rows of :func:`ebaydash.db.queries.revenue_trend` (``tz`` is the account's zone, the
    rollups' days), from the rollups for whole days and the orders at the edges."""
    piece = split(window.start, window.end, tz)
    parts: list[Select[Any]] = []
    if piece.days is not None:
        parts.append(
            select(
                r.day.label("day"),
                r.orders.label("orders"),
                (r.total_amount - r.refunded_amount).label("net"),
            ).where(_between(day_rollups, account_id, piece.days), r.status != CANCELLED)
        )
    for edge in piece.edges:
        parts.append(
            select(
                local_day(o.order_date, tz, db.backend).label("day"),
                _ONE.label("orders"),
                (o.total_amount - o.refunded_amount).label("net"),
            ).where(_in_range(account_id, edge), o.status != CANCELLED)
        )
    src = _union(parts, "src")
    if granularity == "week":
        bucket = _week_of(src.c.day, db.backend).label("bucket")
    else:
        bucket = type_coerce(src.c.day, SADate()).label("bucket")
    stmt = (
        select(bucket, func.sum(src.c.orders).label("orders"), _money(func.sum(src.c.net)).label("revenue"))
        .group_by(bucket)
        .order_by(bucket)
    )
    return db.fetch_all(f"revenue_trend_{granularity}", stmt, replica_ok=True)


def top_products(
    db: Database, account_id: int, window: Window, by: TopProductsBy, limit: int, tz: str
) -> Sequence[Row[Any]]:
    """The rows of :func:`ebaydash.db.queries.top_products`, summed from the SKU rollups: whole
    calendar months from the month rows, the other whole days from the day rows, and the lines of
    the orders at the edges (an order lies in one piece, so its distinct count sums across
    pieces)."""
    piece = split(window.start, window.end, tz)
    parts: list[Select[Any]] = []
    if piece.days is not None:
        runs, months = month_split(*piece.days)
        if months is not None:
            parts.append(
                _sku_rows(sku_month_rollups).where(
                    sm.account_id == account_id, sm.month >= months[0], sm.month <= months[1]
                )
            )
        parts += [
            _sku_rows(sku_day_rollups).where(_between(sku_day_rollups, account_id, run)) for run in runs
        ]
    for edge in piece.edges:
        parts.append(
            select(
                items.sku.label("sku"),
                func.sum(items.quantity).label("units"),
                func.sum(items.quantity * items.unit_price).label("revenue"),
                func.count(func.distinct(items.order_id)).label("orders"),
                func.max(items.title).label("line_title"),
            )
            .select_from(order_items.join(orders, o.id == items.order_id))
            .where(_in_range(account_id, edge), o.status.not_in(_NOT_SOLD))
            .group_by(items.sku)
        )
    src = _union(parts, "src").c
    revenue = _money(func.sum(src.revenue))
    units = func.sum(src.units)
    ranking = [revenue.desc(), units.desc()] if by == "revenue" else [units.desc(), revenue.desc()]
    agg = (
        select(
            src.sku,
            func.max(src.line_title).label("line_title"),
            units.label("units"),
            revenue.label("revenue"),
            func.sum(src.orders).label("orders"),
        )
        .group_by(src.sku)
        .order_by(*ranking, src.sku)
        .limit(_top_limit(limit))
        .subquery("agg")
    )
    stmt = ranked_products(agg, account_id, by)
    return db.fetch_all(f"top_products_by_{by}", stmt, replica_ok=True)


def _sku_rows(table: Any) -> Select[Any]:
    """A SKU rollup table's rows (day or month) as the pieces top products sum."""
    return select(table.c.sku, table.c.units, table.c.revenue, table.c.orders, table.c.line_title)


def status_mix(db: Database, account_id: int, window: Window, tz: str) -> Sequence[Row[Any]]:
    """The rows of :func:`ebaydash.db.queries.status_mix`, from the rollups and the edges."""
    piece = split(window.start, window.end, tz)
    parts: list[Select[Any]] = []
    if piece.days is not None:
        parts.append(
            select(r.status.label("status"), r.orders.label("orders"), r.total_amount.label("amount")).where(
                _between(day_rollups, account_id, piece.days)
            )
        )
    for edge in piece.edges:
        parts.append(
            select(o.status.label("status"), _ONE.label("orders"), o.total_amount.label("amount")).where(
                _in_range(account_id, edge)
            )
        )
    src = _union(parts, "src").c
    stmt = (
        select(src.status, func.sum(src.orders).label("orders"), _money(func.sum(src.amount)).label("amount"))
        .group_by(src.status)
        .order_by(src.status)
    )
    return db.fetch_all("status_mix", stmt, replica_ok=True)


#: how many customers of highest net ceiling :func:`top_buyers` reads before giving up on
#: stopping early (then it reads the window's orders, as the plain statement does)
TOP_BUYER_CANDIDATES = 1000


def top_buyers(db: Database, account_id: int, window: Window, limit: int) -> Sequence[Row[Any]]:
    """The rows of :func:`ebaydash.db.queries.top_buyers`, exactly, found by a threshold scan.

    Per-buyer sums do not add up across days, but no window's net revenue of a customer exceeds
    their ceiling (:data:`~ebaydash.db.schema.customer_totals`: their orders' net amounts, each at
    least 0). So the window's revenue of the :data:`TOP_BUYER_CANDIDATES` customers of highest
    ceiling is read (their orders only), with the next customer's ceiling: when the list is full
    and its last revenue is above that ceiling, no one further down could enter it, and it is the
    answer (Fagin's threshold algorithm, one sorted list). Otherwise (recent buyers outrank the
    all-time biggest, as in short windows of a shop with a long history) the window's orders are
    read by the plain statement. Both are one statement, each on one snapshot."""
    limit = _top_limit(limit)
    params = {
        "account_id": account_id,
        "start": window.start,
        "end": window.end,
        "candidates": TOP_BUYER_CANDIDATES,
        "top": limit,
    }
    rows = db.fetch_all("top_buyers", _top_buyer_candidates_statement(), params=params, replica_ok=True)
    beyond = rows[0].beyond if rows else None
    if rows and (
        (beyond is None and len(rows) <= limit) or (len(rows) == limit and rows[-1].revenue > beyond)
    ):
        return rows
    return queries.top_buyers(db, account_id, window, limit)


@functools.cache
def _top_buyer_candidates_statement() -> Select[Any]:
    """Window revenue and orders of the customers of highest ceiling, the best ``top`` of them
    (ordered as the plain statement), each row with ``beyond``: the highest ceiling of the
    customers left out (NULL when none was). Built once with named parameters."""
    account_id = bindparam("account_id", type_=BigInteger)
    start: Any = bindparam("start", type_=UTCDateTime)
    end: Any = bindparam("end", type_=UTCDateTime)
    candidates, top = bindparam("candidates", type_=Integer), bindparam("top", type_=Integer)
    ranked = (t.net_ceiling.desc(), t.customer_id.desc())
    chosen = (
        select(t.customer_id)
        .where(t.account_id == account_id)
        .order_by(*ranked)
        .limit(candidates)
        .subquery("chosen")
    )
    beyond = (
        select(t.net_ceiling).where(t.account_id == account_id).order_by(*ranked).offset(candidates).limit(1)
    ).scalar_subquery()
    revenue = _money(func.sum(o.total_amount - o.refunded_amount))
    agg = (
        select(o.customer_id, func.count().label("orders"), revenue.label("revenue"))
        .select_from(chosen.join(orders, o.customer_id == chosen.c.customer_id))
        .where(o.account_id == account_id, o.order_date >= start, o.order_date < end, o.status != CANCELLED)
        .group_by(o.customer_id)
        .order_by(revenue.desc(), func.count().desc(), o.customer_id)
        .limit(top)
        .subquery("agg")
    )
    return (
        select(
            agg.c.customer_id,
            customers.c.ebay_username.label("username"),
            agg.c.orders,
            type_coerce(agg.c.revenue, Money).label("revenue"),
            type_coerce(beyond, Money).label("beyond"),
        )
        .select_from(agg.join(customers, customers.c.id == agg.c.customer_id))
        .order_by(agg.c.revenue.desc(), agg.c.orders.desc(), agg.c.customer_id)
    )
