"""Seller-facing services: accounts, overview figures, orders. Read through the cache, per account.

Every function about one account takes the viewer after the context, then the account id, and
checks the viewer's grant first (``@for_account``): before the cache, before the database.

Account data is cached in the account's namespace (``acct:{id}``), so an import into one account
invalidates exactly that account's figures. Callers pass ``fresh=True`` to bypass the cache and
repopulate it (the refresh button).
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import functools
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Row

from ebaydash.cache import cacheable
from ebaydash.context import Context
from ebaydash.db import queries, rollup_reads, scope
from ebaydash.db.pagination import Cursor, Direction, decode_cursor, encode_cursor, fingerprint
from ebaydash.db.schema import ORDER_STATUSES
from ebaydash.errors import DatabaseError, InvalidCursor, InvalidInput, NotFound
from ebaydash.models import (
    Account,
    Kpi,
    Kpis,
    OrderDetail,
    OrderFilter,
    OrderItem,
    OrderRow,
    OrdersPage,
    Overview,
    StatusCount,
    TopBuyer,
    TopProduct,
    Trend,
    TrendPoint,
    Window,
    granularity_for,
    local_today,
)
from ebaydash.money import to_money
from ebaydash.plaintext import spreadsheet_safe
from ebaydash.services import namespaces
from ebaydash.services._access import for_account
from ebaydash.services._measure import measured
from ebaydash.viewer import Viewer

log = logging.getLogger(__name__)

PAGE_SIZES = (25, 50, 100)
ZERO = Decimal("0.00")

# What each overview figure means: the tiles' help text, and README's "Figures" section (a test
# keeps the two equal). The window is the sidebar's period in the account's time zone; each figure
# is compared with the window of the same number of days just before it.
FIGURES: dict[str, str] = {
    "Orders": "Orders placed in the period. Cancelled orders are left out; refunded ones count.",
    "Revenue": "Order totals (items, shipping and other charges) minus refunds, for the orders "
    "above. 0 when there are none.",
    "Average order value": "Revenue ÷ orders (0 when there are no orders).",
    "Unique customers": "Distinct buyers of the orders above.",
    "Active listings": "Listings active when the period closed (now, while it is still running): "
    "started and not yet ended. Sold-out listings stay active until they end. Compared with the "
    "start of the period. Unknown (—) for an account without any listing: listings come from "
    "listing data (the demo has them), never from order files.",
    "Active products": "Distinct products with an active listing, at the same moments; unknown "
    "like active listings.",
    "Refunds": "Orders of the period (not cancelled) with any refund, fully or partly.",
    "Refunded": "The amount refunded on those orders.",
    "Cancelled": "Orders placed in the period and cancelled; they count in no other figure.",
    "Top products": "SKUs ranked by line revenue (quantity × unit price) or by units, over orders "
    "that were neither cancelled nor fully refunded. Shipping and partial refunds belong to "
    "orders, not to products.",
    "Top buyers": "Buyers ranked by revenue (as above) of their orders in the period.",
    "Status mix": "Every order placed in the period by its current status, cancelled included, "
    "with the sum of their order totals.",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- accounts -----------------------------------------------------------------------------------


@measured("accounts")
@cacheable("accounts", namespace=namespaces.GLOBAL, ttl=60)
def _all_accounts(ctx: Context, *, fresh: bool = False) -> list[Account]:
    return [Account(**row._mapping) for row in queries.list_accounts(ctx.db)]


def accounts(ctx: Context, viewer: Viewer, *, fresh: bool = False) -> list[Account]:
    """The accounts ``viewer`` may see, by name: every account for an admin or the demo, else
    those granted to them (none for a person without grants)."""
    if not viewer.has_access:
        return []
    with scope.all_accounts():  # the list is cached once for everyone, then cut to the viewer's
        every = _all_accounts(ctx, fresh=fresh)
    return [a for a in every if viewer.may_see(a.id)]


def default_account(candidates: list[Account], *, now: dt.datetime | None = None) -> Account:
    """The account to show first: the first by name with an order in the last 30 days, so the
    demo opens on a shop that is alive; else simply the first."""
    recent = (now or _now()) - dt.timedelta(days=30)
    for candidate in candidates:
        if candidate.last_order_at is not None and candidate.last_order_at >= recent:
            return candidate
    return candidates[0]


@for_account
def account(ctx: Context, viewer: Viewer, account_id: int, *, fresh: bool = False) -> Account:
    for candidate in _all_accounts(ctx, fresh=fresh):
        if candidate.id == account_id:
            return candidate
    raise NotFound(f"There is no account with id {account_id}.")


# -- overview -----------------------------------------------------------------------------------


@measured("kpis")
@for_account
@cacheable("kpis", namespace=namespaces.ACCOUNT)
def kpis(ctx: Context, viewer: Viewer, account_id: int, window: Window, *, fresh: bool = False) -> Kpis:
    """The overview's tiles for ``window`` and the window of the same length before it.

    Definitions (README "Figures"; also the help text on the tiles):
    - orders: orders placed in the window, cancelled ones excluded (refunded ones included);
    - revenue: their totals minus what was refunded on them (net), 0 when there are none;
    - average order value: revenue / orders (0 when there are no orders);
    - unique customers: distinct buyers of those orders;
    - refunds: those orders with any refund, and the refunded amount;
    - cancelled: orders placed in the window and cancelled;
    - active listings / products: listings active at the end of the window (or now, while it is
      open), and the distinct products they sell; compared with the start of the window. ``None``
      (unknown) when the account has no listing at all: orders do not say what is listed.
    """
    # Whole local days (every period the sidebar offers) read the rollups alone, unique customers
    # included (rollup_reads.account_kpis, equal row for row). A window with a partial day keeps
    # the plain statement: its customers would read the orders anyway, and measured at 1M orders
    # (make bench, speed_sql) the rollup path's edge reads made it 1.46x the plain statement.
    tz = _zone(ctx, viewer, account_id)
    if rollup_reads.whole_days(rollup_reads.kpi_pieces(window, tz)):
        row = rollup_reads.account_kpis(ctx.db, account_id, window, _now(), tz)
    else:
        row = queries.account_kpis(ctx.db, account_id, window, _now())
    if row.currency is None:
        raise NotFound(f"There is no account with id {account_id}.")

    def pair(name: str) -> Kpi:
        current, previous = row._mapping[f"{name}_cur"], row._mapping[f"{name}_prev"]
        if isinstance(current, Decimal):
            return Kpi(to_money(current), to_money(previous))
        return Kpi(int(current or 0), int(previous or 0))

    # listings come only from listing files (and the demo): an account without any is unknown
    # there, not zero
    listings_known = bool(row._mapping["listings_known"])
    orders, revenue = pair("orders"), pair("revenue")
    aov = Kpi(_average(revenue.current, orders.current), _average(revenue.previous, orders.previous))
    return Kpis(
        account_id=account_id,
        currency=row.currency,
        window=window,
        orders=orders,
        revenue=revenue,
        average_order_value=aov,
        unique_customers=pair("customers"),
        active_listings=pair("listings") if listings_known else None,
        active_products=pair("products") if listings_known else None,
        refunds=pair("refunds"),
        refunded_amount=pair("refunded"),
        cancelled=pair("cancelled"),
        as_of=_now(),
    )


def _zone(ctx: Context, viewer: Viewer, account_id: int) -> str:
    """The account's time zone, whose local days the rollups follow (NotFound for no account)."""
    try:
        return account(ctx, viewer, account_id).timezone
    except NotFound:  # created since the cached list was read, e.g. by an import elsewhere
        return account(ctx, viewer, account_id, fresh=True).timezone


def _average(total: Decimal | int, count: Decimal | int) -> Decimal:
    if not count:
        return ZERO
    return to_money(Decimal(total) / Decimal(count))


@measured("trend")
@for_account
@cacheable("trend", namespace=namespaces.ACCOUNT)
def trend(ctx: Context, viewer: Viewer, account_id: int, window: Window, *, fresh: bool = False) -> Trend:
    """Orders and net revenue per local day of the account (per ISO week, labelled by its Monday,
    for windows longer than 90 days); every bucket of the window is present, empty ones as 0."""
    tz = _zone(ctx, viewer, account_id)
    granularity = granularity_for(window)
    rows = rollup_reads.revenue_trend(ctx.db, account_id, window, tz, granularity)
    by_bucket = {_as_date(r.bucket): r for r in rows}
    first, last = window.dates_touched(tz)
    step = dt.timedelta(days=7 if granularity == "week" else 1)
    if granularity == "week":
        first -= dt.timedelta(days=first.weekday())
    points = []
    bucket = first
    while bucket <= last:
        r = by_bucket.get(bucket)
        points.append(TrendPoint(bucket, int(r.orders) if r else 0, to_money(r.revenue) if r else ZERO))
        bucket += step
    return Trend(granularity=granularity, points=points)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


TOP_N = 10


@measured("top_products")
@for_account
@cacheable("top_products", namespace=namespaces.ACCOUNT)
def top_products(
    ctx: Context,
    viewer: Viewer,
    account_id: int,
    window: Window,
    *,
    by: str = "revenue",
    limit: int = TOP_N,
    fresh: bool = False,
) -> list[TopProduct]:
    """Best-selling SKUs of the window by line revenue or by units (see queries.top_products)."""
    if by not in ("revenue", "units"):
        raise InvalidInput(f"Top products can be ranked by revenue or units, not {by!r}.")
    rows = rollup_reads.top_products(
        ctx.db,
        account_id,
        window,
        "revenue" if by == "revenue" else "units",
        limit,
        _zone(ctx, viewer, account_id),
    )
    return [
        TopProduct(
            sku=r.sku, title=r.title, units=int(r.units), revenue=to_money(r.revenue), orders=int(r.orders)
        )
        for r in rows
    ]


@measured("top_buyers")
@for_account
@cacheable("top_buyers", namespace=namespaces.ACCOUNT)
def top_buyers(
    ctx: Context, viewer: Viewer, account_id: int, window: Window, *, limit: int = TOP_N, fresh: bool = False
) -> list[TopBuyer]:
    """Buyers with the most net revenue in the window (cancelled orders excluded; ties by more
    orders, then by id). Read by a threshold scan over the customers' ceilings of net revenue
    (:func:`ebaydash.db.rollup_reads.top_buyers`), exactly."""
    return [
        TopBuyer(
            customer_id=int(r.customer_id),
            username=r.username,
            orders=int(r.orders),
            revenue=to_money(r.revenue),
        )
        for r in rollup_reads.top_buyers(ctx.db, account_id, window, limit)
    ]


@measured("status_mix")
@for_account
@cacheable("status_mix", namespace=namespaces.ACCOUNT)
def status_mix(
    ctx: Context, viewer: Viewer, account_id: int, window: Window, *, fresh: bool = False
) -> list[StatusCount]:
    """Orders and order totals per status (every known status, zeros included; cancelled too)."""
    found = {
        r.status: r
        for r in rollup_reads.status_mix(ctx.db, account_id, window, _zone(ctx, viewer, account_id))
    }
    statuses = list(ORDER_STATUSES) + sorted(set(found) - set(ORDER_STATUSES))
    return [
        StatusCount(
            status,
            int(found[status].orders) if status in found else 0,
            to_money(found[status].amount) if status in found else ZERO,
        )
        for status in statuses
    ]


@measured("first_order_at")
@for_account
@cacheable("first_order_at", namespace=namespaces.ACCOUNT)
def first_order_at(
    ctx: Context, viewer: Viewer, account_id: int, *, fresh: bool = False
) -> dt.datetime | None:
    """When the account's first order was placed (any status, cancelled included: where its
    order data starts), an aware datetime in UTC; ``None`` for an account without orders.
    Cached with the account's figures, so an import that brings older orders moves it."""
    return queries.first_order_at(ctx.db, account_id)


@for_account
def comparison_note(
    ctx: Context, viewer: Viewer, account_id: int, window: Window, *, fresh: bool = False
) -> str | None:
    """A sentence for under the overview's tiles when their comparison period,
    ``window.previous()``, is only partly covered by the account's orders: its first order was
    placed after that period's first day (local days of the account's zone, dates as
    ``01 Dec 2024``). A change against such a period is growth of the data, not of the shop.

    ``None`` when the previous period is covered from its first day, when the account has no
    order, or when its first order comes after ``window`` (both periods are empty then). Also
    ``None`` when the database cannot say and the cache does not hold the answer: the page's
    figures, maybe from the cache, are not stopped for want of this sentence.
    """
    tz = _zone(ctx, viewer, account_id)
    try:
        first = first_order_at(ctx, viewer, account_id, fresh=fresh)
    except DatabaseError:
        log.info("first order of account %s unknown; the overview goes without its note", account_id)
        return None
    if first is None or first >= window.end:
        return None
    before_first, before_last = window.previous().dates_touched(tz)
    first_day = first.astimezone(ZoneInfo(tz)).date()
    if first_day <= before_first:
        return None
    period = f"The previous period ({before_first:%d %b %Y} – {before_last:%d %b %Y})"
    if first_day <= before_last:
        return (
            f"{period} has orders only from {first_day:%d %b %Y}, the account's first: "
            "its changes compare with part of a period."
        )
    return (
        f"{period} has no orders: the account's first was placed on {first_day:%d %b %Y}, "
        "in this period, so its changes compare with nothing."
    )


@for_account
def overview(
    ctx: Context, viewer: Viewer, account_id: int, window: Window, *, fresh: bool = False
) -> Overview:
    """Everything the overview page shows; each part is one statement, cached on its own.

    The parts are independent, so up to ``EBAYDASH_OVERVIEW_PARALLELISM`` of them run at once, each
    on its own connection: cold, the overview takes as long as its slowest statement plus what
    the others add on a busy server, instead of their sum (issue 16 measured the sum at 4.2 s for
    the biggest account at 10M orders). Warm, each part is a cache read and the hand-off to a
    thread costs tens of microseconds. Raises what the first failing part raised.
    """
    calls: dict[str, Callable[[], Any]] = {
        "kpis": functools.partial(kpis, ctx, viewer, account_id, window, fresh=fresh),
        "trend": functools.partial(trend, ctx, viewer, account_id, window, fresh=fresh),
        "top_buyers": functools.partial(top_buyers, ctx, viewer, account_id, window, fresh=fresh),
        "top_by_revenue": functools.partial(
            top_products, ctx, viewer, account_id, window, by="revenue", fresh=fresh
        ),
        "top_by_units": functools.partial(
            top_products, ctx, viewer, account_id, window, by="units", fresh=fresh
        ),
        "status_mix": functools.partial(status_mix, ctx, viewer, account_id, window, fresh=fresh),
    }
    return Overview(**ctx.part(_SideBySide).run(ctx.settings.overview_parallelism, calls))


class _SideBySide:
    """A context's threads for the overview's parts (one pool per process, closed with it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def run(self, parallelism: int, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        """``{name: call()}``: the first call in this thread, the others on up to
        ``parallelism - 1`` pool threads, each in a copy of this thread's context (the traffic
        kind and the database scope go with it). Raises the first failure, in ``calls``' order.
        Once the context is closing, what the pool did not run runs here, one after another."""
        names = list(calls)
        pool = self._executor(parallelism - 1) if parallelism > 1 and len(names) > 1 else None
        futures: dict[str, Future[Any]] = {}
        if pool is not None:
            try:
                for name in names[1:]:
                    futures[name] = pool.submit(contextvars.copy_context().run, calls[name])
            except RuntimeError:  # shut down meanwhile: the context is closing
                pass
        try:
            results = {names[0]: calls[names[0]]()}
        finally:
            # a failing first part still waits for the others: none outlives the page's run
            done = {name: _outcome(f) for name, f in futures.items()}
        for name in names[1:]:
            value, error = done.get(name, (_NOT_RUN, None))
            if error is not None:
                raise error
            results[name] = calls[name]() if value is _NOT_RUN else value
        return results

    def _executor(self, workers: int) -> ThreadPoolExecutor | None:
        with self._lock:
            if self._closed:
                return None
            # one size for the pool's life: a context's settings do not change
            if self._pool is None:
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="ebaydash-overview")
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            # parts not started yet are run by their callers instead (see run)
            pool.shutdown(wait=True, cancel_futures=True)


_NOT_RUN = object()


def _outcome(future: Future[Any]) -> tuple[Any, BaseException | None]:
    """``(value, None)``, ``(None, error)``, or ``(_NOT_RUN, None)`` for a part the pool dropped."""
    if future.cancelled():
        return _NOT_RUN, None
    try:
        return future.result(), None
    except CancelledError:
        return _NOT_RUN, None
    except BaseException as exc:  # handed to the caller, who raises it
        return None, exc


# -- refresh-ahead --------------------------------------------------------------------------------

# The sidebar's fixed periods, its default (30 days) first, and this month. The 12 months are the
# costliest to compute cold (at 10M orders the biggest account's 365-day KPIs and top buyers read
# ~3M orders: distinct buyers do not add up across days), so they are worth computing ahead most.
STANDARD_DAYS = (30, 7, 90, 365)


def standard_windows(tz: str, today: dt.date | None = None) -> list[Window]:
    """The windows :func:`refresh_ahead` recomputes: the last 30, 7, 90 and 365 local days and
    this calendar month so far, as the sidebar builds them (equal windows, equal cache keys)."""
    today = today or local_today(tz)
    windows = [Window.last_days(days, tz, today) for days in STANDARD_DAYS]
    windows.append(Window.month_so_far(tz, today))
    return windows


def refresh_ahead(ctx: Context, account_id: int) -> threading.Thread | None:
    """Recompute the account's overview for :func:`standard_windows` in a background thread, once,
    right after its cache namespace was invalidated (an import), so the next viewer reads the
    new figures from the cache instead of paying the cold path.

    Each figure goes through the cache's ``get_or_create``, whose stampede lock (in the process,
    and across replicas through the shared cache) keeps it to one computation per key: a viewer
    arriving meanwhile waits for this value rather than computing its own. An import landing while
    a refresh of the same account runs makes it run once more afterwards, not in parallel.
    Returns the thread (``None`` when one is already running, the setting is off or the context
    is closing). Failures are logged; the viewer then computes the figure as without
    refresh-ahead. The threads belong to the context: closing it stops them between windows and
    waits for them, so none reads a database after its context let go of it.
    """
    if not ctx.settings.refresh_ahead:
        return None
    return ctx.part(_RefreshAhead).start(ctx, account_id)


def wait_for_refresh(ctx: Context, account_id: int, timeout_s: float) -> bool:
    """Wait until the account's refresh-ahead in ``ctx`` (if any) has ended, e.g. before a command
    that imported exits and closes its context; False when it still runs after ``timeout_s``."""
    return ctx.part(_RefreshAhead).wait(account_id, timeout_s)


#: who refresh-ahead computes as: the server itself, which sees every account (the figures are
#: cached per account, and every viewer's grant is checked before the cache is read)
REFRESHER = Viewer.operator("refresh-ahead")

#: how long closing a context waits for a refresh that is mid-statement (it stops between windows)
_CLOSE_WAIT_S = 30.0


class _RefreshAhead:
    """A context's refresh-ahead threads, one per account at a time (see :func:`refresh_ahead`)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._again: dict[int, bool] = {}  # account -> another import landed while it was refreshed
        self._threads: dict[int, threading.Thread] = {}
        self._closing = threading.Event()

    def start(self, ctx: Context, account_id: int) -> threading.Thread | None:
        with self._guard:
            if self._closing.is_set():
                return None
            if account_id in self._again:
                self._again[account_id] = True
                return None
            self._again[account_id] = False
            thread = threading.Thread(
                target=self._loop, args=(ctx, account_id), name=f"refresh-ahead-{account_id}", daemon=True
            )
            self._threads[account_id] = thread
            thread.start()  # under the guard: wait() never sees a thread not yet started
        return thread

    def running(self, account_id: int) -> bool:
        with self._guard:
            return account_id in self._again

    def wait(self, account_id: int, timeout_s: float) -> bool:
        with self._guard:
            thread = self._threads.get(account_id)
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    def close(self) -> None:
        self._closing.set()
        with self._guard:
            threads = list(self._threads.values())
        deadline = time.monotonic() + _CLOSE_WAIT_S
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, ctx: Context, account_id: int) -> None:
        while True:
            try:
                for window in standard_windows(_zone(ctx, REFRESHER, account_id)):
                    if self._closing.is_set():
                        break
                    overview(ctx, REFRESHER, account_id, window)
            except Exception:
                log.warning(
                    "refresh-ahead of account %s failed; viewers compute it", account_id, exc_info=True
                )
            with self._guard:
                if self._closing.is_set() or not self._again.pop(account_id, False):
                    self._again.pop(account_id, None)
                    self._threads.pop(account_id, None)
                    return
                self._again[account_id] = False  # an import landed meanwhile: once more


# -- orders -------------------------------------------------------------------------------------


def validate_filter(flt: OrderFilter) -> OrderFilter:
    """The filter in canonical form (so equal filters share cache keys and cursors), or a clear
    :class:`InvalidInput` for anything the database could not match literally."""
    unknown = [s for s in flt.statuses if s not in ORDER_STATUSES]
    if unknown:
        raise InvalidInput(f"Unknown order status {unknown[0]!r}; choose from {', '.join(ORDER_STATUSES)}.")
    buyer = (flt.buyer or "").strip() or None
    search = (flt.search or "").strip() or None
    if buyer is not None:
        queries.check_text(buyer, "The buyer filter", queries.MAX_BUYER_CHARS)
    if search is not None:
        queries.check_text(search, "Search text", queries.MAX_SEARCH_CHARS)
    return OrderFilter(
        statuses=tuple(sorted(set(flt.statuses))), window=flt.window, buyer=buyer, search=search
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
    if queries.SORTS[sort].kind == "datetime":
        return order.order_date.isoformat()
    return str(order.total_amount)


_BAD_CURSOR = "This page link is no longer valid (it was changed or cut short). Start again from page 1."
_MONEY_LIMIT = Decimal("1e10")  # NUMERIC(12,2) holds less; a larger key cannot come from a row


def _parse_sort_value(value: str, sort: str) -> Any:
    try:
        if queries.SORTS[sort].kind == "datetime":
            parsed = dt.datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("naive")
            return parsed
        money = to_money(value)
        if not money.is_finite() or abs(money) >= _MONEY_LIMIT:
            raise ValueError("out of range")
        return money
    except (ValueError, ArithmeticError, OverflowError):
        raise InvalidCursor(_BAD_CURSOR) from None


SORT_LABELS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "amount_high": "Highest amount",
    "amount_low": "Lowest amount",
}


def _check_page_request(sort: str, page_size: int) -> None:
    if page_size not in PAGE_SIZES:
        raise InvalidInput(f"Page size must be one of {', '.join(map(str, PAGE_SIZES))}.")
    queries.sort_spec(sort)


@measured("orders_page")
@for_account
@cacheable("orders_page", namespace=namespaces.ACCOUNT, ttl=60)
def orders_page(
    ctx: Context,
    viewer: Viewer,
    account_id: int,
    flt: OrderFilter,
    *,
    sort: str = "newest",
    cursor: str | None = None,
    page_size: int = 25,
    fresh: bool = False,
) -> OrdersPage:
    """One page of orders (newest first by default); ``cursor`` is a page's ``next_cursor`` or
    ``prev_cursor``. Keyset pagination: no duplicates or gaps while orders arrive, and page
    10,000 is as fast as page 1."""
    _check_page_request(sort, page_size)
    flt = validate_filter(flt)
    print_ = fingerprint({"account": account_id, "filter": _filter_key(flt), "sort": sort})
    key = ctx.settings.cursor_key
    after = before = None
    direction = "next"
    offset = 0
    if cursor:
        decoded = decode_cursor(
            cursor, key=key, expected_sort=sort, fingerprint=print_, account_id=account_id
        )
        boundary = (_parse_sort_value(decoded.values[0], sort), int(decoded.values[-1]))
        direction, offset = decoded.direction, decoded.offset
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
    if direction == "prev":
        has_next, has_prev = True, more
        # orders that arrived since page 1 was shown make the way back longer than the way out
        offset = offset if more else 0
    else:
        has_next, has_prev = more, after is not None
    if direction == "prev" and not rows:
        has_next = False

    def token(order: OrderRow, to: Direction, target_offset: int) -> str:
        values = (_sort_value(order, sort), order.id)
        return encode_cursor(
            Cursor(sort, to, values, print_, max(target_offset, 0), account_id=account_id), key=key
        )

    return OrdersPage(
        rows=rows,
        next_cursor=token(rows[-1], "next", offset + len(rows)) if rows and has_next else None,
        prev_cursor=token(rows[0], "prev", offset - page_size) if rows and has_prev else None,
        page_size=page_size,
        sort=sort,
        first_row=offset + 1,
    )


def _filter_key(flt: OrderFilter) -> dict[str, Any]:
    return {
        "statuses": list(flt.statuses),
        "window": [flt.window.start.isoformat(), flt.window.end.isoformat()] if flt.window else None,
        "buyer": flt.buyer,
        "search": flt.search,
    }


@measured("orders_total")
@for_account
@cacheable("orders_total", namespace=namespaces.ACCOUNT)
def orders_total(
    ctx: Context, viewer: Viewer, account_id: int, flt: OrderFilter, *, fresh: bool = False
) -> int:
    """How many orders match; cached, because counting is the costly part of a listing."""
    return queries.orders_count(ctx.db, account_id, validate_filter(flt))


@measured("order_detail")
@for_account
@cacheable("order_detail", namespace=namespaces.ACCOUNT)
def order_detail(
    ctx: Context, viewer: Viewer, account_id: int, order_id: int, *, fresh: bool = False
) -> OrderDetail:
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


@measured("update_order_status")
@for_account
def update_order_status(
    ctx: Context, viewer: Viewer, account_id: int, order_id: int, status: str
) -> OrderDetail:
    """Set an order's status, then invalidate the account's cached figures and return the order
    as it now is. :class:`~ebaydash.errors.InvalidInput` for an unknown status,
    :class:`~ebaydash.errors.NotFound` when the account has no such order (nothing changes then).

    The change bumps the account's data version in its own transaction, and the invalidation bumps
    the account's namespace, so every cached figure of that account (KPIs, trend, pages, totals,
    details) is recomputed on its next read: in this process at once, in every other within the
    L1 TTL (with or without Redis); other accounts keep their entries.
    """
    if status not in ORDER_STATUSES:
        raise InvalidInput(f"Unknown order status {status!r}; choose from {', '.join(ORDER_STATUSES)}.")
    if not queries.update_order_status(ctx.db, account_id, order_id, status, _now()):
        raise NotFound(f"Order {order_id} does not exist in this account.")
    # after the commit: a reader in between would cache the old row again under the new version
    ctx.cache.invalidate(namespaces.account(account_id))
    return order_detail(ctx, viewer, account_id, order_id)


# -- export -------------------------------------------------------------------------------------

# No internal ids: the seller knows an order by its eBay order number. Dates are local wall-clock
# time (the account's zone, named in ``time_zone``) as "YYYY-MM-DD HH:MM:SS", which Excel and
# LibreOffice read as a date; an ISO offset ("+02:00") they would keep as text.
EXPORT_COLUMNS = (
    "ebay_order_id",
    "order_date",
    "time_zone",
    "status",
    "buyer",
    "items",
    "total_amount",
    "refunded_amount",
    "net_amount",
    "currency",
)
# one row per line item: the order's columns repeated, then the item's
EXPORT_ITEM_COLUMNS = (*EXPORT_COLUMNS, "sku", "title", "quantity", "unit_price", "line_total")
EXPORT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_EXPORT_CHUNK_ROWS = 1000


@for_account
def export_orders_csv(
    ctx: Context,
    viewer: Viewer,
    account_id: int,
    flt: OrderFilter,
    *,
    sort: str = "newest",
    line_items: bool = False,
) -> Iterator[str]:
    """CSV text of every matching order (columns :data:`EXPORT_COLUMNS`), or of every line item
    of them (``line_items``: :data:`EXPORT_ITEM_COLUMNS`, an order without items on one row with
    the item columns empty), yielded in chunks of rows as they stream from the database. Dates in
    the account's zone as ``YYYY-MM-DD HH:MM:SS``; text from imported files made
    :func:`spreadsheet_safe`. Never holds the whole result. :class:`InvalidInput` for an unknown
    sort or a bad filter."""
    queries.sort_spec(sort)
    flt = validate_filter(flt)
    tz = account(ctx, viewer, account_id).timezone
    rows = queries.export_orders(
        ctx.db,
        account_id,
        flt,
        sort,
        timeout_ms=int(ctx.settings.export_timeout_s * 1000),
        line_items=line_items,
    )
    return _csv_chunks(rows, tz, line_items=line_items)


def _csv_chunks(rows: Iterator[Row[Any]], tz: str, *, line_items: bool) -> Iterator[str]:
    zone = ZoneInfo(tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_ITEM_COLUMNS if line_items else EXPORT_COLUMNS)
    for n, row in enumerate(rows, start=1):
        cells: list[Any] = [
            spreadsheet_safe(row.ebay_order_id),
            row.order_date.astimezone(zone).strftime(EXPORT_DATE_FORMAT),
            tz,
            row.status,
            spreadsheet_safe(row.buyer or ""),
            row.items,
            row.total_amount,
            row.refunded_amount,
            row.total_amount - row.refunded_amount,
            row.currency,
        ]
        if line_items:
            if row.sku is None:  # an order without line items
                cells += ["", "", "", "", ""]
            else:
                price = to_money(row.unit_price)
                cells += [
                    spreadsheet_safe(row.sku),
                    spreadsheet_safe(row.title),
                    row.quantity,
                    price,
                    price * row.quantity,
                ]
        writer.writerow(cells)
        if n % _EXPORT_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# Excel takes a CSV without a byte-order mark for the local code page, and mangles "Zoë" and "€"
EXCEL_BOM = "\ufeff"


@measured("export_orders")
@for_account
def export_orders_file(
    ctx: Context,
    viewer: Viewer,
    account_id: int,
    flt: OrderFilter,
    *,
    sort: str = "newest",
    line_items: bool = False,
) -> BinaryIO:
    """The CSV export (:func:`export_orders_csv`) as UTF-8 with a byte-order mark, so Excel reads
    its accents and currency signs, written chunk by chunk to a temporary file and returned open
    for reading.

    Streamlit's download button cannot consume a generator; it takes a file. The file is already
    unlinked, so it disappears when the reader is closed or collected, whatever happens next.
    """
    chunks = export_orders_csv(ctx, viewer, account_id, flt, sort=sort, line_items=line_items)
    with tempfile.NamedTemporaryFile("wb", prefix="ebaydash-export-", suffix=".csv", delete=False) as out:
        path = out.name
        try:
            out.write(EXCEL_BOM.encode("utf-8"))
            for chunk in chunks:
                out.write(chunk.encode("utf-8"))
        except BaseException:
            os.unlink(path)
            raise
    reader = open(path, "rb")  # noqa: SIM115 - the caller owns and closes it
    os.unlink(path)
    return reader
