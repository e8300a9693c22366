"""ALL the SQL: one function per query, bound parameters only, allow-listed sorts and filters.

Each function runs exactly one statement through :class:`~ebaydash.db.engine.Database` (so it has
a time limit and is measured) and aggregates in the database: nothing here pulls a table into
Python to sum it. The dashboard's reads (accounts, figures, the orders listing and an order's detail)
are marked ``replica_ok``: a read replica, when configured and close enough behind, answers them.

The overview's statements here (KPIs, trend, top products, status mix) read the orders themselves:
they define the figures. The services read them through the rollups
(:mod:`ebaydash.db.rollup_reads`), which return the same rows; these stay as the reference the tests
and the benchmark compare with.

Account metrics never join orders to listings or products in one FROM: those joins fan out and
multiply sums. Each table is aggregated in its own one-row subquery and the rows are then combined.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
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
from sqlalchemy.sql.elements import BindParameter

from ebaydash.db import data_versions, rollups
from ebaydash.db.engine import Database
from ebaydash.db.figures import CANCELLED, local_day
from ebaydash.db.schema import accounts, customers, listings, order_items, orders, products
from ebaydash.db.types import Money, UTCDateTime
from ebaydash.errors import InvalidInput
from ebaydash.models import Granularity, OrderFilter, Window

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
    return db.fetch_all("list_accounts", stmt, replica_ok=True)


def first_order_at(db: Database, account_id: int) -> dt.datetime | None:
    """When the account's first order was placed (any status: it is where the account's order
    data starts), an aware UTC datetime; ``None`` for an account without orders. One index probe
    on (account_id, order_date), like the last order of :func:`list_accounts`."""
    first = type_coerce(func.min(o.order_date), UTCDateTime).label("first_order_at")
    row = db.fetch_one("first_order_at", select(first).where(o.account_id == account_id), replica_ok=True)
    return row.first_order_at if row is not None else None


# -- KPIs ---------------------------------------------------------------------------------------


def _money(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """A money aggregate that is 0, never NULL, when nothing matches."""
    return type_coerce(func.coalesce(expression, literal(0)), Money)


def _live_at(moment: Any) -> ColumnElement[bool]:
    """A listing active in the last instant before ``moment`` (a datetime or a bound parameter;
    a window's end is exclusive, so this is "active when the window closed"): started before it
    and not ended before it. A listing marked ended without an end time counts as ended. Sold-out
    listings stay up until they end (eBay keeps them active, hidden from search), so they count."""
    lc = listings.c
    return and_(
        lc.started_at < moment,
        or_(lc.ended_at >= moment, and_(lc.ended_at.is_(None), lc.status != "ended")),
    )


def account_kpis(db: Database, account_id: int, window: Window, now: dt.datetime) -> Row[Any]:
    """Orders, revenue, customers, refunds, cancellations, listings and products for ``window``
    and for ``window.previous()``, in one statement and one round trip.

    Orders are read once over both windows (one index range; index-only on Postgres) and split
    with FILTER; cancelled orders and listings are aggregated in their own one-row subqueries.
    Every side returns exactly one row, so joining them cannot fan out.
    """
    previous = window.previous()
    assert previous.end == window.start  # the two windows are contiguous: one range holds both
    # Listings "now" are those active at the end of the window (or now, while it is still open);
    # the comparison is with those active at its start, i.e. the end of the previous window.
    params = {
        "account_id": account_id,
        "prev_start": previous.start,
        "cur_start": window.start,
        "end": window.end,
        "end_moment": min(window.end, now),
    }
    row = db.fetch_one("account_kpis", _account_kpis_statement(), params=params, replica_ok=True)
    assert row is not None  # aggregates without GROUP BY always return one row
    return row


@functools.cache
def _account_kpis_statement() -> Select[Any]:
    """The KPI statement, built once with named parameters (see :func:`account_kpis`).

    Building this statement anew on every call cost ~5 ms of Python (SQLAlchemy constructs and
    then hashes ~100 clause objects for its compiled cache), a third of the statement's own time
    on Postgres at 45k orders: issue 17 measured the service at 1.38x the raw SQL, most of it this.
    """
    account_id = bindparam("account_id", type_=BigInteger)
    # typed by the columns they are compared with (UTCDateTime)
    prev_start: BindParameter[Any] = bindparam("prev_start")
    cur_start: BindParameter[Any] = bindparam("cur_start")
    end: BindParameter[Any] = bindparam("end")
    end_moment: BindParameter[Any] = bindparam("end_moment")
    span = and_(o.account_id == account_id, o.order_date >= prev_start, o.order_date < end)
    # Cancelled orders are filtered out once per row in WHERE (not in every aggregate's FILTER),
    # and each row's window is computed once in a subquery Postgres may not flatten (OFFSET 0):
    # per-row work was most of this statement's time at 45k orders (47 -> ~38 ms).
    live = (
        select(
            (o.order_date >= cur_start).label("cur"),
            o.customer_id,
            o.total_amount,
            o.refunded_amount,
        )
        .where(span, o.status != CANCELLED)
        .offset(0)
        .subquery("live")
    )
    f = live.c

    def order_figures(in_period: Any, suffix: str) -> list[ColumnElement[Any]]:
        # revenue = totals - refunds: the refunds SUM is the same aggregate as the refunded figure,
        # which Postgres computes once
        totals = func.sum(f.total_amount).filter(in_period)
        refunded = func.sum(f.refunded_amount).filter(in_period)
        return [
            func.count().filter(in_period).label(f"orders_{suffix}"),
            _money(totals - refunded).label(f"revenue_{suffix}"),
            func.count(func.distinct(f.customer_id)).filter(in_period).label(f"customers_{suffix}"),
            func.count().filter(and_(in_period, f.refunded_amount > 0)).label(f"refunds_{suffix}"),
            _money(refunded).label(f"refunded_{suffix}"),
        ]

    order_agg = select(*order_figures(f.cur, "cur"), *order_figures(~f.cur, "prev")).subquery("order_agg")
    # few orders are cancelled: the (account, status, date) index finds them directly
    cancelled_agg = (
        select(
            func.count().filter(o.order_date >= cur_start).label("cancelled_cur"),
            func.count().filter(o.order_date < cur_start).label("cancelled_prev"),
        )
        .where(span, o.status == CANCELLED)
        .subquery("cancelled_agg")
    )
    listing_agg = listing_figures_at(account_id, cur_start, end_moment)
    # the account's currency rides along, so a cold overview needs no second round trip
    currency = select(accounts.c.currency).where(accounts.c.id == account_id).scalar_subquery()
    return select(order_agg, cancelled_agg, listing_agg, currency.label("currency")).select_from(
        order_agg.join(cancelled_agg, true()).join(listing_agg, true())
    )


def listing_figures(account_id: int, window: Window, now: dt.datetime) -> Any:
    """A one-row subquery: listings and distinct products active when ``window`` closed (now,
    while it is open) and when it started (``listings_cur``, ``listings_prev``, ``products_cur``,
    ``products_prev``), and ``listings_known``: how many listings the account has at all (none:
    ebaydash was never told, as after importing orders only)."""
    # Listings "now" are those active at the end of the window (or now, while it is still open);
    # the comparison is with those active at its start, i.e. the end of the previous window.
    return listing_figures_at(account_id, window.start, min(window.end, now))


def listing_figures_at(account_id: Any, start: Any, end_moment: Any) -> Any:
    """:func:`listing_figures` for a window starting at ``start`` whose listings "now" are those
    active at ``end_moment``; each a value or a bound parameter."""
    lc = listings.c
    return (
        select(
            func.count().filter(_live_at(end_moment)).label("listings_cur"),
            func.count().filter(_live_at(start)).label("listings_prev"),
            func.count(func.distinct(lc.product_id)).filter(_live_at(end_moment)).label("products_cur"),
            func.count(func.distinct(lc.product_id)).filter(_live_at(start)).label("products_prev"),
            func.count().label("listings_known"),  # none at all: ebaydash was never told
        )
        .where(lc.account_id == account_id)
        .subquery("listing_agg")
    )


# -- trends -------------------------------------------------------------------------------------


def local_week(column: ColumnElement[Any], tz: str, backend: str) -> ColumnElement[Any]:
    """The Monday starting the local (ISO) week of a UTC timestamp in zone ``tz``."""
    if backend == "sqlite":
        # back six days, then forward to the next Monday: the Monday on or before the day
        return type_coerce(func.date(func.ebaydash_local_date(column, tz), "-6 days", "weekday 1"), SADate())
    return cast(func.date_trunc("week", func.timezone(tz, column)), SADate)


def _in_window(window: Window) -> list[ColumnElement[bool]]:
    return [o.order_date >= window.start, o.order_date < window.end]


def revenue_trend(
    db: Database, account_id: int, window: Window, tz: str, granularity: Granularity = "day"
) -> Sequence[Row[Any]]:
    """Orders and net revenue per local day (or ISO week) inside ``window``, cancelled excluded.
    Buckets without orders are absent; the caller fills them."""
    bucketing = local_week if granularity == "week" else local_day
    bucket = bucketing(o.order_date, tz, db.backend).label("bucket")
    stmt = (
        select(
            bucket,
            func.count().label("orders"),
            _money(func.sum(o.total_amount - o.refunded_amount)).label("revenue"),
        )
        .where(o.account_id == account_id, *_in_window(window), o.status != CANCELLED)
        .group_by(bucket)
        .order_by(bucket)
    )
    return db.fetch_all(f"revenue_trend_{granularity}", stmt, replica_ok=True)


# -- top lists and status mix ---------------------------------------------------------------------

TopProductsBy = Literal["revenue", "units"]
MAX_TOP = 100


def _top_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_TOP:
        raise InvalidInput(f"A top list holds between 1 and {MAX_TOP} entries.")
    return limit


def top_products(
    db: Database, account_id: int, window: Window, by: TopProductsBy, limit: int
) -> Sequence[Row[Any]]:
    """The best-selling SKUs of the window by line revenue (quantity × unit price) or by units.

    Lines of cancelled and fully refunded orders are left out (those goods did not stay sold);
    shipping and partial refunds belong to orders, not to products, so they are not spread over
    lines. Ties break by SKU so the list is stable. The title is the catalogue's when the SKU is in
    it, else the line's.
    """
    items = order_items.c
    revenue = _money(func.sum(items.quantity * items.unit_price))
    units = func.sum(items.quantity)
    ranking = [revenue.desc(), units.desc()] if by == "revenue" else [units.desc(), revenue.desc()]
    agg = (
        select(
            items.sku,
            func.max(items.title).label("line_title"),
            units.label("units"),
            revenue.label("revenue"),
            func.count(func.distinct(items.order_id)).label("orders"),
        )
        .select_from(order_items.join(orders, o.id == items.order_id))
        .where(o.account_id == account_id, *_in_window(window), o.status.not_in((CANCELLED, "refunded")))
        .group_by(items.sku)
        .order_by(*ranking, items.sku)
        .limit(_top_limit(limit))
        .subquery("agg")
    )
    stmt = ranked_products(agg, account_id, by)
    return db.fetch_all(f"top_products_by_{by}", stmt, replica_ok=True)


def ranked_products(agg: Any, account_id: int, by: TopProductsBy) -> Select[Any]:
    """The top products' rows from ``agg`` (a subquery of ``sku``, ``line_title``, ``units``,
    ``revenue``, ``orders``): each SKU titled from its product (else its newest line's title),
    ranked by ``by`` then the other figure, ties by SKU. Shared by the plain and rollup reads."""
    # (account_id, sku) is unique in products, so this join adds a title and never a row
    return (
        select(
            agg.c.sku,
            func.coalesce(products.c.title, agg.c.line_title).label("title"),
            agg.c.units,
            type_coerce(agg.c.revenue, Money).label("revenue"),
            agg.c.orders,
        )
        .select_from(
            agg.outerjoin(products, and_(products.c.account_id == account_id, products.c.sku == agg.c.sku))
        )
        .order_by(
            *(
                [agg.c.revenue.desc(), agg.c.units.desc()]
                if by == "revenue"
                else [agg.c.units.desc(), agg.c.revenue.desc()]
            ),
            agg.c.sku,
        )
    )


def top_buyers(db: Database, account_id: int, window: Window, limit: int) -> Sequence[Row[Any]]:
    """Buyers with the most net revenue in the window (cancelled orders excluded); ties by id."""
    revenue = _money(func.sum(o.total_amount - o.refunded_amount))
    agg = (
        select(o.customer_id, func.count().label("orders"), revenue.label("revenue"))
        .where(
            o.account_id == account_id,
            *_in_window(window),
            o.status != CANCELLED,
            o.customer_id.is_not(None),
        )
        .group_by(o.customer_id)
        .order_by(revenue.desc(), func.count().desc(), o.customer_id)
        .limit(_top_limit(limit))
        .subquery("agg")
    )
    stmt = (
        select(
            agg.c.customer_id,
            customers.c.ebay_username.label("username"),
            agg.c.orders,
            type_coerce(agg.c.revenue, Money).label("revenue"),
        )
        .select_from(agg.join(customers, customers.c.id == agg.c.customer_id))
        .order_by(agg.c.revenue.desc(), agg.c.orders.desc(), agg.c.customer_id)
    )
    return db.fetch_all("top_buyers", stmt, replica_ok=True)


def status_mix(db: Database, account_id: int, window: Window) -> Sequence[Row[Any]]:
    """Orders and their total amount per status in the window, cancelled included."""
    stmt = (
        select(o.status, func.count().label("orders"), _money(func.sum(o.total_amount)).label("amount"))
        .where(o.account_id == account_id, *_in_window(window))
        .group_by(o.status)
        .order_by(o.status)
    )
    return db.fetch_all("status_mix", stmt, replica_ok=True)


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
MAX_BUYER_CHARS = 128


def sort_spec(sort: str) -> SortSpec:
    spec = SORTS.get(sort)
    if spec is None:
        raise InvalidInput(f"Unknown sort {sort!r}; choose one of {', '.join(SORTS)}.")
    return spec


def check_text(value: str, what: str, limit: int) -> str:
    """Refuse text no database could match literally: too long, control characters (Postgres text
    cannot hold NUL) or lone surrogates (not encodable). Anything else is matched literally."""
    if len(value) > limit:
        raise InvalidInput(f"{what} is limited to {limit:,} characters (got {len(value):,}).")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise InvalidInput(f"{what} contains control or invalid characters; remove them and try again.")
    return value


def _contains(column: ColumnElement[Any], text: str) -> ColumnElement[bool]:
    # autoescape: %, _ and the escape character itself are matched literally, on both backends
    return column.icontains(text, autoescape=True)


def _filtered(account_id: int, flt: OrderFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [o.account_id == account_id]
    if flt.statuses:
        conditions.append(o.status.in_(flt.statuses))
    if flt.window is not None:
        conditions.extend(_in_window(flt.window))
    if flt.buyer:
        buyer = check_text(flt.buyer, "The buyer filter", MAX_BUYER_CHARS)
        conditions.append(
            o.customer_id.in_(
                select(customers.c.id).where(
                    customers.c.account_id == account_id, _contains(customers.c.ebay_username, buyer)
                )
            )
        )
    if flt.search:
        search = check_text(flt.search, "Search text", MAX_SEARCH_CHARS)
        items = order_items.c
        conditions.append(
            or_(
                _contains(o.ebay_order_id, search),
                exists().where(
                    items.order_id == o.id,
                    or_(_contains(items.sku, search), _contains(items.title, search)),
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


def _with_buyer() -> Any:
    return orders.outerjoin(customers, customers.c.id == o.customer_id)


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
    spec = sort_spec(sort)
    if after is not None and before is not None:
        raise ValueError("give after or before, not both")
    conditions = _filtered(account_id, flt)
    key = tuple_(spec.column, o.id)
    backwards = before is not None
    boundary = before if backwards else after
    if boundary is not None:
        value_type = UTCDateTime() if spec.kind == "datetime" else Money()
        bound = tuple_(literal(boundary[0], value_type), literal(boundary[1], BigInteger()))
        # walking forward in a descending sort means smaller keys; backwards means larger
        smaller = spec.descending != backwards
        conditions.append(key < bound if smaller else key > bound)
    ascending = spec.descending == backwards
    ordering = [spec.column.asc(), o.id.asc()] if ascending else [spec.column.desc(), o.id.desc()]
    stmt = (
        select(*_order_columns())
        .select_from(_with_buyer())
        .where(*conditions)
        .order_by(*ordering)
        .limit(limit + 1)
    )
    rows = db.fetch_all("orders_page", stmt, replica_ok=True)
    return list(reversed(rows)) if backwards else rows


def orders_count(db: Database, account_id: int, flt: OrderFilter) -> int:
    stmt = select(func.count()).select_from(orders).where(*_filtered(account_id, flt))
    row = db.fetch_one("orders_count", stmt, replica_ok=True)
    return int(row[0]) if row else 0


def order_detail(db: Database, account_id: int, order_id: int) -> Row[Any] | None:
    stmt = (
        select(*_order_columns(), o.updated_at, customers.c.email.label("buyer_email"))
        .select_from(_with_buyer())
        .where(o.account_id == account_id, o.id == order_id)
    )
    return db.fetch_one("order_detail", stmt, replica_ok=True)


def order_lines(db: Database, account_id: int, order_id: int) -> Sequence[Row[Any]]:
    items = order_items.c
    stmt = (
        select(items.sku, items.title, items.quantity, items.unit_price)
        .select_from(order_items.join(orders, orders.c.id == items.order_id))
        .where(o.account_id == account_id, items.order_id == order_id)
        .order_by(items.id)
    )
    return db.fetch_all("order_lines", stmt, replica_ok=True)


def export_orders(
    db: Database,
    account_id: int,
    flt: OrderFilter,
    sort: str,
    *,
    timeout_ms: int | None = None,
    line_items: bool = False,
) -> Iterator[Row[Any]]:
    """Every order matching ``flt`` in ``sort`` order, streamed with a server-side cursor.
    ``line_items``: one row per line item instead (``sku``, ``title``, ``quantity``,
    ``unit_price`` added, in the item's order within its order; an order without items keeps one
    row with those empty)."""
    spec = sort_spec(sort)
    ordering = [spec.column.desc(), o.id.desc()] if spec.descending else [spec.column.asc(), o.id.asc()]
    if not line_items:
        stmt = (
            select(*_order_columns())
            .select_from(_with_buyer())
            .where(*_filtered(account_id, flt))
            .order_by(*ordering)
        )
        return db.stream("export_orders", stmt, timeout_ms=timeout_ms)
    # an alias: the item count and the search's EXISTS read order_items too, and must not be
    # correlated with this join's row
    line = order_items.alias("line")
    stmt = (
        select(*_order_columns(), line.c.sku, line.c.title, line.c.quantity, line.c.unit_price)
        .select_from(_with_buyer().outerjoin(line, line.c.order_id == o.id))
        .where(*_filtered(account_id, flt))
        .order_by(*ordering, line.c.id)
    )
    return db.stream("export_order_items", stmt, timeout_ms=timeout_ms)


def order_count_total(db: Database) -> int:
    row = db.fetch_one("order_count_total", select(func.count()).select_from(orders))
    return int(row[0]) if row else 0


# -- scaling state (monitor) ----------------------------------------------------------------------
# The rules engine's shared memory. Writers use compare-and-set on ``version``: an UPDATE that
# names the version it read changes nothing when another replica wrote first, and the caller
# re-reads and re-decides. The first write of a scope is an INSERT that loses to a concurrent one.


def scaling_state_row(db: Database, scope: str) -> Row[Any] | None:
    from ebaydash.db.schema import scaling_state

    return db.fetch_one("scaling_state", select(scaling_state).where(scaling_state.c.scope == scope))


def scaling_state_write(
    db: Database,
    scope: str,
    expected_version: int,
    values: dict[str, Any],
    action: dict[str, Any] | None = None,
) -> bool:
    """Store ``values`` as version ``expected_version + 1`` if the row is still at
    ``expected_version`` (0: no row yet), and record ``action`` in the same transaction.
    False when another writer got there first."""
    from sqlalchemy import insert, update
    from sqlalchemy.exc import IntegrityError

    from ebaydash.db.schema import scaling_actions, scaling_state

    row = {**values, "version": expected_version + 1}
    try:
        with db.transaction() as conn:
            if expected_version == 0:
                conn.execute(insert(scaling_state).values(scope=scope, **row))
            else:
                result = conn.execute(
                    update(scaling_state)
                    .where(scaling_state.c.scope == scope, scaling_state.c.version == expected_version)
                    .values(**row)
                )
                if result.rowcount != 1:
                    return False
            if action is not None:
                conn.execute(insert(scaling_actions).values(scope=scope, **action))
    except IntegrityError:  # another replica inserted the first row at the same moment
        return False
    return True


def scaling_actions_recent(db: Database, scope: str, limit: int = 50) -> Sequence[Row[Any]]:
    from ebaydash.db.schema import scaling_actions

    stmt = (
        select(scaling_actions)
        .where(scaling_actions.c.scope == scope)
        .order_by(scaling_actions.c.at.desc(), scaling_actions.c.id.desc())
        .limit(limit)
    )
    return db.fetch_all("scaling_actions_recent", stmt)


def scaling_action_insert(db: Database, scope: str, action: dict[str, Any]) -> None:
    """Record what an actor did to carry out a claimed action (``ebaydash autoscale``: a replica
    started, drained and stopped, or lost), without touching the scaling state."""
    from sqlalchemy import insert

    from ebaydash.db.schema import scaling_actions

    with db.transaction() as conn:
        conn.execute(insert(scaling_actions).values(scope=scope, **action))


# -- order writes -------------------------------------------------


def update_order_status(db: Database, account_id: int, order_id: int, status: str, now: dt.datetime) -> bool:
    """Set one order's status (and ``updated_at``) and recompute its day's rollups in the same
    transaction; False when the account has no such order."""
    stmt = (
        orders.update()
        .where(o.account_id == account_id, o.id == order_id)
        .values(status=status, updated_at=now)
    )
    with db.transaction() as conn:
        if conn.execute(stmt).rowcount != 1:
            return False
        data_versions.bump(conn, account_id)  # the cache's invalidation, committed with the change
        tz = rollups.account_timezone(conn, account_id)
        rollups.refresh_days(conn, account_id, rollups.days_of_orders(conn, account_id, tz, [order_id]), tz)
        rollups.refresh_customers(
            conn, account_id, rollups.customers_of_orders(conn, account_id, [order_id]), tz
        )
        return True
