"""One suite for every cache level (dogpile.cache style), then what only Redis adds."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis

from ebaydash.cache import NO_VALUE, CacheBackend
from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.redis import RedisBackend
from ebaydash.models import OrderRow, OrdersPage
from ebaydash.redaction import redact
from tests.cache_support import FakeClock, unique_prefix


@pytest.fixture(params=["memory", "redis"])
def cache_backend(request: pytest.FixtureRequest) -> Iterator[CacheBackend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    backend = RedisBackend(request.getfixturevalue("redis_url"), prefix=unique_prefix())
    yield backend
    backend.close()


@pytest.fixture
def shared(redis_url: str) -> Iterator[RedisBackend]:
    backend = RedisBackend(redis_url, prefix=unique_prefix())
    yield backend
    backend.close()


def page(n: int) -> OrdersPage:
    rows = [
        OrderRow(
            id=i,
            ebay_order_id=f"12-{i:05d}",
            order_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i),
            status="paid",
            buyer=None if i % 3 else f"buyer{i}",
            total_amount=Decimal("19.99") * i,
            refunded_amount=Decimal("0.00"),
            currency="USD",
            items=i % 4 + 1,
        )
        for i in range(n)
    ]
    return OrdersPage(rows=rows, next_cursor="next", prev_cursor=None, page_size=n, sort="newest")


# -- every backend ------------------------------------------------------------------------------


def test_a_missing_key_is_no_value(cache_backend: CacheBackend) -> None:
    assert cache_backend.get("missing") is NO_VALUE


@pytest.mark.parametrize("value", [0, "", [], {}, None, False, Decimal("0.00"), ()])
def test_falsy_values_are_cached_like_any_other(cache_backend: CacheBackend, value: object) -> None:
    cache_backend.set("k", value, 60)
    got = cache_backend.get("k")
    assert got is not NO_VALUE and got == value and type(got) is type(value)


def test_set_overwrites_and_delete_removes(cache_backend: CacheBackend) -> None:
    cache_backend.set("k", 1, 60)
    cache_backend.set("k", page(3), 60)
    assert cache_backend.get("k") == page(3)
    cache_backend.delete("k")
    assert cache_backend.get("k") is NO_VALUE
    cache_backend.delete("k")  # deleting nothing is fine


def test_get_with_ttl_tells_how_long_the_entry_has_left(cache_backend: CacheBackend) -> None:
    cache_backend.set("k", "v", 30)
    value, left = cache_backend.get_with_ttl("k")
    assert value == "v" and 25 < left <= 30
    assert cache_backend.get_with_ttl("missing") == (NO_VALUE, 0.0)


def test_entries_expire_after_their_ttl(cache_backend: CacheBackend) -> None:
    cache_backend.set("short", "x", 0.15)
    cache_backend.set("long", "y", 60)
    assert cache_backend.get("short") == "x"
    time.sleep(0.3)
    assert cache_backend.get("short") is NO_VALUE
    assert cache_backend.get("long") == "y"


def test_keys_are_opaque_text(cache_backend: CacheBackend) -> None:
    keys = ["acct:1:v2:kpis:abc", "ünïcödé ✓", "with space", "a" * 500]
    for i, key in enumerate(keys):
        cache_backend.set(key, i, 60)
    assert [cache_backend.get(k) for k in keys] == list(range(len(keys)))


def test_a_page_of_orders_comes_back_equal(cache_backend: CacheBackend) -> None:
    cache_backend.set("page", page(50), 60)
    assert cache_backend.get("page") == page(50)


def test_concurrent_writers_and_readers_see_whole_values(cache_backend: CacheBackend) -> None:
    errors: list[BaseException] = []
    values = [page(n) for n in (1, 5, 20)]

    def work(worker: int) -> None:
        try:
            for i in range(50):
                cache_backend.set("shared", values[(worker + i) % 3], 60)
                got = cache_backend.get("shared")
                assert got in values
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# -- L1 bounds ----------------------------------------------------------------------------------


def test_l1_is_bounded_by_entries_with_lru_order() -> None:
    l1 = MemoryBackend(max_entries=3)
    for key in "abc":
        l1.set(key, key, 60)
    assert l1.get("a") == "a"  # a is now the most recently used
    l1.set("d", "d", 60)
    assert l1.get("b") is NO_VALUE and l1.get("a") == "a" and len(l1) == 3 and l1.evictions == 1


def test_l1_is_bounded_by_bytes() -> None:
    l1 = MemoryBackend(max_bytes=10_000)
    for i in range(50):
        l1.set(str(i), "x" * 1000, 60)
        assert l1.bytes_used <= 10_000
    assert 1 < len(l1) < 50
    l1.set("huge", "x" * 20_000, 60)  # bigger than the whole cache: not stored, nothing evicted for it
    assert l1.get("huge") is NO_VALUE and l1.bytes_used <= 10_000


def test_l1_keeps_expired_entries_for_stale_reads_only_within_the_grace() -> None:
    clock = FakeClock()
    l1 = MemoryBackend(clock=clock, stale_s=10)
    l1.set("k", "old", 5)
    clock.advance(6)
    assert l1.get("k") is NO_VALUE  # expired for normal reads
    assert l1.get_stale("k") == "old"
    clock.advance(10)
    assert l1.get_stale("k") is NO_VALUE and len(l1) == 0


# -- Redis only ---------------------------------------------------------------------------------


def test_garbage_in_redis_is_a_counted_miss(shared: RedisBackend, redis_url: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    shared.set("k", 1, 60)
    value_key = f"{shared._values}k"
    assert raw.exists(value_key)
    raw.set(value_key, b"\x00garbage{", px=60_000)
    assert shared.get("k") is NO_VALUE
    raw.delete(value_key)
    raw.rpush(value_key, b"a list where a string belongs")
    assert shared.get("k") is NO_VALUE
    assert shared.decode_errors == 2 and shared.available
    shared.set("k", 2, 60)  # the creator's value replaces the garbage
    assert shared.get("k") == 2
    raw.close()


def test_versions_start_from_the_clock_and_increase(shared: RedisBackend) -> None:
    first = shared.get_version("acct:1")
    assert first > 1_700_000_000_000  # milliseconds since 1970: a lost counter never goes back
    assert shared.get_version("acct:1") == first
    assert shared.bump_version("acct:1") == first + 1
    assert shared.bump_version("acct:1", 3) == first + 4
    other = shared.get_version("acct:2")
    shared.bump_version("acct:1")
    assert shared.get_version("acct:2") == other  # namespaces are independent


def test_a_garbage_version_restarts_from_the_clock(shared: RedisBackend, redis_url: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    key = f"{shared._versions}acct:9"
    raw.set(key, b"not a number", px=60_000)
    assert shared.get_version("acct:9") > 1_700_000_000_000
    raw.set(key, b"still not a number", px=60_000)
    assert shared.bump_version("acct:9") > 1_700_000_000_000
    raw.close()


def test_locks_are_exclusive_expire_and_are_released_only_by_their_owner(shared: RedisBackend) -> None:
    token = shared.try_lock("k", 0.3)
    assert token is not None
    assert shared.try_lock("k", 0.3) is None
    assert not shared.unlock("k", "someone else's token")
    assert shared.try_lock("k", 0.3) is None
    time.sleep(0.4)  # the holder "crashed": the lock expires by itself
    second = shared.try_lock("k", 5)
    assert second is not None
    assert not shared.unlock("k", token)  # the first holder's late release does not free it
    assert shared.try_lock("k", 5) is None
    assert shared.unlock("k", second)
    assert shared.try_lock("k", 5) is not None


def test_claim_returns_the_value_or_the_lock(shared: RedisBackend) -> None:
    token, value, _ = shared.claim("k", 5)
    assert token is not None and value is NO_VALUE
    assert shared.claim("k", 5) == (None, NO_VALUE, 0.0)  # someone (us) is creating it
    shared.set_and_unlock("k", [], 60, token)
    token, value, left = shared.claim("k", 5)
    assert token is None and value == [] and 55 < left <= 60  # a falsy value is a value
    assert shared.try_lock("k", 5) is not None  # set_and_unlock released the lock


def test_an_unreachable_redis_fails_fast_and_opens_the_breaker() -> None:
    from tests.conftest import free_port

    backend = RedisBackend(f"redis://127.0.0.1:{free_port()}/0", reset_s=60)
    started = time.perf_counter()
    with pytest.raises(Exception) as failure:
        backend.get("k")
    assert type(failure.value).__name__ == "CacheUnavailable"
    assert not backend.available and backend.status().state == "open"
    assert "ConnectionError" in (backend.status().last_error or "")
    with pytest.raises(Exception) as skipped:
        backend.get("k")
    assert type(skipped.value).__name__ == "CircuitOpen"
    assert time.perf_counter() - started < 1.0


def test_redact_hides_passwords() -> None:
    assert redact("redis://:secret@host:6379/0") == "redis://:***@host:6379/0"
    assert redact("redis://user:secret@host/1") == "redis://user:***@host/1"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"
