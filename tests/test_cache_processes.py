"""Two (or more) real processes sharing Redis: invalidation reaches the others within a second,
and a key is created by one process at a time, even when its creator crashes."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from ebaydash import services
from ebaydash.context import build_context
from ebaydash.models import OrderFilter, Window
from ebaydash.settings import Settings
from tests import cache_workers
from tests.cache_support import RedisServer, unique_prefix
from tests.conftest import OPERATOR

pytestmark = [pytest.mark.redis, pytest.mark.slow]

spawn = multiprocessing.get_context("spawn")


def test_a_write_in_one_process_is_seen_by_another_within_a_second(
    own_redis: RedisServer, demo_url: str
) -> None:
    url = demo_url
    settings = Settings(database_url=url, redis_url=own_redis.url, l1_ttl_s=1.0)
    ctx = build_context(settings, start_sampler=False)
    try:
        account = services.default_account(services.accounts(ctx, OPERATOR))
        order = services.orders_page(
            ctx, OPERATOR, account.id, OrderFilter(window=Window.last_days(30, account.timezone))
        ).rows[0]
        new_status = "cancelled" if order.status != "cancelled" else "paid"
        ready, results = spawn.Event(), spawn.Queue()
        watcher = spawn.Process(
            target=cache_workers.watch_order_status,
            args=(settings, account.id, order.id, new_status, ready, results),
        )
        watcher.start()
        assert ready.wait(60), "the watching process did not start"
        time.sleep(1.5)  # the watcher now serves the old status from its L1 and its known version
        services.update_order_status(ctx, OPERATOR, account.id, order.id, new_status)
        written_at = time.time()
        report = results.get(timeout=30)
        watcher.join(30)
    finally:
        ctx.close()
    assert report["seen_at"] is not None, "the other process never saw the write"
    assert report["seen_at"] - written_at < 1.0
    assert report["l1_hits"] > 10  # it really was reading from its cache, not the database


def test_processes_sharing_redis_run_a_creator_once(own_redis: RedisServer) -> None:
    prefix = unique_prefix()
    start, results = spawn.Event(), spawn.Queue()
    workers = [
        spawn.Process(
            target=cache_workers.create_with_lock, args=(own_redis.url, prefix, "cold", 5, start, results)
        )
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    time.sleep(3)  # let every process import and connect before the race starts
    start.set()
    values = [results.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(30)
    client = own_redis.client()
    assert int(client.get(f"{prefix}:test:runs") or 0) == 1
    made = [v for per_process in values for v in per_process]
    assert len(made) == 20 and all(v == made[0] for v in made)
    client.close()


def test_a_crashed_holder_blocks_others_only_until_its_lock_expires(own_redis: RedisServer) -> None:
    prefix = unique_prefix()
    holding = spawn.Event()
    crasher = spawn.Process(
        target=cache_workers.die_while_creating, args=(own_redis.url, prefix, "k", 1.5, holding)
    )
    crasher.start()
    assert holding.wait(60)
    cache = cache_workers.cache_for(own_redis.url, prefix, lock_ttl_s=1.5)
    began = time.perf_counter()
    assert cache.get_or_create("k", lambda: "made after the crash") == "made after the crash"
    waited = time.perf_counter() - began
    crasher.join(30)
    assert crasher.exitcode == 3
    assert 0.8 < waited < 1.5 + 1.0  # it waited for the lock, and not much longer than its expiry
    assert cache.status().counts["lock.wait"] >= 1
    cache.close()
