"""Cache: what a hit costs per level, what a miss adds, the overview warm vs cold on the large
database, and a page's data with Redis down vs up.

Uses the real services with contexts from :func:`ebaydash.context.build_context` on the shared
benchmark database (read only), the benchmark Redis (``env.redis_url``) under a key prefix of its
own, and, for the outage, a private redis-server that it stops and freezes.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import VIEWER, BenchEnv, Measurement, check, median_ms, timings
from ebaydash import services
from ebaydash.cache import codec
from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.redis import RedisBackend
from ebaydash.cache.tiered import TieredCache
from ebaydash.context import Context, build_context
from ebaydash.models import Account, OrderFilter, OrdersPage, Window
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.services import namespaces
from tests.redis_server import RedisServer

SECTION = "cache"


def run(env: BenchEnv) -> list[Measurement]:
    if not env.redis_url:
        raise RuntimeError("the cache benchmarks need Redis (--redis-url)")
    with _context(env, env.redis_url) as ctx:
        account = _biggest_account(ctx)
        window = Window.last_days(30, account.timezone)
        page = services.orders_page(ctx, VIEWER, account.id, OrderFilter(), page_size=50)
        results = [
            *_hits(env, ctx, account, window, page),
            _miss_cost(env, page),
            *_warm_vs_cold(env, ctx, account, window),
        ]
    results += _redis_down_vs_up(env, account, window)
    return results


# -- hits and misses ----------------------------------------------------------------------------


def _hits(
    env: BenchEnv, ctx: Context, account: Account, window: Window, page: OrdersPage
) -> list[Measurement]:
    samples = 10 if env.quick else 40
    l1_only = TieredCache(MemoryBackend(), None, observer=MetricsRecorder())
    l1_only.set("k", page)
    l1_us = _per_call_us(lambda: l1_only.get_or_create("k", _never), samples=samples)

    services.kpis(ctx, VIEWER, account.id, window)
    service_us = _per_call_us(
        lambda: services.kpis(ctx, VIEWER, account.id, window), samples=samples, batch=200
    )

    backend = RedisBackend(env.redis_url or "", prefix=f"ebaydash-bench-{uuid.uuid4().hex[:8]}")
    cache = TieredCache(MemoryBackend(), backend, observer=MetricsRecorder())
    cache.set("page50", page, 120)
    size = len(backend._encode("page50", page, 120) or b"")

    def l2_hit() -> None:
        cache.l1.delete("page50")
        cache.get_or_create("page50", _never)

    l2 = timings(l2_hit, repeat=200 if env.quick else 2000, warmup=50)
    raw = timings(lambda: backend.get("page50"), repeat=200 if env.quick else 2000, warmup=50)
    payload = codec.dumps(page)
    decode = timings(lambda: codec.loads(payload), repeat=200 if env.quick else 2000, warmup=50)
    assert cache.status().counts.get("miss", 0) == 0
    backend.close()
    l2_us = statistics.median(l2) * 1e6
    return [
        Measurement(SECTION, "L1 hit: get_or_create", l1_us, "µs", "<= 5 µs", check(l1_us, at_most=5)),
        Measurement(
            SECTION,
            "L1 hit through a service call (kpis: @measured, @cacheable key, version, L1)",
            service_us,
            "µs",
            note="what a page pays per cached figure",
        ),
        Measurement(
            SECTION,
            "L2 hit: 50-row orders page (L1 empty), median",
            l2_us,
            "µs",
            "<= 200 µs",
            check(l2_us, at_most=200),
            f"p95 {_pct(l2, 95) * 1e6:.0f} µs; RedisBackend.get alone {statistics.median(raw) * 1e6:.0f} µs, "
            f"decoding alone {statistics.median(decode) * 1e6:.0f} µs; {size:,} bytes",
        ),
    ]


def _miss_cost(env: BenchEnv, page: OrdersPage) -> Measurement:
    """What a miss adds to the creator's own time: L1 and L2 lookups, the creator lock, encoding
    and storing (the creator here returns a ready value, so it costs nothing itself)."""
    backend = RedisBackend(env.redis_url or "", prefix=f"ebaydash-bench-{uuid.uuid4().hex[:8]}")
    cache = TieredCache(MemoryBackend(), backend, observer=MetricsRecorder())
    keys = iter(range(10**9))
    with_redis = timings(
        lambda: cache.get_or_create(f"miss:{next(keys)}", lambda: page, 30), repeat=100 if env.quick else 1000
    )
    backend.close()
    l1_only = TieredCache(MemoryBackend(), None, observer=MetricsRecorder())
    without = timings(lambda: l1_only.get_or_create(f"miss:{next(keys)}", lambda: page), repeat=1000)
    ms = median_ms(with_redis)
    return Measurement(
        SECTION,
        "added cost of a miss (50-row page, L1 + L2, creator excluded)",
        ms,
        "ms",
        "<= 0.5 ms",
        check(ms, at_most=0.5),
        "3 Redis round trips (read, claim, store + unlock) + encoding; "
        f"p95 {_pct(with_redis, 95) * 1000:.2f} ms; without Redis {median_ms(without) * 1000:.1f} µs",
    )


# -- the overview on the large database ----------------------------------------------------------


def _overview(ctx: Context, account: Account, window: Window) -> None:
    """The data the overview page asks for: the sidebar's accounts, the tiles and the trend."""
    services.accounts(ctx, VIEWER)
    services.kpis(ctx, VIEWER, account.id, window)
    services.trend(ctx, VIEWER, account.id, window)


def _invalidate(ctx: Context, account: Account) -> None:
    ctx.cache.invalidate(namespaces.GLOBAL)
    ctx.cache.invalidate(namespaces.account(account.id))


def _warm_vs_cold(env: BenchEnv, ctx: Context, account: Account, window: Window) -> list[Measurement]:
    cold = []
    for _ in range(3 if env.quick else 10):
        _invalidate(ctx, account)
        started = time.perf_counter()
        _overview(ctx, account, window)
        cold.append(time.perf_counter() - started)
    warm = timings(lambda: _overview(ctx, account, window), repeat=200 if env.quick else 2000)

    def from_l2() -> None:
        ctx.cache.l1.clear()
        _overview(ctx, account, window)

    shared = timings(from_l2, repeat=50 if env.quick else 500)
    cold_ms, warm_ms, l2_ms = median_ms(cold), median_ms(warm), median_ms(shared)
    orders = f"account {account.id}, last 30 days"
    return [
        Measurement(SECTION, "overview data, cold (database)", cold_ms, "ms", note=orders),
        Measurement(SECTION, "overview data, warm (L1)", warm_ms * 1000, "µs"),
        Measurement(
            SECTION, "overview data, warm from L2 only (another replica's L1 is cold)", l2_ms * 1000, "µs"
        ),
        Measurement(SECTION, "overview data: cold / warm (L1)", cold_ms / warm_ms, "×"),
        Measurement(SECTION, "overview data: cold / warm (L2)", cold_ms / l2_ms, "×"),
    ]


# -- Redis down vs up --------------------------------------------------------------------------


def _redis_down_vs_up(env: BenchEnv, account: Account, window: Window) -> list[Measurement]:
    """The same page data from two replicas, one whose Redis is up and one whose Redis was
    stopped (after its breaker opened); calls alternate between them so noise hits both alike."""
    rounds = 5 if env.quick else 20
    with (
        _private_redis() as server,
        _context(env, env.redis_url or "") as up,
        _context(env, server.url) as down,
    ):
        _overview(up, account, window)
        _overview(down, account, window)
        hung_first = _first_call_while_frozen(server, lambda: _cold_overview(down, account, window))
        server.stop()
        _cold_overview(down, account, window)  # opens the breaker
        assert down.cache.degraded and not up.cache.degraded
        cold_up, cold_down, warm_up, warm_down, expired_up, expired_down = ([] for _ in range(6))
        for _ in range(rounds):
            cold_up.append(_timed(lambda: _cold_overview(up, account, window)))
            cold_down.append(_timed(lambda: _cold_overview(down, account, window)))
            warm_up.extend(timings(lambda: _overview(up, account, window), repeat=50))
            warm_down.extend(timings(lambda: _overview(down, account, window), repeat=50))
            expired_up.append(_timed(lambda: _expired_overview(up, account, window)))
            expired_down.append(_timed(lambda: _expired_overview(down, account, window)))
    cold_ratio = median_ms(cold_down) / median_ms(cold_up)
    warm_ratio = median_ms(warm_down) / median_ms(warm_up)
    expired_ratio = median_ms(expired_down) / median_ms(expired_up)
    return [
        Measurement(
            SECTION,
            "page data computed, Redis down / up (breaker open)",
            cold_ratio,
            "×",
            "<= 1.2",
            check(cold_ratio, at_most=1.2),
            f"up {median_ms(cold_up):.1f} ms, down {median_ms(cold_down):.1f} ms (overview data after an "
            "invalidation)",
        ),
        Measurement(
            SECTION,
            "page data cached in L1, Redis down / up (breaker open)",
            warm_ratio,
            "×",
            "<= 1.2",
            check(warm_ratio, at_most=1.2),
            f"up {median_ms(warm_up) * 1000:.1f} µs, down {median_ms(warm_down) * 1000:.1f} µs",
        ),
        Measurement(
            SECTION,
            "first page data after Redis hangs (breaker still closed)",
            hung_first * 1000,
            "ms",
            note=f"one 250 ms time limit, then the breaker opens (data: {median_ms(cold_down):.1f} ms)",
        ),
        Measurement(
            SECTION,
            "page data once L1 expired, Redis down / up",
            expired_ratio,
            "×",
            note=f"up (L2 hits) {median_ms(expired_up):.2f} ms, down (database) "
            f"{median_ms(expired_down):.1f} ms: the price of an outage, as L1 keeps copies for "
            "EBAYDASH_L1_TTL_S only",
        ),
    ]


def _cold_overview(ctx: Context, account: Account, window: Window) -> None:
    _invalidate(ctx, account)
    _overview(ctx, account, window)


def _expired_overview(ctx: Context, account: Account, window: Window) -> None:
    ctx.cache.l1.clear()
    _overview(ctx, account, window)


# -- helpers ------------------------------------------------------------------------------------


@contextmanager
def _context(env: BenchEnv, redis_url: str) -> Iterator[Context]:
    settings = env.settings.replace(
        redis_url=redis_url, cache_prefix=f"ebaydash-bench-{uuid.uuid4().hex[:8]}"
    )
    ctx = build_context(settings, start_sampler=False)
    try:
        yield ctx
    finally:
        ctx.close()


def _biggest_account(ctx: Context) -> Account:
    accounts = services.accounts(ctx, VIEWER)
    return next((a for a in accounts if a.id == 1), accounts[0])  # account 1 holds ~30 % of orders


def _never() -> object:
    raise AssertionError("the benchmark expected a hit")


def _per_call_us(fn: Callable[[], object], *, samples: int, batch: int = 1000) -> float:
    """Median µs per call over ``samples`` batches (a single hit is too short to time alone)."""

    def many() -> None:
        for _ in range(batch):
            fn()

    return statistics.median(timings(many, repeat=samples)) / batch * 1e6


def _timed(fn: Callable[[], object]) -> float:
    gc.disable()
    try:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started
    finally:
        gc.enable()


def _pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] if len(samples) > 1 else samples[0]


@contextmanager
def _private_redis() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is needed to benchmark an outage")
    workdir = tempfile.mkdtemp(prefix="ebaydash-bench-redis-")
    server = RedisServer(binary, Path(workdir)).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _first_call_while_frozen(server: RedisServer, fn: Callable[[], object]) -> float:
    server.freeze()
    try:
        return _timed(fn)
    finally:
        server.thaw()
