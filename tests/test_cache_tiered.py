"""TieredCache and @cacheable: misses, refresh, stampedes, stale values, TTLs, failures, metrics."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from ebaydash import services
from ebaydash.cache import NO_VALUE, CacheUnavailable, CircuitOpen, NoValue, key_for
from ebaydash.cache.decorator import argument_hash, cacheable
from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.redis import RedisBackend
from ebaydash.cache.tiered import TieredCache
from ebaydash.cache.versions import NamespaceVersions
from ebaydash.context import build_context
from ebaydash.models import OrderFilter, Window
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.services import sellers
from ebaydash.settings import Settings
from tests.cache_support import FakeClock
from tests.conftest import OPERATOR, free_port


class Counter:
    """A creator that counts its calls."""

    def __init__(self, value: Any = "value", delay: float = 0.0) -> None:
        self.value = value
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return self.value


def two_levels(clock: FakeClock | None = None, **kwargs: Any) -> TieredCache:
    tick = clock or time.monotonic
    return TieredCache(
        MemoryBackend(clock=tick, stale_s=kwargs.pop("stale_s", 0.0)),
        MemoryBackend(clock=tick),
        clock=tick,
        **kwargs,
    )


# -- get_or_create ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, [], None, "", False, {}])
def test_falsy_values_are_created_once(value: object) -> None:
    cache, creator = two_levels(), Counter(value)
    assert [cache.get_or_create("k", creator) for _ in range(3)] == [value] * 3
    assert creator.calls == 1


def test_a_failing_creator_caches_nothing() -> None:
    cache = two_levels()

    def boom() -> int:
        raise ValueError("database said no")

    with pytest.raises(ValueError, match="database said no"):
        cache.get_or_create("k", boom)
    assert cache.get("k") is NO_VALUE
    assert cache.get_or_create("k", Counter(7)) == 7


def test_refresh_bypasses_and_repopulates_both_levels() -> None:
    cache = two_levels()
    cache.get_or_create("k", Counter("old"))
    assert cache.get_or_create("k", Counter("new"), refresh=True) == "new"
    assert cache.get_or_create("k", Counter("unused")) == "new"
    cache.l1.clear()
    assert cache.get_or_create("k", Counter("unused")) == "new"  # from L2


def test_fifty_threads_asking_for_one_cold_key_run_the_creator_once() -> None:
    cache, creator = two_levels(), Counter("computed", delay=0.2)
    barrier = threading.Barrier(50)
    results: list[object] = []

    def ask() -> None:
        barrier.wait()
        results.append(cache.get_or_create("cold", creator))

    threads = [threading.Thread(target=ask) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert creator.calls == 1
    assert results == ["computed"] * 50


def test_while_one_thread_refreshes_an_expired_key_the_others_get_the_old_value_at_once() -> None:
    clock = FakeClock()
    cache = two_levels(clock, default_ttl=10, l1_ttl=10, stale_s=60)
    cache.get_or_create("k", Counter("old"))
    clock.advance(11)  # expired in both levels
    release, started = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "new"

    refresher = threading.Thread(target=lambda: cache.get_or_create("k", slow))
    refresher.start()
    started.wait(5)
    began = time.perf_counter()
    assert cache.get_or_create("k", Counter("must not run")) == "old"
    assert time.perf_counter() - began < 0.5
    release.set()
    refresher.join(5)
    assert cache.get_or_create("k", Counter("must not run")) == "new"
    assert cache.status().counts["stale.hit"] == 1


def test_nobody_waits_forever_for_another_thread() -> None:
    cache = two_levels(lock_wait_s=0.2)
    release = threading.Event()

    def stuck() -> str:
        release.wait(5)
        return "late"

    holder = threading.Thread(target=lambda: cache.get_or_create("k", stuck))
    holder.start()
    time.sleep(0.05)
    began = time.perf_counter()
    assert cache.get_or_create("k", Counter("mine")) == "mine"
    assert 0.15 < time.perf_counter() - began < 1.5
    assert cache.status().counts["lock.timeout"] == 1
    release.set()
    holder.join(5)


# -- TTLs ---------------------------------------------------------------------------------------


def test_ttl_per_namespace_kind_and_l1_never_longer_than_l2() -> None:
    clock = FakeClock()
    cache = two_levels(clock, default_ttl=300, l1_ttl=1, namespace_ttls={"global": 60, "acct": 120})
    cache.get_or_create(cache.scoped("global", "accounts"), Counter())
    cache.get_or_create(cache.scoped("acct:1", "kpis"), Counter())
    cache.get_or_create("other", Counter())
    cache.get_or_create(cache.scoped("acct:1", "short"), Counter(), ttl=0.5)
    l2_left = {k: cache.l2.get_with_ttl(k)[1] for k in list(cache.l2._data)}  # type: ignore[union-attr]
    l1_left = {k: cache.l1.get_with_ttl(k)[1] for k in list(cache.l1._data)}
    assert sorted(l2_left.values()) == [0.5, 60, 120, 300]
    assert all(l1_left[k] <= min(1, l2_left[k]) for k in l1_left)


def test_an_l1_copy_of_an_l2_entry_never_outlives_it() -> None:
    clock = FakeClock()
    cache = two_levels(clock, default_ttl=10, l1_ttl=2)
    cache.set("k", "v", 5)
    clock.advance(4.5)  # L1 expired, L2 has 0.5 s left
    assert cache.get("k") == "v"  # copied back into L1
    clock.advance(0.6)
    assert cache.get("k") is NO_VALUE


# -- namespaces ---------------------------------------------------------------------------------


def test_invalidating_a_namespace_hides_its_keys_and_no_others() -> None:
    cache = two_levels()
    one, two = cache.scoped("acct:1", "kpis"), cache.scoped("acct:2", "kpis")
    cache.set(one, "one")
    cache.set(two, "two")
    cache.invalidate("acct:1")
    assert cache.scoped("acct:1", "kpis") != one
    assert cache.get(cache.scoped("acct:1", "kpis")) is NO_VALUE
    assert cache.get(cache.scoped("acct:2", "kpis")) == "two"


class FlakyStore:
    """A shared version store that can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.versions: dict[str, int] = {}

    def _check(self) -> None:
        if not self.up:
            raise CacheUnavailable("down")

    def get_version(self, namespace: str) -> int:
        self._check()
        return self.versions.get(namespace, 100)

    def bump_version(self, namespace: str, by: int = 1) -> int:
        self._check()
        self.versions[namespace] = self.versions.get(namespace, 100) + by
        return self.versions[namespace]

    def try_lock(self, key: str, ttl_s: float) -> str | None:
        return None

    def unlock(self, key: str, token: str) -> bool:
        return False

    def claim(self, key: str, ttl_s: float) -> tuple[str | None, Any | NoValue, float]:
        return None, NO_VALUE, 0.0

    def set_and_unlock(self, key: str, value: Any, ttl: float, token: str) -> None:
        pass


def test_a_version_bump_made_while_the_store_is_down_still_changes_keys_and_is_published_later() -> None:
    store, clock = FlakyStore(), FakeClock()
    versions = NamespaceVersions(store, check_every_s=0.5, clock=clock)
    assert versions.token("acct:1") == "100"
    store.up = False
    versions.bump("acct:1")
    assert versions.token("acct:1") == "100~1"  # this process stops serving what it changed
    clock.advance(1)
    assert versions.token("acct:1") == "100~1"  # still down: the last known version is kept
    store.up = True
    assert versions.token("acct:1") == "100~1"  # no new try before the interval is over
    clock.advance(0.5)
    assert versions.token("acct:1") == "101"  # published once the store answers
    assert store.versions["acct:1"] == 101


def test_versions_are_rechecked_every_interval() -> None:
    store, clock = FlakyStore(), FakeClock()
    versions = NamespaceVersions(store, check_every_s=0.5, clock=clock)
    assert versions.token("global") == "100"
    store.versions["global"] = 200  # another process invalidated
    assert versions.token("global") == "100"
    clock.advance(0.5)
    assert versions.token("global") == "200"


# -- failures of L2 -----------------------------------------------------------------------------


class BrokenL2:
    name = "l2"

    def __init__(self, error: type[CacheUnavailable]) -> None:
        self.error = error

    def get(self, key: str) -> Any:
        raise self.error("nope")

    def get_with_ttl(self, key: str) -> tuple[Any, float]:
        raise self.error("nope")

    def set(self, key: str, value: Any, ttl: float) -> None:
        raise self.error("nope")

    def delete(self, key: str) -> None:
        raise self.error("nope")


class EventLog:
    """An observer that keeps every event in order and passes it on to a real recorder."""

    def __init__(self, inner: MetricsRecorder) -> None:
        self.inner = inner
        self.events: list[tuple[str, str, float]] = []

    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None:
        self.events.append((kind, name, duration_s))
        self.inner.record(kind, name, duration_s, ok=ok, rows=rows)


@pytest.mark.parametrize(("error", "event"), [(CacheUnavailable, "l2.error"), (CircuitOpen, "l2.skip")])
def test_a_failing_l2_never_reaches_the_caller(error: type[CacheUnavailable], event: str) -> None:
    recorder = EventLog(MetricsRecorder())
    cache = TieredCache(MemoryBackend(), BrokenL2(error), observer=recorder)
    creator = Counter(42)
    assert cache.get_or_create("k", creator) == 42
    assert cache.get_or_create("k", creator) == 42  # from L1
    cache.delete("k")
    assert creator.calls == 1
    names = [name for kind, name, _ in recorder.events if kind == "cache"]
    assert names.count(event) >= 2 and "miss" in names and "l1.hit" in names
    assert (recorder.inner.snapshot().cache_errors > 0) == (event == "l2.error")


def test_events_are_recorded_per_level() -> None:
    recorder = EventLog(MetricsRecorder())
    cache = TieredCache(MemoryBackend(), MemoryBackend(), observer=recorder)
    cache.get_or_create("k", Counter())
    cache.get_or_create("k", Counter())
    cache.l1.clear()
    cache.get_or_create("k", Counter())
    snapshot = recorder.inner.snapshot()
    assert snapshot.cache_misses == 1 and snapshot.cache_hits == {"l1": 1, "l2": 1}
    assert snapshot.hit_rate("l1") == pytest.approx(1 / 3)
    assert all(seconds >= 0 for kind, _, seconds in recorder.events if kind == "cache")


def test_status_reports_sizes_breaker_and_counts() -> None:
    backend = RedisBackend(f"redis://:secret@127.0.0.1:{free_port()}/0", reset_s=30)
    cache = TieredCache(MemoryBackend(max_entries=10), backend)
    assert not cache.degraded
    cache.get_or_create("k", Counter([1, 2, 3]))
    status = cache.status()
    assert status.degraded and cache.degraded
    assert status.l1_entries == 1 and status.l1_bytes > 0 and status.l1_max_entries == 10
    assert status.l2 is not None and status.l2.state == "open" and status.l2.times_opened == 1
    assert "secret" not in status.l2.target and status.l2.last_error
    assert status.counts["miss"] == 1 and status.counts["l2.error"] == 1
    assert status.hit_rate("l1") == 0.0
    cache.close()


# -- @cacheable ---------------------------------------------------------------------------------


class Ctx:
    def __init__(self) -> None:
        self.cache = two_levels()


calls: list[tuple[Any, ...]] = []


@cacheable("figure:{kind}", namespace="acct:{account_id}")
def figure(ctx: Ctx, account_id: int, kind: str, window: Window | None = None, *, fresh: bool = False) -> str:
    calls.append((account_id, kind, window))
    return f"{account_id}/{kind}/{len(calls)}"


def test_cacheable_keys_are_scoped_by_account_and_normalised() -> None:
    ctx, window = Ctx(), Window.last_days(7, "UTC", today=dt.date(2026, 1, 10))
    calls.clear()
    first = figure(ctx, 1, "kpis", window)
    assert figure(ctx, account_id=1, kind="kpis", window=window) == first  # same entry
    assert figure(ctx, 1, "kpis", window, fresh=False) == first  # fresh is not part of the key
    assert figure(ctx, 2, "kpis", window) != first
    assert figure(ctx, 1, "kpis", None) != first
    assert len(calls) == 3
    key = key_for(figure, ctx, 1, "kpis", window)
    assert key.startswith("acct:1:v0:figure:kpis:")


def test_fresh_reruns_and_repopulates() -> None:
    ctx = Ctx()
    calls.clear()
    first = figure(ctx, 1, "trend")
    again = figure(ctx, 1, "trend", fresh=True)
    assert again != first and len(calls) == 2
    assert figure(ctx, 1, "trend") == again


def test_invalidating_an_account_recomputes_only_its_figures() -> None:
    ctx = Ctx()
    calls.clear()
    figure(ctx, 1, "kpis")
    figure(ctx, 2, "kpis")
    ctx.cache.invalidate("acct:1")
    figure(ctx, 1, "kpis")
    figure(ctx, 2, "kpis")
    assert [c[0] for c in calls] == [1, 2, 1]


def test_argument_hash_tells_types_apart_and_ignores_order() -> None:
    assert argument_hash({"a": 1, "b": 2}) == argument_hash({"b": 2, "a": 1})
    assert argument_hash({"x": Decimal("1")}) != argument_hash({"x": "1"})
    assert argument_hash({"x": {3, 1, 2}}) == argument_hash({"x": {1, 2, 3}})
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert argument_hash({"x": moment}) != argument_hash({"x": moment + dt.timedelta(microseconds=1)})
    with pytest.raises(TypeError):
        argument_hash({"x": object()})


def test_cacheable_passes_bad_calls_through_as_type_errors() -> None:
    with pytest.raises(TypeError):
        figure(Ctx(), 1, "kpis", unknown=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        figure(Ctx())  # type: ignore[call-arg]


def test_every_page_facing_service_reads_through_the_cache_with_the_account_in_its_key(
    demo_url: str,
) -> None:
    settings = Settings(database_url=demo_url)
    ctx = build_context(settings, start_sampler=False)
    try:
        account = services.default_account(services.accounts(ctx, OPERATOR))
        window = Window.last_days(30, account.timezone)
        flt = OrderFilter(window=window)
        page = services.orders_page(ctx, OPERATOR, account.id, flt)
        for fn, args in [
            (sellers.kpis, (OPERATOR, account.id, window)),
            (sellers.trend, (OPERATOR, account.id, window)),
            (sellers.orders_page, (OPERATOR, account.id, flt)),
            (sellers.orders_total, (OPERATOR, account.id, flt)),
            (sellers.order_detail, (OPERATOR, account.id, page.rows[0].id)),
        ]:
            assert key_for(fn, ctx, *args).startswith(f"acct:{account.id}:v")
            first = fn(ctx, *args)
            queries_before = ctx.recorder.snapshot(600, scope="process").queries.count
            assert fn(ctx, *args) == first
            queries_after = ctx.recorder.snapshot(600, scope="process").queries.count
            assert queries_after == queries_before, fn.__name__
        assert key_for(sellers._all_accounts, ctx).startswith("global:v")
        # who asks is not part of a key: a seller and an admin share the account's entries
        seller = services.Viewer(email="s@x.test", roles={account.id: "seller"})
        assert key_for(sellers.kpis, ctx, seller, account.id, window) == key_for(
            sellers.kpis, ctx, OPERATOR, account.id, window
        )
    finally:
        ctx.close()


def test_the_cache_prefix_setting_is_validated() -> None:
    from ebaydash.errors import ConfigError

    assert Settings.from_env({"EBAYDASH_CACHE_PREFIX": "shop-eu:1"}).cache_prefix == "shop-eu:1"
    for bad in ("", "has space", "x" * 65, "a*b"):
        with pytest.raises(ConfigError, match="EBAYDASH_CACHE_PREFIX"):
            Settings.from_env({"EBAYDASH_CACHE_PREFIX": bad})
