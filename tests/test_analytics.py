"""Overview figures against pandas ground truth over the same generated rows, on SQLite and Postgres:
every KPI and delta, trend point, top-N list and the status mix, with the issue's edge cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ebaydash.context import Context, build_context
from ebaydash.db import bulk, queries
from ebaydash.db.engine import Database
from ebaydash.errors import InvalidInput, NotFound
from ebaydash.models import Window
from ebaydash.services import sellers
from ebaydash.settings import Settings
from tests import shop_data as sd
from tests.conftest import OPERATOR
from tests.shop_data import ZERO, Shop, cents, day_bounds

NY = "America/New_York"
# 1–14 March 2026 in New York: clocks go forward on Sunday 8 March, so the window is 14 days less
# an hour; the previous window (15–28 February) has no DST change.
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 14)
PREV_FIRST, PREV_LAST = dt.date(2026, 2, 15), dt.date(2026, 2, 28)
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
def ctx(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.setattr(sellers, "_now", lambda: NOW)
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def edge_case_shop() -> tuple[Shop, int, int]:
    """A shop in New York with orders on every edge the issue names, and a quiet shop that has
    listings but no orders in the window."""
    shop = Shop()
    busy = shop.account("Busy", NY)
    quiet = shop.account("Quiet", "Europe/London")
    ann, bob, cy = (shop.customer(busy, n) for n in ("ann", "bob", "cy"))
    start, end = day_bounds(FIRST, LAST, NY)
    prev_start, _ = day_bounds(PREV_FIRST, PREV_LAST, NY)
    line = [("MUG", "Mug", 1, Decimal("10.00"))]
    # exactly at the start (in), a microsecond before it (previous window), exactly at the end (out)
    shop.order(busy, start, line, customer_id=ann)
    shop.order(busy, start - dt.timedelta(microseconds=1), line, customer_id=ann)
    shop.order(busy, end, line, customer_id=bob)
    shop.order(
        busy, end - dt.timedelta(microseconds=1), [("CAP", "Cap", 2, Decimal("7.25"))], customer_id=bob
    )
    shop.order(busy, prev_start, line, customer_id=cy)  # first instant of the previous window
    shop.order(busy, prev_start - dt.timedelta(seconds=1), line, customer_id=cy)  # before both
    # around local midnight on the DST day (00:00 EST is 05:00 UTC; 23:59:59 EDT on the 8th is 03:59:59)
    dst_midnight = sd.local_midnight(dt.date(2026, 3, 8), NY)
    shop.order(busy, dst_midnight - dt.timedelta(seconds=1), line, customer_id=ann, shipping=Decimal("3.99"))
    shop.order(busy, dst_midnight, line, customer_id=None)  # buyer unknown
    shop.order(busy, sd.local_midnight(dt.date(2026, 3, 9), NY) - dt.timedelta(seconds=1), line)
    # cancelled counts nowhere; refunded (fully and partly) count as orders with net revenue
    shop.order(busy, start + dt.timedelta(days=2), line, customer_id=cy, status="cancelled")
    shop.order(
        busy, start + dt.timedelta(days=3), line, customer_id=cy, status="refunded", refunded=Decimal("10.00")
    )
    shop.order(busy, start + dt.timedelta(days=4), line, customer_id=bob, refunded=Decimal("2.50"))
    shop.order(busy, start - dt.timedelta(days=3), line, customer_id=bob, status="cancelled")
    # listings: one live throughout, one ended mid-window, one started mid-window, one sold out,
    # one marked ended without an end time; two listings of one product
    mug, cap, hat = (shop.product(busy, s, s.title()) for s in ("MUG", "CAP", "HAT"))
    mid = start + dt.timedelta(days=5)
    shop.listing(busy, mug, start - dt.timedelta(days=90))
    shop.listing(busy, mug, start - dt.timedelta(days=30), ended=mid, status="ended")
    shop.listing(busy, cap, mid)
    shop.listing(busy, hat, start - dt.timedelta(days=10), status="sold_out")
    shop.listing(busy, hat, start - dt.timedelta(days=10), status="ended")
    shop.listing(busy, cap, end, ended=end + dt.timedelta(days=1), status="ended")  # starts as it closes
    shop.listing(busy, hat, start, ended=end, status="ended")  # runs exactly the window: counts at its end
    # the quiet shop: listings, orders only long ago
    jar = shop.product(quiet, "JAR", "Jar")
    shop.listing(quiet, jar, start - dt.timedelta(days=400))
    shop.order(quiet, start - dt.timedelta(days=200), line)
    return shop, busy, quiet


def assert_kpis_match(
    ctx: Context, shop: Shop, account_id: int, tz: str, first: dt.date, last: dt.date
) -> None:
    days = (last - first).days + 1
    start, end = day_bounds(first, last, tz)
    prev_start, prev_end = day_bounds(first - dt.timedelta(days=days), first - dt.timedelta(days=1), tz)
    k = sellers.kpis(ctx, OPERATOR, account_id, Window.for_dates(first, last, tz), fresh=True)
    cur, prev = (
        sd.order_figures(shop, account_id, start, end),
        sd.order_figures(shop, account_id, prev_start, prev_end),
    )
    end_moment = min(end, NOW)
    lcur, lprev = (
        sd.listing_figures(shop, account_id, end_moment),
        sd.listing_figures(shop, account_id, start),
    )
    got = {
        "orders": k.orders,
        "revenue": k.revenue,
        "customers": k.unique_customers,
        "refunds": k.refunds,
        "refunded": k.refunded_amount,
        "cancelled": k.cancelled,
        "aov": k.average_order_value,
    }
    for name, kpi in got.items():
        assert (kpi.current, kpi.previous) == (cur[name], prev[name]), name
        assert type(kpi.current) is type(cur[name]) or isinstance(cur[name], int), name
    listings = shop.frame("listings")
    if not (listings.account_id == account_id).any():
        # nothing ever said what this account lists: unknown, not zero
        assert k.active_listings is None and k.active_products is None
        return
    assert k.active_listings is not None and k.active_products is not None
    assert (k.active_listings.current, k.active_listings.previous) == (lcur["listings"], lprev["listings"])
    assert (k.active_products.current, k.active_products.previous) == (lcur["products"], lprev["products"])


def test_kpis_and_deltas_match_pandas_on_the_edge_cases(ctx: Context, db: Database) -> None:
    shop, busy, _ = edge_case_shop()
    shop.load(db)
    assert_kpis_match(ctx, shop, busy, NY, FIRST, LAST)
    k = sellers.kpis(ctx, OPERATOR, busy, Window.for_dates(FIRST, LAST, NY))
    # spelled out once, so a wrong definition in the truth helpers cannot hide a wrong figure
    assert k.orders.current == 7  # start, end-1µs, 3 around midnight, refunded, partly refunded
    assert k.revenue.current == Decimal("65.99")  # 5×10 + 14.50 + 3.99 + 0 (refunded) - 2.50
    assert k.cancelled.current == 1 and k.refunds.current == 2
    assert k.refunded_amount.current == Decimal("12.50")
    assert k.unique_customers.current == 3
    assert k.active_listings is not None and k.active_products is not None
    assert (k.active_listings.current, k.active_listings.previous) == (4, 3)
    assert (k.active_products.current, k.active_products.previous) == (3, 2)


def test_an_account_with_listings_but_no_orders_still_counts_them(ctx: Context, db: Database) -> None:
    shop, _, quiet = edge_case_shop()
    shop.load(db)
    k = sellers.kpis(ctx, OPERATOR, quiet, Window.for_dates(FIRST, LAST, "Europe/London"))
    assert k.orders.current == 0 and k.orders.previous == 0
    assert k.revenue.current == Decimal("0.00") and isinstance(k.revenue.current, Decimal)
    assert k.average_order_value.current == Decimal("0.00")
    assert k.active_listings is not None and k.active_products is not None
    assert k.active_listings.current == 1 and k.active_products.current == 1
    assert_kpis_match(ctx, shop, quiet, "Europe/London", FIRST, LAST)


def test_listings_of_an_account_with_orders_only_are_unknown_not_zero(ctx: Context, db: Database) -> None:
    shop, busy, _ = edge_case_shop()
    start, _ = day_bounds(FIRST, LAST, NY)
    orders_only = shop.account("Orders only", NY)
    shop.order(orders_only, start + dt.timedelta(days=1), [("MUG", "Mug", 1, cents(1000))])
    # negative control: listings that all ended long ago are known, and none is active
    ended_only = shop.account("Ended only", NY)
    old = shop.product(ended_only, "OLD", "Old")
    gone = start - dt.timedelta(days=60)
    shop.listing(ended_only, old, start - dt.timedelta(days=90), ended=gone, status="ended")
    shop.load(db)
    window = Window.for_dates(FIRST, LAST, NY)
    k = sellers.kpis(ctx, OPERATOR, orders_only, window)
    assert k.orders.current == 1  # the orders are known ...
    assert k.active_listings is None and k.active_products is None  # ... what is listed is not
    known = sellers.kpis(ctx, OPERATOR, ended_only, window)
    assert known.active_listings is not None and known.active_products is not None
    assert (known.active_listings.current, known.active_products.previous) == (0, 0)
    assert sellers.kpis(ctx, OPERATOR, busy, window).active_listings is not None


def test_the_previous_window_has_the_same_number_of_local_days_across_dst() -> None:
    window = Window.for_dates(FIRST, LAST, NY)
    assert window.length == dt.timedelta(days=14, hours=-1)
    previous = window.previous()
    assert (previous.start, previous.end) == day_bounds(PREV_FIRST, PREV_LAST, NY)
    # a window that is not whole local days falls back to the same absolute length
    odd = Window(window.start + dt.timedelta(hours=1), window.end, NY)
    assert odd.previous().length == odd.length and odd.previous().end == odd.start


def test_daily_trend_matches_pandas_in_local_days_across_dst(ctx: Context, db: Database) -> None:
    shop, busy, _ = edge_case_shop()
    shop.load(db)
    trend = sellers.trend(ctx, OPERATOR, busy, Window.for_dates(FIRST, LAST, NY))
    assert trend.granularity == "day"
    assert [p.bucket for p in trend.points] == [FIRST + dt.timedelta(days=n) for n in range(14)]
    start, end = day_bounds(FIRST, LAST, NY)
    truth = sd.trend_truth(shop, busy, start, end, NY, weekly=False)
    assert {p.bucket: (p.orders, p.revenue) for p in trend.points if p.orders} == truth
    assert all(p.revenue == ZERO for p in trend.points if not p.orders)
    # the second before local midnight on the DST day is on the 7th, midnight itself on the 8th
    by_day = {p.bucket: p.orders for p in trend.points}
    assert by_day[dt.date(2026, 3, 7)] == 1 and by_day[dt.date(2026, 3, 8)] == 2


def test_weekly_trend_for_long_windows_matches_pandas(ctx: Context, db: Database) -> None:
    first, last = dt.date(2025, 12, 3), dt.date(2026, 3, 14)  # 102 days, starting on a Wednesday
    shop, account_id = sd.random_shop(11, n_orders=150, tz=NY, first=first, last=last)
    shop.load(db)
    trend = sellers.trend(ctx, OPERATOR, account_id, Window.for_dates(first, last, NY))
    assert trend.granularity == "week"
    buckets = [p.bucket for p in trend.points]
    assert buckets[0] == dt.date(2025, 12, 1) and all(b.weekday() == 0 for b in buckets)
    assert buckets == [buckets[0] + dt.timedelta(weeks=n) for n in range(len(buckets))]
    assert buckets[-1] == dt.date(2026, 3, 9)
    start, end = day_bounds(first, last, NY)
    truth = sd.trend_truth(shop, account_id, start, end, NY, weekly=True)
    assert {p.bucket: (p.orders, p.revenue) for p in trend.points if p.orders} == truth
    assert (
        sum(p.orders for p in trend.points)
        == sellers.kpis(ctx, OPERATOR, account_id, Window.for_dates(first, last, NY)).orders.current
    )


def assert_lists_match(ctx: Context, shop: Shop, account_id: int, window: Window, limit: int = 5) -> None:
    for by in ("revenue", "units"):
        got = sellers.top_products(ctx, OPERATOR, account_id, window, by=by, limit=limit, fresh=True)
        truth = sd.top_products_truth(shop, account_id, window.start, window.end, by, limit)
        assert [(p.sku, p.title, p.units, p.revenue, p.orders) for p in got] == truth, by
    buyers = sellers.top_buyers(ctx, OPERATOR, account_id, window, limit=limit, fresh=True)
    assert [(b.username, b.orders, b.revenue) for b in buyers] == sd.top_buyers_truth(
        shop, account_id, window.start, window.end, limit
    )
    mix = sellers.status_mix(ctx, OPERATOR, account_id, window, fresh=True)
    truth_mix = sd.status_truth(shop, account_id, window.start, window.end)
    assert {s.status: (s.orders, s.amount) for s in mix if s.orders} == truth_mix
    assert [s.status for s in mix][:6] == ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]


def test_top_lists_and_status_mix_match_pandas(ctx: Context, db: Database) -> None:
    shop, account_id = sd.random_shop(5, n_orders=120, tz=NY, first=FIRST, last=LAST)
    shop.load(db)
    window = Window.for_dates(FIRST, LAST, NY)
    assert_lists_match(ctx, shop, account_id, window)
    assert_lists_match(ctx, shop, account_id, window, limit=100)
    with pytest.raises(InvalidInput, match="ranked by revenue or units"):
        sellers.top_products(ctx, OPERATOR, account_id, window, by="price")
    with pytest.raises(InvalidInput, match="between 1 and 100"):
        sellers.top_buyers(ctx, OPERATOR, account_id, window, limit=0)


def test_ties_in_top_lists_break_by_sku_and_buyer(ctx: Context, db: Database) -> None:
    shop = Shop()
    a = shop.account("Ties", "UTC")
    x, y = shop.customer(a, "zed"), shop.customer(a, "amy")
    start, _ = day_bounds(FIRST, LAST, "UTC")
    for sku in ("B", "A", "C"):
        shop.order(a, start, [(sku, sku, 1, Decimal("5.00"))], customer_id=x if sku == "B" else y)
    shop.order(a, start, [("A", "A", 0 + 1, Decimal("0.00"))], customer_id=x)
    shop.load(db)
    window = Window.for_dates(FIRST, LAST, "UTC")
    by_revenue = sellers.top_products(ctx, OPERATOR, a, window, by="revenue")
    assert [p.sku for p in by_revenue] == ["A", "B", "C"]  # A: 5.00 and 2 units beats B, C
    assert [b.username for b in sellers.top_buyers(ctx, OPERATOR, a, window)] == ["amy", "zed"]


def test_every_overview_statement_is_one_query_and_recorded(ctx: Context, db: Database) -> None:
    events: list[tuple[str, str, int | None]] = []

    class Observer:
        def record(
            self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
        ) -> None:
            events.append((kind, name, rows))

    shop, busy, _ = edge_case_shop()
    shop.load(db)
    ctx.db.observer = Observer()
    window = Window.for_dates(FIRST, LAST, NY)
    sellers.account(ctx, OPERATOR, busy)
    events.clear()
    view = sellers.overview(ctx, OPERATOR, busy, window)
    # the accounts list is not an overview statement: cached above, it is read again when the data
    # versions' read (on a thread, waited for 0.25 s at most) lands between the two calls, which a
    # loaded machine makes happen (CI, 2026-11-30)
    names = [name for kind, name, _ in events if kind == "query" and name != "list_accounts"]
    assert sorted(names) == sorted(
        [
            "account_kpis",
            "revenue_trend_day",
            "top_products_by_revenue",
            "top_products_by_units",
            "top_buyers",
            "status_mix",
        ]
    )
    assert ("query", "account_kpis", 1) in events
    assert ("query", "top_buyers", len(view.top_buyers)) in events
    events.clear()
    sellers.overview(ctx, OPERATOR, busy, window)
    assert not [e for e in events if e[0] == "query"], "a second overview is served from the cache"


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    n_orders=st.integers(0, 60),
    tz=st.sampled_from(["UTC", NY, "Australia/Sydney", "Asia/Kathmandu", "Europe/London"]),
    first=st.dates(dt.date(2025, 10, 1), dt.date(2026, 4, 30)),
    days=st.sampled_from([1, 7, 30, 90, 91, 95]),
)
def test_random_shops_match_pandas(
    ctx: Context, db: Database, seed: int, n_orders: int, tz: str, first: dt.date, days: int
) -> None:
    with db.transaction() as conn:
        bulk.delete_all(conn)
    ctx.cache.l1.clear()  # each example reuses account id 1 with another zone
    last = first + dt.timedelta(days=days - 1)
    shop, account_id = sd.random_shop(seed, n_orders=n_orders, tz=tz, first=first, last=last)
    shop.load(db)
    window = Window.for_dates(first, last, tz)
    assert_kpis_match(ctx, shop, account_id, tz, first, last)
    trend = sellers.trend(ctx, OPERATOR, account_id, window, fresh=True)
    weekly = days > 90
    assert trend.granularity == ("week" if weekly else "day")
    truth = sd.trend_truth(shop, account_id, window.start, window.end, tz, weekly)
    assert {p.bucket: (p.orders, p.revenue) for p in trend.points if p.orders} == truth
    assert_lists_match(ctx, shop, account_id, window, limit=3)


def test_money_stays_exact_over_many_cents(ctx: Context, db: Database) -> None:
    """A float sum of 0.10 a thousand times drifts; the figures must not."""
    shop = Shop()
    a = shop.account("Cents", "UTC")
    start, _ = day_bounds(FIRST, LAST, "UTC")
    for n in range(1000):
        shop.order(
            a,
            start + dt.timedelta(minutes=n),
            [("C", "C", 1, cents(10))],
            refunded=cents(1) if n % 7 == 0 else ZERO,
        )
    shop.load(db)
    k = sellers.kpis(ctx, OPERATOR, a, Window.for_dates(FIRST, LAST, "UTC"))
    assert k.revenue.current == Decimal("100.00") - Decimal("0.01") * 143
    assert k.average_order_value.current == Decimal("0.10")


def raw_kpis(db: Database, account_id: int) -> dict[str, Any]:
    row = queries.account_kpis(db, account_id, Window.for_dates(FIRST, LAST, NY), NOW)
    return dict(row._mapping)


def test_kpis_of_an_unknown_account_are_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound, match="no account with id 999"):
        sellers.kpis(ctx, OPERATOR, 999, Window.for_dates(FIRST, LAST, NY))


def test_kpi_statement_returns_zeros_not_nulls_for_an_unknown_account(db: Database) -> None:
    figures = raw_kpis(db, 999)
    assert figures.pop("currency") is None
    assert figures.pop("listings_known") == 0  # no listing: the service reports them as unknown
    assert all(value == 0 for value in figures.values())
    assert figures["revenue_cur"] == Decimal("0.00")


def test_readme_defines_every_figure_as_the_tiles_do() -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Figures", 1)[1].split("\n## ", 1)[0]
    listed = [line for line in section.splitlines() if line.startswith("- **")]
    from ebaydash.services.profit import PROFIT_FIGURES

    everything = {**sellers.FIGURES, **PROFIT_FIGURES}
    assert listed == [f"- **{name}**: {text}" for name, text in everything.items()]
