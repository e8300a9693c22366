"""Metrics shared through Redis: processes' counts merge, and a dead or stuck Redis degrades to
this process's numbers without ever blocking the app."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
import redis

from ebaydash.monitor import histogram
from ebaydash.monitor.buckets import BUCKET_S
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.shared import SharedMetrics
from tests.cache_support import RedisServer
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted by name afterwards (never KEYS)."""
    name = f"ebaydash:test:{uuid.uuid4().hex[:12]}"
    started = int(time.time())
    yield name
    delete_shared_metrics(redis_url, name, started)


def delete_shared_metrics(redis_url: str, prefix: str, started: int) -> None:
    """Delete, by name (never KEYS), the shared-metrics keys a test under ``prefix`` may have
    written since ``started`` (epoch seconds): its buckets, shapes and replica samples."""
    client = redis.Redis.from_url(redis_url, socket_timeout=1)
    starts = range((started // BUCKET_S - 2) * BUCKET_S, int(time.time()) + 2 * BUCKET_S, BUCKET_S)
    keys = [f"{prefix}:{kind}:{s}" for s in starts for kind in ("b", "x")]
    client.delete(*keys, f"{prefix}:shapes", f"{prefix}:replicas")
    client.close()


def shared(url: str, prefix: str, **kwargs: float) -> SharedMetrics:
    return SharedMetrics.connect(
        url,
        timeout_ms=int(kwargs.get("timeout_ms", 250)),
        prefix=prefix,
        breaker_reset_s=kwargs.get("breaker_reset_s", 10.0),
    )


WRITER = textwrap.dedent(
    """
    import sys
    from ebaydash.monitor.metrics import MetricsRecorder
    from ebaydash.monitor.shared import SharedMetrics

    url, prefix, which = sys.argv[1], sys.argv[2], sys.argv[3]
    shared = SharedMetrics.connect(url, timeout_ms=1000, prefix=prefix, breaker_reset_s=1)
    recorder = MetricsRecorder(shared=shared)
    if which == "a":
        for i in range(100):
            recorder.record("page", "overview", 0.010 + i * 0.0001, ok=i % 20 != 0)
        for _ in range(30):
            recorder.record("cache", "l1.hit", 0.00001)
        recorder.note_shape("s1", "SELECT * FROM orders WHERE id = ?")
        recorder.record("slow", "s1", 0.250)
    else:
        for i in range(50):
            recorder.record("page", "overview", 0.030 + i * 0.0001)
        for _ in range(10):
            recorder.record("cache", "miss", 0.00002)
        recorder.record("slow", "s1", 0.750)
    assert recorder.flush(), "push failed"
    print("ok")
    """
)


def test_two_processes_recording_into_one_redis_produce_merged_numbers(redis_url: str, prefix: str) -> None:
    for which in ("a", "b"):
        out = subprocess.run(
            [sys.executable, "-c", WRITER, redis_url, prefix, which],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert out.stdout.strip() == "ok", out.stderr
    reader = MetricsRecorder(shared=shared(redis_url, prefix))
    snap = reader.snapshot(60)
    assert snap.scope == "cluster" and snap.note is None
    pages = snap.pages
    values = [0.010 + i * 0.0001 for i in range(100)] + [0.030 + i * 0.0001 for i in range(50)]
    assert pages.count == 150
    assert pages.errors == 5
    assert pages.mean_ms == pytest.approx(np.mean(values) * 1000, abs=1e-3)  # sums kept in whole µs
    assert pages.max_ms == pytest.approx(max(values) * 1000, abs=1e-3)
    assert not pages.exact
    for q, got in ((50, pages.p50_ms), (95, pages.p95_ms), (99, pages.p99_ms)):
        truth = float(np.percentile(values, q, method="inverted_cdf")) * 1000
        assert abs(got - truth) <= truth * histogram.RELATIVE_ERROR
    assert snap.hit_rate("l1") == pytest.approx(30 / 40)
    assert snap.cache_misses == 10
    (slow,) = snap.slow_queries
    assert (slow.shape, slow.count) == ("SELECT * FROM orders WHERE id = ?", 2)
    assert (slow.mean_ms, slow.worst_ms) == (pytest.approx(500.0), pytest.approx(750.0))


def test_a_replica_sees_its_own_unflushed_events_with_the_others(redis_url: str, prefix: str) -> None:
    one = MetricsRecorder(shared=shared(redis_url, prefix))
    two = MetricsRecorder(shared=shared(redis_url, prefix))
    for _ in range(7):
        one.record("service", "kpis", 0.005)
    assert one.flush()
    for _ in range(3):
        two.record("service", "kpis", 0.005)
    assert two.snapshot(60).services.count == 10  # 7 from Redis + 3 not yet pushed
    assert two.flush()
    assert one.snapshot(60).services.count == 10
    assert one.snapshot(60, scope="process").services.count == 7


def test_replicas_publish_their_latest_resource_sample(redis_url: str, prefix: str) -> None:
    store = shared(redis_url, prefix)
    now = time.time()
    assert store.publish_sample("host:1", {"at": now, "system_memory_percent": 40.0})
    assert store.publish_sample("host:2", {"at": now - 100, "system_memory_percent": 60.0})
    fresh = store.replica_samples(max_age_s=30, now=now)
    assert list(fresh) == ["host:1"]
    assert fresh["host:1"]["system_memory_percent"] == 40.0


# -- faults -------------------------------------------------------------------------------------


def test_nothing_listening_fails_open_fast() -> None:
    store = SharedMetrics.connect(
        f"redis://127.0.0.1:{free_port()}/0", timeout_ms=250, prefix="x", breaker_reset_s=30
    )
    recorder = MetricsRecorder(shared=store)
    started = time.perf_counter()
    for _ in range(1000):
        recorder.record("page", "overview", 0.01)
    assert recorder.flush() is False
    snap = recorder.snapshot(60)
    assert time.perf_counter() - started < 1.0
    assert snap.scope == "process" and snap.note and "unavailable" in snap.note
    assert snap.pages.count == 1000  # this process's own numbers are still there
    assert store.breaker_open
    assert store.ping().ok is False


def test_a_database_number_redis_does_not_have_is_said_and_nothing_is_deleted(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """redis://host/99: SELECT 99 is refused while connecting. That was read as keys of the wrong
    type ("deleting ebaydash:metrics:replicas, which held the wrong type")."""
    base = redis_url.rsplit("/", 1)[0]
    store = SharedMetrics.connect(f"{base}/99", timeout_ms=250, prefix="x", breaker_reset_s=30)
    recorder = MetricsRecorder(shared=store)
    recorder.record("page", "overview", 0.01)
    with caplog.at_level("WARNING"):
        assert recorder.flush() is False
        snap = recorder.snapshot(60)
    assert snap.scope == "process" and snap.note and "unavailable" in snap.note
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "wrong type" not in said
    assert "EBAYDASH_REDIS_URL" in said and "DB index is out of range" in said
    assert store.breaker_open


def test_a_frozen_redis_costs_one_short_timeout_then_recovers(own_redis: RedisServer) -> None:
    store = shared(own_redis.url, "frozen", timeout_ms=200, breaker_reset_s=0.5)
    recorder = MetricsRecorder(shared=store)
    recorder.record("page", "overview", 0.01)
    assert recorder.flush()
    own_redis.freeze()  # accepts connections, answers nothing
    try:
        started = time.perf_counter()
        for _ in range(100):
            recorder.record("page", "overview", 0.01)  # the hot path never touches Redis
        hot = time.perf_counter() - started
        assert recorder.flush() is False
        snap = recorder.snapshot(60)  # breaker open: no second wait
        elapsed = time.perf_counter() - started
        assert hot < 0.1 and elapsed < 1.0
        assert snap.scope == "process" and snap.pages.count == 101
    finally:
        own_redis.thaw()
    time.sleep(0.6)  # past the breaker's reset
    assert recorder.flush()  # the counts kept during the outage go out now
    assert recorder.snapshot(60).scope == "cluster"
    assert MetricsRecorder(shared=shared(own_redis.url, "frozen")).snapshot(60).pages.count == 101


def test_a_restarted_redis_is_used_again_by_itself(own_redis: RedisServer) -> None:
    store = shared(own_redis.url, "restart", timeout_ms=200, breaker_reset_s=0.3)
    recorder = MetricsRecorder(shared=store)
    recorder.record("service", "kpis", 0.01)
    assert recorder.flush()
    own_redis.stop()
    recorder.record("service", "kpis", 0.01)
    assert recorder.flush() is False
    assert recorder.snapshot(60).scope == "process"
    own_redis.start()
    time.sleep(0.4)  # past the breaker's reset
    assert recorder.flush()
    assert recorder.snapshot(60).scope == "cluster"
    # the restarted server lost the first push (no persistence); the outage's count arrived
    assert MetricsRecorder(shared=shared(own_redis.url, "restart")).snapshot(60).services.count == 1


def test_the_background_flusher_pushes_without_being_asked(redis_url: str, prefix: str) -> None:
    writer = MetricsRecorder(shared=shared(redis_url, prefix))
    writer.start(interval_s=0.1)
    try:
        for _ in range(25):
            writer.record("service", "kpis", 0.003)
        reader = MetricsRecorder(shared=shared(redis_url, prefix))
        deadline = time.monotonic() + 5
        while reader.snapshot(60).services.count < 25:
            assert time.monotonic() < deadline, "the flusher never pushed"
            time.sleep(0.05)
    finally:
        writer.stop()
    assert reader.snapshot(60).services.count == 25  # and nothing twice
