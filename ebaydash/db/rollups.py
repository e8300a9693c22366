"""Rollups: per account and local day, the sums the overview reads, kept exact with the orders.

Two tables (:data:`~ebaydash.db.schema.day_rollups`, :data:`~ebaydash.db.schema.sku_day_rollups`)
hold, per account and calendar day of the account's time zone (the day the trend buckets by), the
orders, totals, refunds and refunded orders per status, and the units, line revenue, orders and
greatest line title per SKU of orders neither cancelled nor refunded; a third
(:data:`~ebaydash.db.schema.sku_month_rollups`) sums the SKU rows per calendar month, so a long
window reads its whole months there and only the days at its ends per day.

Distinct customers do not add up across days, so two more tables make them: each customer's
purchase days (:data:`~ebaydash.db.schema.customer_days`) and, per day, how many of its customers
last bought on each earlier day (:data:`~ebaydash.db.schema.customer_day_gaps`). A customer counts
in whole days [first, last] once, on their first day there, the one whose previous purchase day is
before ``first``. Writes name the customers whose orders they touched, and
:func:`refresh_customers` recomputes those customers' days from the orders and moves the counts
by the difference.

Every write path (the upsert, the bulk loads, a status change) updates them in its own
transaction. Orders that change (or move to another day) have the days they left and entered
recomputed from the orders by :func:`refresh_days`: a day's rows are deleted and summed again, so
nothing can drift. The one delta is for orders that did not exist before (:func:`add_new_orders`,
Postgres): their sums are added from the import's own values by the database, so an import of
today's orders does not read today's orders back. Either way the result is exactly what a full
recomputation gives (:func:`check` compares the two; the property test in tests/test_rollups.py
runs random sequences of writes against it).

The reads (:mod:`ebaydash.db.rollup_reads`) return exactly the rows of the plain statements of
:mod:`ebaydash.db.queries`, reading whole days here and the partial days at a window's edges from
the orders. :func:`split` cuts a window at the account's local midnights.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    type_coerce,
    values,
)
from sqlalchemy import Date as SADate
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Row

from ebaydash.db import driver
from ebaydash.db.figures import CANCELLED, local_day
from ebaydash.db.schema import (
    NEVER_BOUGHT,
    accounts,
    customer_day_gaps,
    customer_days,
    customer_totals,
    day_rollups,
    order_items,
    orders,
    sku_day_rollups,
    sku_month_rollups,
)
from ebaydash.db.types import Money
from ebaydash.models import OrderRecord

__all__ = [
    "Difference",
    "Split",
    "account_timezone",
    "add_new_customer_orders",
    "add_new_orders",
    "check",
    "customers_of_orders",
    "days_of_orders",
    "month_split",
    "rebuild",
    "refresh_customers",
    "refresh_days",
    "split",
]

o = orders.c
r = day_rollups.c
s = sku_day_rollups.c
sm = sku_month_rollups.c
cd = customer_days.c
gaps = customer_day_gaps.c
totals = customer_totals.c
items = order_items.c

#: statuses whose lines count in top products (the same rule as queries.top_products)
_NOT_SOLD = (CANCELLED, "refunded")
_CHUNK = 500  # bound parameters per IN list on SQLite


# -- days and windows ----------------------------------------------------------------------------


def _midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of local ``day``, in UTC (as Window.for_dates computes it)."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class Split:
    """A half-open range ``[start, end)`` cut at the local midnights of a zone: the whole days
    inside it (first, last; ``None`` when none fits) and the partial pieces at its edges."""

    days: tuple[dt.date, dt.date] | None
    edges: tuple[tuple[dt.datetime, dt.datetime], ...]


def split(start: dt.datetime, end: dt.datetime, tz: str) -> Split:
    """Cut ``[start, end)`` (aware datetimes) into whole local days of ``tz`` and edge pieces."""
    zone = ZoneInfo(tz)
    local_start = start.astimezone(zone)
    first = local_start.date()
    if _midnight(first, zone) < start:
        first += dt.timedelta(days=1)
    after = end.astimezone(zone).date()  # the day after the last whole one, unless end is later
    if _midnight(after, zone) > end:
        after -= dt.timedelta(days=1)
    first_at, after_at = _midnight(first, zone), _midnight(after, zone)
    if first >= after or first_at >= after_at:
        return Split(None, ((start, end),))
    edges = []
    if start < first_at:
        edges.append((start, first_at))
    if after_at < end:
        edges.append((after_at, end))
    return Split((first, after - dt.timedelta(days=1)), tuple(edges))


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def month_split(
    first: dt.date, last: dt.date
) -> tuple[list[tuple[dt.date, dt.date]], tuple[dt.date, dt.date] | None]:
    """Whole days [first, last] cut into the calendar months wholly inside (their first days,
    first and last; ``None`` when none is) and the runs of days before and after them."""
    start = first if first.day == 1 else _next_month(first)
    after = last + dt.timedelta(days=1)
    end = after if after.day == 1 else after.replace(day=1)  # the first day not in a whole month
    if start >= end:
        return [(first, last)], None
    runs = []
    if first < start:
        runs.append((first, start - dt.timedelta(days=1)))
    if end <= last:
        runs.append((end, last))
    return runs, (start, (end - dt.timedelta(days=1)).replace(day=1))


def _month_of(day: ColumnElement[Any], backend: str) -> ColumnElement[Any]:
    """The first day of ``day``'s calendar month, in the database."""
    if backend == "sqlite":
        return type_coerce(func.date(day, "start of month"), SADate())
    return cast(func.date_trunc("month", day), SADate)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for begin in range(0, len(values), size):
        yield values[begin : begin + size]


def _runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days merged into runs of consecutive days."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][1]).days <= 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


# -- maintenance ---------------------------------------------------------------------------------


def account_timezone(conn: Connection, account_id: int) -> str:
    """The account's IANA zone, whose calendar days the rollups follow."""
    return str(conn.execute(select(accounts.c.timezone).where(accounts.c.id == account_id)).scalar_one())


def days_of_orders(conn: Connection, account_id: int, tz: str, order_ids: Collection[int]) -> set[dt.date]:
    """The local days (zone ``tz``) the given orders of the account lie in, as the database
    computes them, so a day is never refreshed by one rule and read by another."""
    ids = sorted(set(order_ids))
    if not ids:
        return set()
    backend = conn.dialect.name
    day = local_day(o.order_date, tz, "sqlite" if backend == "sqlite" else "postgresql")
    found: set[dt.date] = set()
    if backend == "postgresql":
        wanted = bindparam("ids", ids, type_=ARRAY(BigInteger))
        found.update(
            conn.execute(
                select(day).distinct().where(o.account_id == account_id, o.id == any_(wanted))
            ).scalars()
        )
    else:
        for chunk in _chunks(ids):
            found.update(
                conn.execute(
                    select(day).distinct().where(o.account_id == account_id, o.id.in_(chunk))
                ).scalars()
            )
    return found


def _day_sums(account_id: int, tz: str, backend: str, where: list[ColumnElement[bool]]) -> Select[Any]:
    day = local_day(o.order_date, tz, backend)
    return (
        select(
            literal_column(str(int(account_id))).label("account_id"),
            day.label("day"),
            o.status,
            func.count().label("orders"),
            type_coerce(func.sum(o.total_amount), Money).label("total_amount"),
            type_coerce(func.sum(o.refunded_amount), Money).label("refunded_amount"),
            func.count().filter(o.refunded_amount > 0).label("refund_orders"),
        )
        .where(o.account_id == account_id, *where)
        .group_by(day, o.status)
    )


def _sku_sums(account_id: int, tz: str, backend: str, where: list[ColumnElement[bool]]) -> Select[Any]:
    day = local_day(o.order_date, tz, backend)
    return (
        select(
            literal_column(str(int(account_id))).label("account_id"),
            day.label("day"),
            items.sku,
            func.sum(items.quantity).label("units"),
            type_coerce(func.sum(items.quantity * items.unit_price), Money).label("revenue"),
            func.count(func.distinct(items.order_id)).label("orders"),
            func.max(items.title).label("line_title"),
        )
        .select_from(order_items.join(orders, o.id == items.order_id))
        .where(o.account_id == account_id, o.status.not_in(_NOT_SOLD), *where)
        .group_by(day, items.sku)
    )


def _day_filter(days: Sequence[dt.date], tz: str, backend: str) -> list[ColumnElement[bool]]:
    """Orders whose local day is one of ``days``: a date range with a day's margin either side
    (no zone is more than 14 hours off UTC) keeps it on the (account, order_date) index, and the
    exact test is the database's own local day."""
    margin = dt.timedelta(days=2)
    ranges = [
        and_(
            o.order_date >= dt.datetime.combine(first - margin, dt.time(), dt.UTC),
            o.order_date < dt.datetime.combine(last + margin, dt.time(), dt.UTC),
        )
        for first, last in _runs(days)
    ]
    return [or_(*ranges), local_day(o.order_date, tz, backend).in_(list(days))]


def _backend(conn: Connection) -> str:
    return "sqlite" if conn.dialect.name == "sqlite" else "postgresql"


_DAY_COLUMNS = [c.name for c in day_rollups.columns]
_SKU_COLUMNS = [c.name for c in sku_day_rollups.columns]
_SKU_MONTH_COLUMNS = [c.name for c in sku_month_rollups.columns]


def _month_sums(account_id: int, backend: str, months: Sequence[dt.date] | None) -> Select[Any]:
    """sku_month_rollups rows of the account (of ``months`` only, when given) from its
    sku_day_rollups rows."""
    where: list[ColumnElement[bool]] = [s.account_id == account_id]
    if months is not None:
        where.append(or_(*[and_(s.day >= m, s.day < _next_month(m)) for m in months]))
    return _by_month(account_id, backend, sku_day_rollups, where)


def _month_sums_of_orders(account_id: int, tz: str, backend: str) -> Select[Any]:
    """sku_month_rollups rows of the account as its orders alone say (for :func:`check`)."""
    return _by_month(account_id, backend, _sku_sums(account_id, tz, backend, []).subquery("days"), [])


def _by_month(account_id: int, backend: str, days: Any, where: list[ColumnElement[bool]]) -> Select[Any]:
    """Rows of per-SKU day sums (``days``: a table or subquery with sku_day_rollups' columns)
    summed per calendar month."""
    month = _month_of(days.c.day, backend)
    return (
        select(
            literal_column(str(int(account_id))).label("account_id"),
            month.label("month"),
            days.c.sku,
            func.sum(days.c.units).label("units"),
            type_coerce(func.sum(days.c.revenue), Money).label("revenue"),
            func.sum(days.c.orders).label("orders"),
            func.max(days.c.line_title).label("line_title"),
        )
        .where(*where)
        .group_by(month, days.c.sku)
    )


def _refresh_months(conn: Connection, account_id: int, days: Collection[dt.date]) -> None:
    """Recompute the account's sku_month_rollups rows of the months holding ``days`` from its
    sku_day_rollups rows (already current)."""
    backend = _backend(conn)
    for chunk in _chunks(sorted({day.replace(day=1) for day in days}), 50):
        conn.execute(delete(sku_month_rollups).where(sm.account_id == account_id, sm.month.in_(list(chunk))))
        conn.execute(
            insert(sku_month_rollups).from_select(_SKU_MONTH_COLUMNS, _month_sums(account_id, backend, chunk))
        )


def refresh_days(conn: Connection, account_id: int, days: Collection[dt.date], tz: str | None = None) -> None:
    """Recompute the account's rollup rows of ``days`` (local days) from its orders, inside the
    caller's transaction. ``tz`` is the account's zone (read when not given)."""
    if not days:
        return
    zone = tz or account_timezone(conn, account_id)
    backend = _backend(conn)
    for chunk in _chunks(sorted(set(days))):
        for table in (day_rollups, sku_day_rollups):
            conn.execute(delete(table).where(table.c.account_id == account_id, table.c.day.in_(list(chunk))))
        where = _day_filter(chunk, zone, backend)
        conn.execute(
            insert(day_rollups).from_select(_DAY_COLUMNS, _day_sums(account_id, zone, backend, where))
        )
        conn.execute(
            insert(sku_day_rollups).from_select(_SKU_COLUMNS, _sku_sums(account_id, zone, backend, where))
        )
    _refresh_months(conn, account_id, days)


# New orders' sums, in one statement: the orders (sent once, their local day computed once) go
# into their days' rows; their lines, of orders neither cancelled nor refunded, are summed per
# (day, SKU) into sku_day_rollups, and those sums per month into sku_month_rollups (an order lies
# on one day, so its distinct count per day adds up to the month's).
_ADD_NEW_ORDERS = """
WITH o AS (
    SELECT g.n - 1 AS n, CAST(timezone(%(tz)s, g.at) AS date) AS day, g.status, g.total, g.refunded
    FROM unnest(%(at)s::timestamptz[], %(status)s::text[], %(total)s::numeric[],
                %(refunded)s::numeric[]) WITH ORDINALITY AS g(at, status, total, refunded, n)
), days AS (
    INSERT INTO day_rollups AS r
        (account_id, day, status, orders, total_amount, refunded_amount, refund_orders)
    SELECT %(account)s, day, status, count(*), sum(total), sum(refunded),
           count(*) FILTER (WHERE refunded > 0)
    FROM o
    GROUP BY day, status
    ON CONFLICT (account_id, day, status) DO UPDATE SET
        orders = r.orders + excluded.orders,
        total_amount = r.total_amount + excluded.total_amount,
        refunded_amount = r.refunded_amount + excluded.refunded_amount,
        refund_orders = r.refund_orders + excluded.refund_orders
), per_order AS (
    -- grouped by bytes (COLLATE "C"): the same groups as the database's deterministic collation
    -- makes, without its costly comparisons; the greatest title stays in that collation
    SELECT l.n, l.sku COLLATE "C" AS sku, sum(l.quantity) AS units,
           sum(l.quantity * l.price) AS revenue, max(l.title) AS title
    FROM unnest(%(n)s::int[], %(sku)s::text[], %(quantity)s::int[], %(price)s::numeric[],
                %(title)s::text[]) AS l(n, sku, quantity, price, title)
    GROUP BY 1, 2
), s AS (
    -- one row per order and SKU above, so count(*) is the distinct orders without the sort
    -- that count(DISTINCT) needs
    SELECT o.day, p.sku, sum(p.units) AS units, sum(p.revenue) AS revenue, count(*) AS orders,
           max(p.title) AS title
    FROM per_order AS p
    JOIN o ON o.n = p.n
    WHERE o.status <> ALL (%(not_sold)s::text[])
    GROUP BY o.day, p.sku
), sku_days AS (
    INSERT INTO sku_day_rollups AS r (account_id, day, sku, units, revenue, orders, line_title)
    SELECT %(account)s, day, sku, units, revenue, orders, title FROM s
    ON CONFLICT (account_id, day, sku) DO UPDATE SET
        units = r.units + excluded.units,
        revenue = r.revenue + excluded.revenue,
        orders = r.orders + excluded.orders,
        line_title = GREATEST(r.line_title, excluded.line_title)
)
INSERT INTO sku_month_rollups AS r (account_id, month, sku, units, revenue, orders, line_title)
SELECT %(account)s, CAST(date_trunc('month', day) AS date), sku, sum(units), sum(revenue),
       sum(orders), max(title)
FROM s
GROUP BY 2, 3
ON CONFLICT (account_id, month, sku) DO UPDATE SET
    units = r.units + excluded.units,
    revenue = r.revenue + excluded.revenue,
    orders = r.orders + excluded.orders,
    line_title = GREATEST(r.line_title, excluded.line_title)
"""


def add_new_orders(conn: Connection, account_id: int, tz: str, records: Sequence[OrderRecord]) -> bool:
    """Add orders just inserted (none of them was in the rollups before) to their days' and
    months' rows, from the records themselves: nothing is read back from the tables, so the cost
    follows the import, not the days it lands on. Exact: the sums, the local day and the greatest
    title (in the database's collation) are all computed by the database from the records' values.
    Postgres only (``False`` elsewhere: the caller recomputes those days with
    :func:`refresh_days` instead).

    A day later recomputed in the same transaction is rebuilt from the orders, which is the same."""
    if conn.dialect.name != "postgresql":
        return False
    if not records:
        return True
    lines = [(n, line) for n, r in enumerate(records) for line in r.lines]
    with driver.cursor(conn) as cursor:
        cursor.execute(
            _ADD_NEW_ORDERS,
            {
                "account": account_id,
                "tz": tz,
                "at": driver.instant_array(r.order_date for r in records),
                "status": driver.text_array(r.status for r in records),
                "total": driver.number_array(r.total_amount for r in records),
                "refunded": driver.number_array(r.refunded_amount for r in records),
                "n": driver.number_array(n for n, _line in lines),
                "sku": driver.text_array(line.sku for _n, line in lines),
                "quantity": driver.number_array(line.quantity for _n, line in lines),
                "price": driver.number_array(line.unit_price for _n, line in lines),
                "title": driver.text_array(line.title for _n, line in lines),
                "not_sold": driver.text_array(_NOT_SOLD),
            },
        )
    return True


# -- distinct customers -------------------------------------------------------------------------


def customers_of_orders(conn: Connection, account_id: int, order_ids: Collection[int]) -> set[int]:
    """The customers (ids; orders without a buyer left out) of the given orders of the account."""
    ids = sorted(set(order_ids))
    found: set[int] = set()
    for chunk in _id_chunks(conn, ids):
        found.update(
            int(c)
            for c in conn.execute(
                select(o.customer_id).distinct().where(o.account_id == account_id, _in_ids(conn, o.id, chunk))
            ).scalars()
            if c is not None
        )
    return found


def _id_chunks(conn: Connection, ids: Sequence[int]) -> Iterator[Sequence[int]]:
    """``ids`` in one piece for Postgres (an array parameter), in IN-list chunks for SQLite."""
    if not ids:
        return iter(())
    return iter((ids,)) if conn.dialect.name == "postgresql" else _chunks(ids)


def _in_ids(conn: Connection, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    test: ColumnElement[bool]
    if conn.dialect.name == "postgresql":
        test = column == any_(bindparam("ids", list(ids), type_=ARRAY(BigInteger)))
    else:
        test = column.in_(list(ids))
    return test


def _purchase_days(account_id: int, tz: str, backend: str, where: list[ColumnElement[bool]]) -> Select[Any]:
    """(account, customer, local day) of the account's orders that count a customer: not
    cancelled, with a buyer; one row per customer and day."""
    day = local_day(o.order_date, tz, backend)
    return (
        select(literal_column(str(int(account_id))).label("account_id"), o.customer_id, day.label("day"))
        .distinct()
        .where(o.account_id == account_id, o.status != CANCELLED, o.customer_id.is_not(None), *where)
    )


def _ceilings(account_id: int, where: list[ColumnElement[bool]]) -> Select[Any]:
    """(account, customer, net ceiling) of the account's customers: the sum of their orders' net
    amounts (not cancelled), each at least 0 (see :data:`~ebaydash.db.schema.customer_totals`)."""
    net = o.total_amount - o.refunded_amount
    return (
        select(
            literal_column(str(int(account_id))).label("account_id"),
            o.customer_id,
            type_coerce(func.sum(case((net > 0, net), else_=literal_column("0"))), Money).label(
                "net_ceiling"
            ),
        )
        .where(o.account_id == account_id, o.status != CANCELLED, o.customer_id.is_not(None), *where)
        .group_by(o.customer_id)
    )


def _gaps(days: Iterable[dt.date], start: dt.date = NEVER_BOUGHT) -> Iterator[tuple[dt.date, dt.date]]:
    """(day, previous purchase day) along one customer's purchase days, the first of them
    preceded by ``start``."""
    previous = start
    for day in sorted(days):
        yield day, previous
        previous = day


def refresh_customers(
    conn: Connection, account_id: int, customer_ids: Collection[int], tz: str | None = None
) -> None:
    """Recompute the purchase days of ``customer_ids`` from the account's orders, inside the
    caller's transaction, and move :data:`~ebaydash.db.schema.customer_day_gaps` by the difference
    between their old and new chains of days. Call it after any write that may have added, moved,
    cancelled or reassigned these customers' orders, with the customers before and after."""
    ids = sorted({int(c) for c in customer_ids})
    if not ids:
        return
    zone = tz or account_timezone(conn, account_id)
    backend = _backend(conn)
    for chunk in _id_chunks(conn, ids):
        conn.execute(
            delete(customer_totals).where(
                totals.account_id == account_id, _in_ids(conn, totals.customer_id, chunk)
            )
        )
        conn.execute(
            insert(customer_totals).from_select(
                _TOTAL_COLUMNS, _ceilings(account_id, [_in_ids(conn, o.customer_id, chunk)])
            )
        )
    old: dict[int, set[dt.date]] = {c: set() for c in ids}
    new: dict[int, set[dt.date]] = {c: set() for c in ids}
    for chunk in _id_chunks(conn, ids):
        stored = select(cd.customer_id, cd.day).where(
            cd.account_id == account_id, _in_ids(conn, cd.customer_id, chunk)
        )
        for customer, day in conn.execute(stored).all():
            old[int(customer)].add(day)
        bought = _purchase_days(account_id, zone, backend, [_in_ids(conn, o.customer_id, chunk)]).subquery()
        for customer, day in conn.execute(select(bought.c.customer_id, bought.c.day)).all():
            new[int(customer)].add(day)
    moved: Counter[tuple[dt.date, dt.date]] = Counter()
    gone: list[dict[str, Any]] = []
    came: list[dict[str, Any]] = []
    for customer in ids:
        before, after = old[customer], new[customer]
        if before == after:
            continue
        moved.subtract(_gaps(before))
        moved.update(_gaps(after))
        gone += [{"c": customer, "d": day} for day in before - after]
        came += [{"account_id": account_id, "customer_id": customer, "day": day} for day in after - before]
    if gone:
        conn.execute(
            delete(customer_days).where(
                cd.account_id == account_id, cd.customer_id == bindparam("c"), cd.day == bindparam("d")
            ),
            gone,
        )
    if came:
        conn.execute(insert(customer_days), came)
    _move_gaps(conn, account_id, moved)


def _move_gaps(conn: Connection, account_id: int, moved: Counter[tuple[dt.date, dt.date]]) -> None:
    """Add ``moved`` ((day, previous day) -> change in customers) to customer_day_gaps, dropping
    the rows that reach 0."""
    changes = [
        {"account_id": account_id, "day": day, "previous_day": previous, "customers": n}
        for (day, previous), n in sorted(moved.items())
        if n
    ]
    if not changes:
        return
    upsert = _dialect_insert(conn)(customer_day_gaps)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[gaps.account_id, gaps.day, gaps.previous_day],
            set_={"customers": gaps.customers + upsert.excluded.customers},
        ),
        changes,
    )
    emptied = [{"d": day, "p": previous} for (day, previous), n in moved.items() if n < 0]
    if emptied:
        conn.execute(
            delete(customer_day_gaps).where(
                gaps.account_id == account_id,
                gaps.day == bindparam("d"),
                gaps.previous_day == bindparam("p"),
                gaps.customers == 0,
            ),
            emptied,
        )


def add_new_customer_orders(
    conn: Connection,
    account_id: int,
    tz: str,
    new_orders: Sequence[tuple[int | None, OrderRecord]],
) -> None:
    """Add orders just inserted ((customer id, record); none of them was stored before) to their
    customers' rows, inside the caller's transaction, reading only what they change: each
    customer's ceiling grows by the orders' net amounts, and their new purchase days go into the
    chain next to the days around them (the last day before the earliest new one, and any after),
    so an import of today's orders costs one short read per customer, whatever their history.
    Exactly what :func:`refresh_customers` would give (the property tests compare with a full
    recomputation)."""
    counted = [(c, r) for c, r in new_orders if c is not None and r.status != CANCELLED]
    if not counted:
        return
    if conn.dialect.name == "postgresql":
        bought, around = _add_ceilings_and_find_days(conn, account_id, tz, counted)
    else:
        bought = _add_ceilings_and_local_days(conn, account_id, tz, counted)
        around = list(_days_around(conn, account_id, sorted((c, min(days)) for c, days in bought.items())))
    before: dict[int, dt.date] = {}
    after: dict[int, set[dt.date]] = {c: set() for c in bought}
    later: dict[int, dt.date] = {}  # customers with days on or after their earliest new one
    for customer, last_day, next_day in around:
        if last_day is not None:
            before[customer] = last_day
        if next_day is not None:
            later[customer] = min(bought[customer])
    # rare (new orders older than a customer's latest day): their days from there on
    for chunk in _chunks(sorted(later), 2000):
        since = min(later[c] for c in chunk)
        rows = conn.execute(
            select(cd.customer_id, cd.day).where(
                cd.account_id == account_id, cd.customer_id.in_(list(chunk)), cd.day >= since
            )
        ).all()
        for customer, day in rows:
            if day >= later[int(customer)]:
                after[int(customer)].add(day)
    moved: Counter[tuple[dt.date, dt.date]] = Counter()
    came: list[tuple[int, dt.date]] = []
    for customer, days in bought.items():
        start = before.get(customer, NEVER_BOUGHT)
        old = after[customer]
        if not old:
            # the usual import (every new day after the customer's stored ones): the new days
            # extend the chain, and nothing in it moves (what _gaps would say, for less)
            previous = start
            for day in sorted(days):
                moved[(day, previous)] += 1
                came.append((customer, day))
                previous = day
            continue
        fresh = days - old
        if not fresh:
            continue
        moved.subtract(_gaps(old, start))
        moved.update(_gaps(old | fresh, start))
        came += [(customer, day) for day in sorted(fresh)]
    _add_customer_days(conn, account_id, came)
    _move_gaps(conn, account_id, moved)


Around = list[tuple[int, dt.date | None, dt.date | None]]

# On Postgres, in one statement: each customer's ceiling grows by their new orders' net amounts
# (negatives as 0), and per customer come back their new orders' local days and, around the
# earliest of them, their last stored purchase day before it and their first on or after it.
_ADD_CUSTOMER_ORDERS = """
WITH g AS (
    SELECT g.c, CAST(timezone(%(tz)s, g.at) AS date) AS day, GREATEST(g.net, 0) AS net
    FROM unnest(%(c)s::bigint[], %(at)s::timestamptz[], %(net)s::numeric[]) AS g(c, at, net)
), ceilings AS (
    INSERT INTO customer_totals AS t (account_id, customer_id, net_ceiling)
    SELECT %(account)s, c, sum(net) FROM g GROUP BY c
    ON CONFLICT (account_id, customer_id) DO UPDATE SET net_ceiling = t.net_ceiling + excluded.net_ceiling
), bought AS (
    SELECT c, array_agg(DISTINCT day) AS days, min(day) AS first FROM g GROUP BY c
)
SELECT b.c, b.days,
       (SELECT max(x.day) FROM customer_days x
        WHERE x.account_id = %(account)s AND x.customer_id = b.c AND x.day < b.first),
       (SELECT min(x.day) FROM customer_days x
        WHERE x.account_id = %(account)s AND x.customer_id = b.c AND x.day >= b.first)
FROM bought AS b
"""


def _add_ceilings_and_find_days(
    conn: Connection, account_id: int, tz: str, counted: Sequence[tuple[int, OrderRecord]]
) -> tuple[dict[int, set[dt.date]], Around]:
    with driver.cursor(conn) as cursor:
        cursor.execute(
            _ADD_CUSTOMER_ORDERS,
            {
                "account": account_id,
                "tz": tz,
                "c": driver.number_array(c for c, _r in counted),
                "at": driver.instant_array(r.order_date for _c, r in counted),
                "net": driver.number_array(r.total_amount - r.refunded_amount for _c, r in counted),
            },
        )
        rows = cursor.fetchall()
    bought = {int(c): set(days) for c, days, _before, _after in rows}
    return bought, [(int(c), last_day, next_day) for c, _days, last_day, next_day in rows]


def _add_ceilings_and_local_days(
    conn: Connection, account_id: int, tz: str, counted: Sequence[tuple[int, OrderRecord]]
) -> dict[int, set[dt.date]]:
    """SQLite: the ceilings' additions, and per customer the local days of their new orders (by
    the same Python computation SQLite's ebaydash_local_date makes, ebaydash.db.engine)."""
    ceilings: dict[int, Decimal] = {}
    zone = ZoneInfo(tz)
    bought: dict[int, set[dt.date]] = {}
    for customer, record in counted:
        net = record.total_amount - record.refunded_amount
        ceilings[customer] = ceilings.get(customer, Decimal(0)) + max(net, Decimal(0))
        bought.setdefault(customer, set()).add(record.order_date.astimezone(zone).date())
    upsert = _dialect_insert(conn)(customer_totals)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[totals.account_id, totals.customer_id],
            set_={"net_ceiling": totals.net_ceiling + upsert.excluded.net_ceiling},
        ),
        [{"account_id": account_id, "customer_id": c, "net_ceiling": n} for c, n in sorted(ceilings.items())],
    )
    return bought


def _add_customer_days(conn: Connection, account_id: int, came: Sequence[tuple[int, dt.date]]) -> None:
    if not came:
        return
    if conn.dialect.name == "postgresql":
        with driver.cursor(conn) as cursor:
            cursor.execute(
                "INSERT INTO customer_days (account_id, customer_id, day) "
                "SELECT %(account)s, g.c, g.d FROM unnest(%(c)s::bigint[], %(d)s::date[]) AS g(c, d)",
                {
                    "account": account_id,
                    "c": driver.number_array(c for c, _d in came),
                    "d": driver.date_array(d for _c, d in came),
                },
            )
        return
    conn.execute(
        insert(customer_days), [{"account_id": account_id, "customer_id": c, "day": d} for c, d in came]
    )


def _days_around(
    conn: Connection, account_id: int, firsts: Sequence[tuple[int, dt.date]]
) -> Iterator[tuple[int, dt.date | None, dt.date | None]]:
    """SQLite: per (customer, day), the customer's last stored purchase day before it and their
    first on or after it (``None`` when there is none), each a probe of customer_days' key."""
    for chunk in _chunks(firsts, 2000):
        # a CTE, not a FROM (VALUES …) AS t (c, m): SQLite has no column aliases there
        given = values(column("c", BigInteger), column("m", SADate), name="firsts").data(list(chunk)).cte()
        mine = and_(cd.account_id == account_id, cd.customer_id == given.c.c)
        last_before = select(func.max(cd.day)).where(mine, cd.day < given.c.m).scalar_subquery()
        first_after = select(func.min(cd.day)).where(mine, cd.day >= given.c.m).scalar_subquery()
        for customer, day, next_day in conn.execute(select(given.c.c, last_before, first_after)).all():
            yield int(customer), day, next_day


def _dialect_insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _gap_sums(account_id: int) -> Select[Any]:
    """customer_day_gaps of the account, computed from its stored customer_days."""
    chain = (
        select(
            cd.day,
            func.coalesce(
                func.lag(cd.day).over(partition_by=cd.customer_id, order_by=cd.day),
                bindparam("never", NEVER_BOUGHT, type_=customer_days.c.day.type),
            ).label("previous_day"),
        )
        .where(cd.account_id == account_id)
        .subquery("chain")
    )
    return select(
        literal_column(str(int(account_id))).label("account_id"),
        chain.c.day,
        chain.c.previous_day,
        func.count().label("customers"),
    ).group_by(chain.c.day, chain.c.previous_day)


_CUSTOMER_DAY_COLUMNS = [c.name for c in customer_days.columns]
_TOTAL_COLUMNS = [c.name for c in customer_totals.columns]
_GAP_COLUMNS = [c.name for c in customer_day_gaps.columns]


def _account_ids(conn: Connection, account_ids: Iterable[int] | None) -> list[tuple[int, str]]:
    stmt = select(accounts.c.id, accounts.c.timezone).order_by(accounts.c.id)
    if account_ids is not None:
        wanted = sorted({int(a) for a in account_ids})
        if not wanted:
            return []
        stmt = stmt.where(accounts.c.id.in_(wanted))
    return [(int(a), str(tz)) for a, tz in conn.execute(stmt).all()]


_TABLES = (day_rollups, sku_day_rollups, sku_month_rollups, customer_days, customer_day_gaps, customer_totals)


def _present(conn: Connection) -> set[str]:
    """The rollup tables the database holds. A database is always at the current revision when
    the app writes to it; an older one (a test of a migration that loads data at the revision
    before it) lacks the customer tables revision 0008 added, and rebuild and check skip them."""
    names = set(inspect(conn).get_table_names())
    return {table.name for table in _TABLES if table.name in names}


def rebuild(conn: Connection, account_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Rebuild every rollup row of ``account_ids`` (all accounts when ``None``) from the orders,
    inside the caller's transaction; rows written per table."""
    backend = _backend(conn)
    present = _present(conn)
    tables = [table for table in _TABLES if table.name in present]
    done = _account_ids(conn, account_ids)
    for account_id, tz in done:
        for table in tables:
            conn.execute(delete(table).where(table.c.account_id == account_id))
        conn.execute(insert(day_rollups).from_select(_DAY_COLUMNS, _day_sums(account_id, tz, backend, [])))
        conn.execute(
            insert(sku_day_rollups).from_select(_SKU_COLUMNS, _sku_sums(account_id, tz, backend, []))
        )
        if sku_month_rollups.name in present:
            conn.execute(
                insert(sku_month_rollups).from_select(
                    _SKU_MONTH_COLUMNS, _month_sums(account_id, backend, None)
                )
            )
        if customer_days.name not in present:
            continue
        conn.execute(
            insert(customer_days).from_select(
                _CUSTOMER_DAY_COLUMNS, _purchase_days(account_id, tz, backend, [])
            )
        )
        conn.execute(insert(customer_day_gaps).from_select(_GAP_COLUMNS, _gap_sums(account_id)))
        conn.execute(insert(customer_totals).from_select(_TOTAL_COLUMNS, _ceilings(account_id, [])))
    # counted afterwards: drivers disagree on the row count of INSERT … SELECT
    ids = [account_id for account_id, _tz in done]
    written = {}
    for table in tables:
        count = select(func.count()).select_from(table).where(table.c.account_id.in_(ids))
        written[table.name] = int(conn.execute(count).scalar_one()) if ids else 0
    return written


@dataclass(frozen=True)
class Difference:
    """One rollup row that differs from a full recomputation: ``stored`` or ``expected`` is
    ``None`` when the row is missing on that side."""

    table: str
    account_id: int
    key: tuple[Any, ...]
    stored: tuple[Any, ...] | None
    expected: tuple[Any, ...] | None

    def describe(self) -> str:
        return (
            f"{self.table}: account {self.account_id} {' '.join(map(str, self.key))}: "
            f"stored {self.stored}, orders say {self.expected}"
        )


def _keyed(rows: Iterable[Row[Any]], key_size: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(row[1 : 1 + key_size]): tuple(row[1 + key_size :]) for row in rows}


def check(conn: Connection, account_ids: Iterable[int] | None = None) -> list[Difference]:
    """Every rollup row of ``account_ids`` (all when ``None``) that differs from a full
    recomputation from the orders; an empty list when they agree."""
    backend = _backend(conn)
    present = _present(conn)
    found: list[Difference] = []
    for account_id, tz in _account_ids(conn, account_ids):
        for table, sums, key_size in (
            (day_rollups, _day_sums(account_id, tz, backend, []), 2),
            (sku_day_rollups, _sku_sums(account_id, tz, backend, []), 2),
            (sku_month_rollups, _month_sums_of_orders(account_id, tz, backend), 2),
            (customer_days, _purchase_days(account_id, tz, backend, []), 2),
            (customer_day_gaps, _gap_sums_of_orders(account_id, tz, backend), 2),
            (customer_totals, _ceilings(account_id, []), 1),
        ):
            if table.name not in present:
                continue
            computed = sums.subquery("computed")
            expected_stmt = select(*[type_coerce(computed.c[c.name], c.type) for c in table.columns])
            expected = _keyed(conn.execute(expected_stmt).all(), key_size)
            stored = _keyed(
                conn.execute(select(table).where(table.c.account_id == account_id)).all(), key_size
            )
            for key in sorted(set(expected) | set(stored), key=str):
                want, got = expected.get(key), stored.get(key)
                if want != got:
                    found.append(Difference(table.name, account_id, key, got, want))
    return found


def _gap_sums_of_orders(account_id: int, tz: str, backend: str) -> Select[Any]:
    """customer_day_gaps of the account as the orders alone say (for :func:`check`)."""
    bought = _purchase_days(account_id, tz, backend, []).subquery("bought")
    chain = select(
        bought.c.day,
        func.coalesce(
            func.lag(bought.c.day).over(partition_by=bought.c.customer_id, order_by=bought.c.day),
            bindparam("never", NEVER_BOUGHT, type_=customer_days.c.day.type),
        ).label("previous_day"),
    ).subquery("chain")
    return select(
        literal_column(str(int(account_id))).label("account_id"),
        chain.c.day,
        chain.c.previous_day,
        func.count().label("customers"),
    ).group_by(chain.c.day, chain.c.previous_day)
