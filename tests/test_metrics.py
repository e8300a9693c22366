"""The metrics recorder: exact percentiles against numpy, histogram error bounds, windows, limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebaydash.monitor import histogram
from ebaydash.monitor.buckets import BUCKET_S, RETENTION_S, window_start
from ebaydash.monitor.metrics import MAX_NAMES_PER_KIND, OTHER, MetricsRecorder


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


durations = st.lists(
    st.floats(min_value=1e-6, max_value=30.0, allow_nan=False, allow_infinity=False), min_size=1, max_size=400
)


@settings(max_examples=60, deadline=None)
@given(values=durations)
def test_in_process_percentiles_are_exactly_numpys(values: list[float]) -> None:
    clock = Clock()
    recorder = MetricsRecorder(clock=clock)
    for v in values:
        recorder.record("page", "overview", v)
    summary = recorder.snapshot(300).pages
    assert summary.exact
    assert summary.count == len(values)
    for q, got in ((50, summary.p50_ms), (95, summary.p95_ms), (99, summary.p99_ms)):
        assert got == pytest.approx(float(np.percentile(values, q)) * 1000, rel=1e-9, abs=1e-9)
    assert summary.mean_ms == pytest.approx(float(np.mean(values)) * 1000, rel=1e-9)
    assert summary.max_ms == pytest.approx(max(values) * 1000)


@settings(max_examples=60, deadline=None)
@given(values=durations, q=st.sampled_from([1, 10, 50, 90, 95, 99, 100]))
def test_histogram_percentiles_are_within_the_documented_error(values: list[float], q: int) -> None:
    counts: dict[int, int] = {}
    for v in values:
        index = histogram.bucket_of(v)
        counts[index] = counts.get(index, 0) + 1
    estimate = histogram.percentile_from_counts(counts, q, max_s=max(values))
    truth = float(np.percentile(values, q, method="inverted_cdf"))
    assert abs(estimate - truth) <= truth * histogram.RELATIVE_ERROR * (1 + 1e-9)


def test_histogram_bounds_put_every_value_in_its_bucket() -> None:
    for i, bound in enumerate(histogram.BOUNDS_S):
        assert histogram.bucket_of(bound) == i + 1  # a bound opens the next bucket
        assert histogram.bucket_of(bound * (1 - 1e-12)) == i
        low, high = histogram.bucket_range(i + 1)
        assert low <= bound < high
    assert histogram.bucket_of(0.0) == 0
    assert histogram.bucket_of(1e6) == histogram.BUCKETS - 1
    assert pytest.approx(0.118, abs=1e-3) == histogram.RELATIVE_ERROR
    assert histogram.LAST_BOUND_S > 100  # statements stopped by the time limit still fit


def test_histogram_outside_the_range() -> None:
    assert math.isnan(histogram.percentile_from_counts({}, 50, max_s=0))
    tiny = histogram.percentile_from_counts({0: 3}, 50, max_s=1e-7)
    assert tiny == pytest.approx(1e-7)  # clamped to the worst seen
    huge = histogram.percentile_from_counts({histogram.BUCKETS - 1: 1}, 50, max_s=500.0)
    assert huge == 500.0


def test_windows_count_exactly_what_fell_inside_them() -> None:
    clock = Clock(1_700_000_005.0)
    recorder = MetricsRecorder(clock=clock)
    recorder.started_at = clock.now - 3600
    base = clock.now
    # one event every 30 s over the last 20 minutes
    for i in range(40):
        clock.now = base - 1200 + i * 30
        recorder.record("service", "kpis", 0.010 * (i + 1), ok=(i % 10 != 0))
    clock.now = base
    for window in (60, 300, 900):
        since = window_start(base, window)
        inside = [i for i in range(40) if base - 1200 + i * 30 >= since]
        snap = recorder.snapshot(window)
        s = snap.services
        assert s.count == len(inside), window
        assert s.errors == sum(1 for i in inside if i % 10 == 0)
        expected = [0.010 * (i + 1) * 1000 for i in inside]
        assert s.p50_ms == pytest.approx(float(np.percentile(expected, 50)))
        assert s.per_minute == pytest.approx(len(inside) / (base - since) * 60)
        assert snap.span_s == pytest.approx(base - since)
        assert base - since <= window


def test_old_buckets_are_dropped_so_memory_stays_bounded() -> None:
    clock = Clock()
    recorder = MetricsRecorder(clock=clock, raw_per_kind=100)
    for _i in range(5000):
        clock.now += 1.0
        recorder.record("page", "p", 0.01)
        recorder.record("cache", "l1.hit", 0.00001)
    recorder.fold()
    buckets = recorder.local_buckets(0)
    assert len(buckets) <= RETENTION_S // BUCKET_S + 1
    assert len(recorder._raw["page"]) == 100


def test_series_names_are_capped() -> None:
    recorder = MetricsRecorder()
    for i in range(MAX_NAMES_PER_KIND + 50):
        recorder.record("query", f"q{i}", 0.001)
    snap = recorder.snapshot(60)
    names = {name for kind, name in snap.series if kind == "query"}
    assert len(names) == MAX_NAMES_PER_KIND + 1
    assert snap.count("query", OTHER) == 50
    assert snap.queries.count == MAX_NAMES_PER_KIND + 50


def test_when_the_ring_lost_part_of_the_window_percentiles_come_from_the_histogram() -> None:
    clock = Clock()
    recorder = MetricsRecorder(clock=clock, raw_per_kind=10)
    values = [0.001 * (i + 1) for i in range(50)]
    for v in values:
        recorder.record("sql", "select", v)
    s = recorder.snapshot(60).statements
    assert s.count == 50 and not s.exact
    truth = float(np.percentile(values, 95, method="inverted_cdf")) * 1000
    assert abs(s.p95_ms - truth) <= truth * histogram.RELATIVE_ERROR
    assert s.mean_ms == pytest.approx(float(np.mean(values)) * 1000)  # means stay exact


def test_hit_rates_per_level() -> None:
    recorder = MetricsRecorder()
    for name, n in (("l1.hit", 6), ("l2.hit", 2), ("miss", 2), ("l2.error", 1)):
        for _ in range(n):
            recorder.record("cache", name, 0.0001, ok=name != "l2.error")
    snap = recorder.snapshot(60)
    assert snap.hit_rate("l1") == pytest.approx(0.6)
    assert snap.hit_rate("l2") == pytest.approx(0.2)
    assert snap.cache_misses == 2
    assert snap.cache_errors == 1
    assert MetricsRecorder().snapshot(60).hit_rate("l1") is None


def test_slow_statements_are_listed_by_shape_with_count_mean_and_worst() -> None:
    recorder = MetricsRecorder()
    recorder.note_shape("abc", "SELECT * FROM orders WHERE id = ?")
    for seconds in (0.3, 0.5, 0.4):
        recorder.record("slow", "abc", seconds)
    recorder.note_shape("def", "SELECT count(*) FROM orders")
    recorder.record("slow", "def", 2.0)
    slow = recorder.snapshot(60).slow_queries
    assert [q.shape for q in slow] == ["SELECT count(*) FROM orders", "SELECT * FROM orders WHERE id = ?"]
    assert slow[1].count == 3
    assert slow[1].mean_ms == pytest.approx(400.0)
    assert slow[1].worst_ms == pytest.approx(500.0)


def test_recording_from_many_threads_loses_nothing() -> None:
    import threading

    recorder = MetricsRecorder(fold_at=100)

    def work() -> None:
        for _ in range(5000):
            recorder.record("service", "x", 0.001)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert recorder.snapshot(60).services.count == 20_000
