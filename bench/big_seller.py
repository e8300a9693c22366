"""Big seller (issue 16): the overview of the biggest account through the rollups vs the plain SQL,
the overview's p95 while imports land, and import throughput with and without the rollups.

Runs against its own database of ``EBAYDASH_BENCH_BIG_ORDERS`` synthetic orders (default 1M; the
issue asks for 10M), seeded once into ``EBAYDASH_BENCH_BIG_DB`` (+ ``_<orders>``) and kept between
runs; skipped with the reason when the disk cannot hold it. "Cold" means without the app's cache
(every statement runs); Postgres' own buffers are warm, as on a live server.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock

from sqlalchemy import delete, func, select, text

from bench import VIEWER, BenchEnv, Measurement, check, median_ms, timings
from bench import _admin as admin
from ebaydash.context import Context, build_context
from ebaydash.db import migrations, queries, rollup_reads, rollups, upsert
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import accounts, customers, order_items, orders, products
from ebaydash.models import LineRecord, OrderRecord, Window
from ebaydash.seeding import seed_synthetic
from ebaydash.services import namespaces, sellers
from ebaydash.settings import Settings

SECTION = "big_seller"
USES_BENCH_DB = False  # it seeds and keeps a database of its own (below)
BIG_ORDERS = int(os.environ.get("EBAYDASH_BENCH_BIG_ORDERS", "1000000"))
ORDERS = BIG_ORDERS  # the section's header reports this, not --orders
SUMMARY = """\
At 10M orders (`EBAYDASH_BENCH_BIG_ORDERS=10000000 python -m bench --only big_seller`; seeding
took 511-833 s and ~13 GB, kept between runs; revision 0008 built its tables on it in ~4 min) the
biggest account holds 3M orders, ~225k in its last 30 days. The trend, top products and status mix
read per-day sums, and top products a long window's whole months from per-month sums (365 days:
~11 month rows and ~30 day rows per SKU). Unique customers, a distinct count, come from each
customer's previous purchase day (customer_day_gaps): a window's customers are those whose previous
purchase lies before it, counted on their first day in it, a sum again (KPIs 30 days ~8-14 ms, 365 days
~16-35 ms, from 0.2 and 1.5 s). Top buyers read the 1,000 customers of highest net ceiling and stop when
the tenth buyer's revenue is above the next ceiling (a threshold scan; 90 and 365 days settle there,
365 days ~30-500 ms with the Postgres buffers warm or not, from 3 s); 7 and 30 days do not settle
(recent buyers outrank the all-time biggest) and read the window's orders (~250 ms at 30 days),
which is now most of the 30-day cold overview. What this costs: an import of 10k new orders also
adds to the day, SKU-day and SKU-month sums and to their customers' ceilings and purchase days
(the baseline leaves out all rollup work). 0.565x on 2026-11-29; on 2026-11-30 0.766x after three
changes, each measured with EXPLAIN ANALYZE and per-function timers: array parameters sent as one
text literal each (psycopg adapted 20k timestamps in 70 ms), the sums in one statement grouping by
bytes, the customers' additions in one statement, and no foreign key on the rollup tables
(revision 0009; its check per inserted row was 190 of 340 ms of the customers' writes). What is
left (~0.33 s against ~1.1 s for the orders and lines) is mostly the server's per-row work: 10k
customers' ceilings upserted (~120 ms; making them HOT updates saved ~10 %, not kept), their
purchase days inserted (~30 ms), ~2,000 SKU-day and SKU-month rows (~75 ms with the grouping).
The goal (0.85x) would need that under ~0.2 s: missed."""
BIG_DB = os.environ.get("EBAYDASH_BENCH_BIG_DB", "ebaydash_bench_big")
# measured: 1M seeded orders take 0.6 GB with items, indexes and rollups; twice that for WAL and
# the rebuild of indexes during the load
BYTES_PER_ORDER = 1_300
TIMEOUT_MS = 3_600_000
PREFIX = "BIGB-"  # orders this benchmark imports (and removes again)
IMPORT_ORDERS = 10_000
IMPORT_EVERY_S = 30.0


def run(env: BenchEnv) -> list[Measurement]:
    n = BIG_ORDERS
    name = f"{BIG_DB}_{n}"
    reason = _disk_too_small(env.admin_url, n)
    if reason:
        return [Measurement(SECTION, f"skipped at {n:,} orders", 0, "", note=reason)]
    db = _prepare(env, name, n)
    try:
        account_id, tz, anchor, in_30 = _biggest(db)
        note = f"{n:,} orders; biggest account {account_id}: {in_30:,} orders in its last 30 days"
        out = _statements(db, account_id, tz, anchor, note, quick=env.quick)
        out += _imports_with_and_without(db, account_id, tz, anchor, quick=env.quick)
        out += _p95_while_importing(db, account_id, tz, anchor, quick=env.quick)
        return out
    finally:
        _cleanup(db, account_id_or_none(db))
        db.dispose()


# -- the database -----------------------------------------------------------------------------


def _disk_too_small(admin_url: str, n: int) -> str | None:
    need = n * BYTES_PER_ORDER
    try:
        data_dir = admin_query(admin_url, "SHOW data_directory")
        free = shutil.disk_usage(data_dir).free
    except Exception:  # not readable (another host): the root file system is the best guess
        free = shutil.disk_usage("/").free
    if free < need:
        return f"needs ~{need / 2**30:.1f} GiB free for {n:,} orders; {free / 2**30:.1f} GiB free"
    return None


def admin_query(admin_url: str, sql: str) -> str:
    db = Database(make_engine(Settings(database_url=admin_url)), timeout_ms=10_000)
    try:
        with db.connect() as conn:
            return str(conn.execute(text(sql)).scalar_one())
    finally:
        db.dispose()


def _database(url: str) -> Database:
    return Database(
        make_engine(Settings(database_url=url, statement_timeout_ms=TIMEOUT_MS)), timeout_ms=TIMEOUT_MS
    )


def _prepare(env: BenchEnv, name: str, n: int) -> Database:
    admin.create_database(env.admin_url, name, exist_ok=True)
    url = admin.url_for(env.admin_url, name)
    db = _database(url)
    try:
        migrations.upgrade(db)
        have = queries.order_count_total(db)
    except Exception:
        have = -1
    if have != n:
        print(f"bench: seeding {n:,} orders into {name} (had {have:,})", flush=True)
        db.dispose()
        admin.reset_schema(url)
        db = _database(url)
        migrations.upgrade(db)
        print(f"bench: {seed_synthetic(db, n, accounts=20, seed=42).message}", flush=True)
        admin.vacuum_analyze(url)
    return db


def account_id_or_none(db: Database) -> int | None:
    try:
        return _biggest(db)[0]
    except Exception:
        return None


def _biggest(db: Database) -> tuple[int, str, dt.date, int]:
    """The account with the most orders, its zone, the day of its newest seeded order (the
    windows end there, so runs days apart measure the same data) and its orders in 30 days."""
    with db.connect(timeout_ms=TIMEOUT_MS) as conn:
        account_id = int(
            conn.execute(
                select(orders.c.account_id)
                .group_by(orders.c.account_id)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar_one()
        )
        tz = str(conn.execute(select(accounts.c.timezone).where(accounts.c.id == account_id)).scalar_one())
        newest = conn.execute(
            select(func.max(orders.c.order_date)).where(
                orders.c.account_id == account_id, ~orders.c.ebay_order_id.like(f"{PREFIX}%")
            )
        ).scalar_one()
    anchor = newest.astimezone(dt.UTC).date()
    window = Window.last_days(30, tz, anchor)
    with db.connect() as conn:
        in_30 = int(
            conn.execute(
                select(func.count()).where(
                    orders.c.account_id == account_id,
                    orders.c.order_date >= window.start,
                    orders.c.order_date < window.end,
                )
            ).scalar_one()
        )
    return account_id, tz, anchor, in_30


# -- every overview statement, plain SQL vs rollups ---------------------------------------------------


def _statements(
    db: Database, account_id: int, tz: str, anchor: dt.date, note: str, *, quick: bool
) -> list[Measurement]:
    repeat = 3 if quick else 7
    now = dt.datetime.combine(anchor + dt.timedelta(days=1), dt.time(), dt.UTC)
    out: list[Measurement] = []
    url = db.engine.url.render_as_string(hide_password=False)
    contexts = {
        p: build_context(
            Settings(database_url=url, statement_timeout_ms=TIMEOUT_MS, overview_parallelism=p),
            start_sampler=False,
        )
        for p in {1, PARALLELISM}
    }
    at_scale = BIG_ORDERS >= 10_000_000
    # the issue's goals are at 10M orders; at a smaller scale the 30-day one is issue 17's (1M)
    goals = {30: 300.0, 365: 500.0} if at_scale else {30: 120.0, 365: None}
    for days, goal in goals.items():
        window = Window.last_days(days, tz, anchor)
        granularity = "week" if days > 90 else "day"
        g: Any = granularity
        pairs: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            (
                "KPIs",
                partial(queries.account_kpis, db, account_id, window, now),
                partial(rollup_reads.account_kpis, db, account_id, window, now, tz),
            ),
            (
                "trend",
                partial(queries.revenue_trend, db, account_id, window, tz, g),
                partial(rollup_reads.revenue_trend, db, account_id, window, tz, g),
            ),
            (
                "top products by revenue",
                partial(queries.top_products, db, account_id, window, "revenue", 10),
                partial(rollup_reads.top_products, db, account_id, window, "revenue", 10, tz),
            ),
            (
                "top products by units",
                partial(queries.top_products, db, account_id, window, "units", 10),
                partial(rollup_reads.top_products, db, account_id, window, "units", 10, tz),
            ),
            (
                "status mix",
                partial(queries.status_mix, db, account_id, window),
                partial(rollup_reads.status_mix, db, account_id, window, tz),
            ),
            (
                "top buyers",
                partial(queries.top_buyers, db, account_id, window, 10),
                partial(rollup_reads.top_buyers, db, account_id, window, 10),
            ),
        ]
        old_total = new_total = 0.0
        for label, plain, rolled in pairs:
            old, new = _interleaved(plain, rolled, repeat=repeat, same=plain is rolled)
            old_total += old
            new_total += new
            out.append(
                Measurement(
                    SECTION,
                    f"{days}-day {label}: rollups (plain SQL {old:,.1f} ms)",
                    new,
                    "ms",
                    note=_note(label, old, new),
                )
            )
        out.append(
            Measurement(
                SECTION,
                f"{days}-day overview statements one after another, through rollups "
                f"(plain SQL {old_total:,.0f} ms)",
                new_total,
                "ms",
                note="the sum of the rows above",
            )
        )
        side, alone = _interleaved(
            partial(_cold_overview, contexts[PARALLELISM], account_id, window),
            partial(_cold_overview, contexts[1], account_id, window),
            repeat=repeat,
            same=False,
        )
        if goal is None:
            target, met = "<= 500 ms at 10M orders (not measured at this scale)", None
        else:
            target = f"<= {goal:.0f} ms at {'10M' if at_scale else '1M'} orders"
            met = check(side, at_most=goal)
        out.append(
            Measurement(
                SECTION,
                f"{days}-day whole overview cold, as a viewer waits for it (services.overview, "
                f"its parts side by side; one after another {alone:,.0f} ms)",
                side,
                "ms",
                target,
                met,
                f"{note}; EBAYDASH_OVERVIEW_PARALLELISM={PARALLELISM}, cache bypassed (fresh)",
            )
        )
    for ctx in contexts.values():
        ctx.close()
    return out


PARALLELISM = Settings().overview_parallelism  # the default


def _note(label: str, old: float, new: float) -> str:
    ratio = f"{old / new:.1f}x faster" if new else ""
    if label == "top buyers":
        return (
            f"{ratio}; a threshold scan over the {rollup_reads.TOP_BUYER_CANDIDATES:,} customers of highest "
            "ceiling, the window's orders when those do not settle the list"
        )
    if label == "KPIs":
        return f"{ratio}; unique customers from their previous purchase days (customer_day_gaps)"
    return ratio


def _cold_overview(ctx: Context, account_id: int, window: Window) -> object:
    return sellers.overview(ctx, VIEWER, account_id, window, fresh=True)


def _interleaved(
    plain: Callable[[], object], rolled: Callable[[], object], *, repeat: int, same: bool
) -> tuple[float, float]:
    """Median ms of each, timed in turns: on a shared machine the load changes from second to
    second, and timing one after the other would charge it to whichever ran at the busy moment.
    The same statement on both sides is timed once."""
    if same:
        value = median_ms(timings(plain, repeat=repeat))
        return value, value
    old: list[float] = []
    new: list[float] = []
    plain()
    rolled()
    for _ in range(repeat):
        old += timings(plain, repeat=1, warmup=0)
        new += timings(rolled, repeat=1, warmup=0)
    return median_ms(old), median_ms(new)


# -- imports ------------------------------------------------------------------------------------------


def _records(n: int, batch: int, anchor: dt.date, skus: list[str], buyers: list[str]) -> list[OrderRecord]:
    """``n`` new orders of the last day before ``anchor``'s end, like an import of today's orders."""
    end = dt.datetime.combine(anchor + dt.timedelta(days=1), dt.time(), dt.UTC)
    out = []
    for i in range(n):
        when = end - dt.timedelta(seconds=1 + (i * 86_399) // n)
        lines = tuple(
            LineRecord(
                sku=skus[(i * 3 + k) % len(skus)],
                title=f"Product {skus[(i * 3 + k) % len(skus)]}",
                quantity=1 + (i + k) % 2,
                unit_price=Decimal(500 + (i * 7919 + k) % 15000) / 100,
                line_item_id=f"{PREFIX}{batch}-{i}-{k}",
            )
            for k in range(1 + i % 3)
        )
        total = sum((li.unit_price * li.quantity for li in lines), Decimal("0.00"))
        out.append(
            OrderRecord(
                ebay_order_id=f"{PREFIX}{batch}-{i:06d}",
                status="paid" if i % 50 else "refunded",
                total_amount=total,
                refunded_amount=total if i % 50 == 0 else Decimal("0.00"),
                currency="USD",
                order_date=when,
                updated_at=when + dt.timedelta(hours=1),
                lines=lines,
                buyer=buyers[i % len(buyers)],
            )
        )
    return out


def _catalogue(db: Database, account_id: int) -> tuple[list[str], list[str]]:
    with db.connect() as conn:
        skus = list(
            conn.execute(
                select(products.c.sku).where(products.c.account_id == account_id).limit(2000)
            ).scalars()
        )
        buyers = list(
            conn.execute(
                select(customers.c.ebay_username).where(customers.c.account_id == account_id).limit(20_000)
            ).scalars()
        )
    return skus, buyers


def _write(db: Database, account_id: int, tz: str, records: list[OrderRecord]) -> float:
    with db.connect() as conn:
        name = str(conn.execute(select(accounts.c.name).where(accounts.c.id == account_id)).scalar_one())
    started = time.perf_counter()
    upsert.write_import(
        db,
        [records],
        account_name=name,
        ebay_user_id="unused",
        currency="USD",
        timezone=tz,
        marketplace="EBAY_US",
    )
    return time.perf_counter() - started


@contextmanager
def _without_rollups() -> Iterator[None]:
    """The import as it was before the rollups: no days or customers looked up, none recomputed,
    nothing added to the days' sums."""
    with (
        mock.patch.object(rollups, "days_of_orders", lambda *_args, **_kwargs: set()),
        mock.patch.object(rollups, "refresh_days", lambda *_args, **_kwargs: None),
        mock.patch.object(rollups, "add_new_orders", lambda *_args, **_kwargs: True),
        mock.patch.object(rollups, "customers_of_orders", lambda *_args, **_kwargs: set()),
        mock.patch.object(rollups, "refresh_customers", lambda *_args, **_kwargs: None),
        mock.patch.object(rollups, "add_new_customer_orders", lambda *_args, **_kwargs: None),
    ):
        yield


def _imports_with_and_without(
    db: Database, account_id: int, tz: str, anchor: dt.date, *, quick: bool
) -> list[Measurement]:
    skus, buyers = _catalogue(db, account_id)
    rounds = 1 if quick else 3
    with_s: list[float] = []
    without_s: list[float] = []
    for r in range(rounds):
        for mode in ("without", "with"):
            _cleanup(db, account_id)
            records = _records(IMPORT_ORDERS, r, anchor, skus, buyers)
            if mode == "with":
                with_s.append(_write(db, account_id, tz, records))
            else:
                with _without_rollups():
                    without_s.append(_write(db, account_id, tz, records))
    _cleanup(db, account_id)
    t_with, t_without = statistics.median(with_s), statistics.median(without_s)
    ratio = t_without / t_with
    return [
        Measurement(
            SECTION,
            f"import of {IMPORT_ORDERS:,} new orders, with rollups",
            IMPORT_ORDERS / t_with,
            "orders/s",
        ),
        Measurement(
            SECTION,
            f"import of {IMPORT_ORDERS:,} new orders, without rollups",
            IMPORT_ORDERS / t_without,
            "orders/s",
        ),
        Measurement(
            SECTION,
            "import throughput with rollups ÷ without",
            ratio,
            "×",
            ">= 0.85",
            check(ratio, at_least=0.85),
            f"median of {rounds}; new orders are added to their days' rollups from the import's own "
            "values, and to their customers' ceilings and purchase days, in the same transaction",
        ),
    ]


def _p95_while_importing(
    db: Database, account_id: int, tz: str, anchor: dt.date, *, quick: bool
) -> list[Measurement]:
    """Two viewers open the overview of the standard periods in turn, through the app's services
    and cache, while an import of 10k orders lands every 30 s (and refreshes ahead)."""
    duration = 35.0 if quick else 95.0
    settings = Settings(database_url=db.engine.url.render_as_string(hide_password=False))
    ctx = build_context(settings, start_sampler=False)
    skus, buyers = _catalogue(db, account_id)
    windows = sellers.standard_windows(tz, anchor)
    latencies: list[float] = []
    imports: list[float] = []
    stop = threading.Event()
    lock = threading.Lock()

    def viewer(offset: int) -> None:
        k = offset
        while not stop.is_set():
            window = windows[k % len(windows)]
            k += 1
            started = time.perf_counter()
            sellers.overview(ctx, VIEWER, account_id, window)
            with lock:
                latencies.append(time.perf_counter() - started)
            time.sleep(0.05)

    def importer() -> None:
        batch = 100
        while not stop.is_set():
            imports.append(_write(db, account_id, tz, _records(IMPORT_ORDERS, batch, anchor, skus, buyers)))
            ctx.cache.invalidate(namespaces.account(account_id))
            ctx.cache.invalidate(namespaces.GLOBAL)
            sellers.refresh_ahead(ctx, account_id)  # as services.import_orders does
            batch += 1
            stop.wait(IMPORT_EVERY_S)

    for window in windows:  # a viewer opened them before: the cache is warm when imports start
        sellers.overview(ctx, VIEWER, account_id, window)
    threads = [threading.Thread(target=viewer, args=(i,)) for i in range(2)]
    threads.append(threading.Thread(target=importer))
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(600)
    ctx.close()
    _cleanup(db, account_id)
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000 if ordered else float("nan")
    return [
        Measurement(
            SECTION,
            "overview p95 while 10k orders land every 30 s",
            p95,
            "ms",
            "<= 100 ms",
            check(p95, at_most=100.0),
            f"{len(latencies):,} overviews by 2 viewers over {duration:.0f} s (slowest "
            f"{ordered[-1] * 1000 if ordered else 0:,.0f} ms), {len(imports)} imports "
            f"(median {statistics.median(imports) if imports else 0:.1f} s each), refresh-ahead on",
        )
    ]


def _cleanup(db: Database, account_id: int | None) -> None:
    """Remove the orders this benchmark imported and recompute their days' rollups."""
    if account_id is None:
        return
    with db.transaction(timeout_ms=TIMEOUT_MS) as conn:
        mine = (orders.c.account_id == account_id) & orders.c.ebay_order_id.like(f"{PREFIX}%")
        ids = list(conn.execute(select(orders.c.id).where(mine)).scalars())
        if not ids:
            return
        tz = rollups.account_timezone(conn, account_id)
        days = rollups.days_of_orders(conn, account_id, tz, ids)
        customers = rollups.customers_of_orders(conn, account_id, ids)
        conn.execute(delete(order_items).where(order_items.c.order_id.in_(select(orders.c.id).where(mine))))
        conn.execute(delete(orders).where(mine))
        rollups.refresh_days(conn, account_id, days, tz)
        rollups.refresh_customers(conn, account_id, customers, tz)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text(
                "VACUUM (ANALYZE) orders, order_items, day_rollups, sku_day_rollups, customer_days, "
                "customer_day_gaps"
            )
        )
