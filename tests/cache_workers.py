"""Code run in child processes by tests/test_cache_processes.py (spawned: a fresh interpreter each,
sharing nothing with the test but the database file and Redis)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import redis

from ebaydash import services
from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.redis import RedisBackend
from ebaydash.cache.tiered import TieredCache
from ebaydash.context import build_context
from ebaydash.settings import Settings
from tests.conftest import OPERATOR


def watch_order_status(
    settings: Settings, account_id: int, order_id: int, expected: str, ready: Any, results: Any
) -> None:
    """Read one order through the cache every 10 ms; report when ``expected`` first shows."""
    ctx = build_context(settings, start_sampler=False)
    try:
        services.order_detail(ctx, OPERATOR, account_id, order_id)
        ready.set()
        deadline = time.time() + 10
        reads = 0
        while time.time() < deadline:
            reads += 1
            if services.order_detail(ctx, OPERATOR, account_id, order_id).order.status == expected:
                seen_at = time.time()
                break
            time.sleep(0.01)
        else:
            seen_at = None
        counts = ctx.cache.status().counts
        results.put({"seen_at": seen_at, "reads": reads, "l1_hits": counts.get("l1.hit", 0)})
    finally:
        ctx.close()


def cache_for(redis_url: str, prefix: str, *, lock_ttl_s: float = 5.0) -> TieredCache:
    return TieredCache(
        MemoryBackend(),
        RedisBackend(redis_url, prefix=prefix, timeout_s=1.0),
        default_ttl=60,
        l1_ttl=1,
        lock_ttl_s=lock_ttl_s,
    )


def create_with_lock(redis_url: str, prefix: str, key: str, threads: int, start: Any, results: Any) -> None:
    """Ask for ``key`` from several threads at once; the creator counts its runs in Redis."""
    cache = cache_for(redis_url, prefix)
    counter = redis.Redis.from_url(redis_url)

    def creator() -> dict[str, Any]:
        runs = counter.incr(f"{prefix}:test:runs")
        counter.rpush(f"{prefix}:test:spans", f"{time.time()}")
        time.sleep(0.5)
        counter.rpush(f"{prefix}:test:spans", f"{time.time()}")
        return {"made_by": os.getpid(), "run": runs}

    values: list[Any] = []

    def ask() -> None:
        values.append(cache.get_or_create(key, creator))

    start.wait(30)
    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    results.put(values)
    cache.close()
    counter.close()


def die_while_creating(redis_url: str, prefix: str, key: str, lock_ttl_s: float, holding: Any) -> None:
    """Take the creator lock, then crash before storing anything (no finally blocks run)."""
    cache = cache_for(redis_url, prefix, lock_ttl_s=lock_ttl_s)

    def creator() -> str:
        holding.set()
        time.sleep(0.2)
        os._exit(3)

    cache.get_or_create(key, creator)
