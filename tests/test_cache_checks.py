"""Cached values checked (issue 10): a value in Redis written for another key (another account's
figures copied in) or of the wrong shape is a miss, recomputed and overwritten; never served.
Shared-metrics keys of the wrong type are repaired, not kept alive by EXPIRE."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ebaydash import services
from ebaydash.cache.decorator import key_for, shape_check
from ebaydash.cache.redis import RedisBackend
from ebaydash.context import Context, build_context
from ebaydash.models import Account, Kpis, Window
from ebaydash.monitor.buckets import Aggregate
from ebaydash.monitor.shared import SharedMetrics
from ebaydash.redis_connection import RedisConnection
from ebaydash.services import sellers
from ebaydash.settings import Settings
from tests.conftest import OPERATOR
from tests.redis_server import RedisServer

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass
class Two:
    ctx: Context
    backend: RedisBackend
    server: RedisServer
    first: Account
    second: Account
    window: Window

    def value_key(self, account: Account) -> str:
        return self.backend._values + key_for(sellers.kpis, self.ctx, OPERATOR, account.id, self.window)

    def kpis(self, account: Account) -> Kpis:
        self.ctx.cache.l1.clear()  # every read goes to Redis
        return services.kpis(self.ctx, OPERATOR, account.id, self.window)

    def figures(self, account: Account) -> Kpis:
        """The figures without the moment they were computed at."""
        return dataclasses.replace(self.kpis(account), as_of=EPOCH)


@pytest.fixture
def two(own_redis: RedisServer, demo_url: str) -> Iterator[Two]:
    ctx = build_context(Settings(database_url=demo_url, redis_url=own_redis.url), start_sampler=False)
    first, second = services.accounts(ctx, OPERATOR)[:2]
    backend = ctx.cache.l2
    assert isinstance(backend, RedisBackend)
    yield Two(ctx, backend, own_redis, first, second, Window.last_days(365, first.timezone))
    ctx.close()


def test_another_accounts_figures_copied_into_a_key_are_a_miss_and_are_overwritten(two: Two) -> None:
    mine, theirs = two.figures(two.first), two.figures(two.second)
    assert mine != theirs  # control: the two accounts' figures differ
    raw = two.server.client()
    try:
        raw.set(two.value_key(two.first), raw.get(two.value_key(two.second)))
        assert two.figures(two.first) == mine  # not the other account's
        assert two.backend.decode_errors == 1
        assert raw.get(two.value_key(two.first)) != raw.get(two.value_key(two.second))  # overwritten
        assert two.figures(two.first) == mine and two.backend.decode_errors == 1  # a plain hit again
        # negative control: the same bytes under their own key are a hit, not an error
        stored = raw.get(two.value_key(two.second))
        raw.set(two.value_key(two.second), stored)
        assert two.figures(two.second) == theirs and two.backend.decode_errors == 1
    finally:
        raw.close()


def test_a_value_of_the_wrong_shape_is_a_miss_and_is_overwritten(two: Two) -> None:
    mine = two.figures(two.first)
    key = key_for(sellers.kpis, two.ctx, OPERATOR, two.first.id, two.window)
    raw = two.server.client()
    try:
        # well-formed, for the right key, but a list where Kpis belong
        raw.set(two.backend._values + key, two.backend._encode(key, [1, 2, 3], 60))
        assert two.figures(two.first) == mine
        stored = two.backend.get(key)  # the right value replaced it in Redis
        assert isinstance(stored, Kpis) and dataclasses.replace(stored, as_of=EPOCH) == mine
        # negative control: a value of the right shape is served as it is (the check is of shape)
        other = dataclasses.replace(stored, as_of=stored.as_of.replace(year=2001))
        raw.set(two.backend._values + key, two.backend._encode(key, other, 60))
        assert two.kpis(two.first) == other
    finally:
        raw.close()


@pytest.mark.parametrize(
    ("annotation_of", "good", "bad"),
    [
        (sellers.accounts, [Account(1, "a", "a", "EBAY_US", "USD", "UTC")], [{"id": 1}]),
        (sellers.orders_total, 3, "3"),
        (sellers.kpis, None, {"orders": 1}),
    ],
)
def test_the_shape_check_follows_the_return_annotation(annotation_of: Any, good: Any, bad: Any) -> None:
    fn = annotation_of
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    fits = shape_check(fn)
    assert not fits(bad)
    if good is not None:
        assert fits(good)


# -- shared metrics ---------------------------------------------------------------------------------


@pytest.fixture
def shared(own_redis: RedisServer) -> Iterator[SharedMetrics]:
    connection = RedisConnection(own_redis.url, timeout_s=1.0, reset_s=0.2)
    yield SharedMetrics(connection, prefix="m", retention_s=600)
    connection.close()


def _one_bucket(start: int) -> dict[int, dict[tuple[str, str], Aggregate]]:
    agg = Aggregate()
    agg.add(0.25, True, None)
    return {start: {("page", "overview"): agg}}


@pytest.mark.parametrize("which", ["b", "x", "shapes", "replicas"])
def test_a_metrics_key_of_the_wrong_type_is_repaired_not_kept_alive(
    shared: SharedMetrics, own_redis: RedisServer, which: str
) -> None:
    start = int(time.time()) // 10 * 10
    key = {"b": f"m:b:{start}", "x": f"m:x:{start}", "shapes": "m:shapes", "replicas": "m:replicas"}[which]
    raw = own_redis.client()
    try:
        raw.set(key, "garbage", ex=5)  # a string where a hash or sorted set belongs
        assert shared.push(_one_bucket(start), {"s1": "SELECT 1"}, batch_id=f"b-{which}")
        assert shared.publish_sample("r1", {"at": time.time(), "rss_mb": 1})
        expected = "zset" if which == "x" else "hash"
        assert raw.type(key).decode() == expected  # rewritten with the right type
        assert raw.ttl(key) > 5  # and its own retention, not the garbage's
        merged = shared.read([start])
        assert merged[start][("page", "overview")].count == 1
        assert shared.shape("s1") == "SELECT 1"
        assert "r1" in shared.replica_samples(max_age_s=60)
    finally:
        raw.close()


@pytest.mark.parametrize("which", ["b", "shapes", "replicas"])
def test_reading_a_metrics_key_of_the_wrong_type_repairs_it(
    shared: SharedMetrics, own_redis: RedisServer, which: str
) -> None:
    start = int(time.time()) // 10 * 10
    key = {"b": f"m:b:{start}", "shapes": "m:shapes", "replicas": "m:replicas"}[which]
    raw = own_redis.client()
    try:
        raw.rpush(key, "garbage")
        raw.expire(key, 600)
        assert shared.read([start]) == {}
        assert shared.shape("s1") is None
        assert shared.replica_samples(max_age_s=60) == {}
        assert not raw.exists(key)  # deleted, not kept
        assert not shared.breaker_open  # garbage is not an outage
    finally:
        raw.close()
