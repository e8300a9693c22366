"""MetricsRecorder: timings and outcomes of page runs, service calls, SQL statements and cache use.

Recording is the hot path (every SQL statement and cache lookup passes here), so ``record`` only
appends a tuple to a queue. A *fold* (from a background thread every second, when a reader asks,
or when the queue grows past ``fold_at``) turns queued events into per-``BUCKET_S`` aggregates:
count, errors, total and worst duration, and a latency histogram (:mod:`.histogram`) per series
``(kind, name)``. Buckets older than ``RETENTION_S`` are dropped, names per kind are capped, and the
raw durations kept for exact percentiles are a bounded ring per kind, so memory stays bounded
whatever the traffic.

Readers ask for a window (1, 5 or 15 minutes). Counts, error rates, means and throughput come from
the buckets and are exact. Percentiles are exact when this process's ring still holds the whole
window (in-process mode); otherwise, and always for the cluster view, they are read from the
merged histograms, within :data:`~ebaydash.monitor.histogram.RELATIVE_ERROR`.

Simulated visitors (``ebaydash loadgen``, the performance page's "Simulate visitors") run the real
services but render nothing, so their page runs take a fraction of a real one's: mixed in, they
would hide real latency. Every event recorded while :func:`simulated_traffic` is on (in that
thread) is kept under its kind prefixed with :data:`SIMULATED` (``sim:page``, ``sim:sql``, …), in
the buckets, the rings and the shared store alike; a snapshot reads one kind of traffic
(``traffic="real"`` unless asked) and names its kinds plainly, so every percentile, rate and chart
built on it is of one traffic only.

With a :class:`~ebaydash.monitor.shared.SharedMetrics` (Redis configured) the folded buckets are
also pushed there by the background flusher, and reads merge every replica's buckets; if Redis does
not answer, the reader falls back to this process's own numbers and says so.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ebaydash.monitor import histogram
from ebaydash.monitor.buckets import (
    BUCKET_S,
    RETENTION_S,
    Aggregate,
    Buckets,
    SeriesKey,
    bucket_start,
    merge_buckets,
    window_start,
)

if TYPE_CHECKING:
    from ebaydash.monitor.shared import SharedMetrics

log = logging.getLogger(__name__)

MAX_NAMES_PER_KIND = 200
MAX_KINDS = 16
OTHER = "(other)"
# kinds whose raw durations are kept for exact in-process percentiles
EXACT_KINDS = ("page", "service", "query", "sql")

RawEvent = tuple[float, str, str, float, bool, "int | None"]  # at, kind, name, seconds, ok, rows

Traffic = Literal["real", "simulated"]
TrafficView = Literal["real", "simulated", "all"]  # "all": both merged, for load (not latency)
TRAFFIC_LABELS: dict[Traffic, str] = {"real": "Real visitors", "simulated": "Simulated visitors"}
SIMULATED = "sim:"  # kind prefix of the events simulated visitors cause
_TRAFFIC: ContextVar[Traffic] = ContextVar("ebaydash_traffic", default="real")


@contextmanager
def simulated_traffic() -> Iterator[None]:
    """Record what this thread (and code it calls) does as simulated traffic until the block ends."""
    token = _TRAFFIC.set("simulated")
    try:
        yield
    finally:
        _TRAFFIC.reset(token)


def traffic_of(kind: str) -> tuple[Traffic, str]:
    """``("simulated", "page")`` for ``"sim:page"``, ``("real", "page")`` for ``"page"``."""
    if kind.startswith(SIMULATED):
        return "simulated", kind[len(SIMULATED) :]
    return "real", kind


def select_traffic(buckets: Mapping[int, Mapping[SeriesKey, Aggregate]], traffic: TrafficView) -> Buckets:
    """The series of one kind of traffic (or of both, merged into new aggregates), under their
    plain kinds."""
    selected: Buckets = {}
    for start, series in buckets.items():
        chosen: dict[SeriesKey, Aggregate] = {}
        for (kind, name), agg in series.items():
            of, plain = traffic_of(kind)
            if traffic == "all":
                chosen.setdefault((plain, name), Aggregate()).merge(agg)
            elif of == traffic:
                chosen[(plain, name)] = agg
        if chosen:
            selected[start] = chosen
    return selected


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of already sorted values."""
    if not sorted_values:
        return math.nan
    if len(sorted_values) == 1:
        return sorted_values[0]
    position = (len(sorted_values) - 1) * q / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    weight = position - lower
    return sorted_values[lower] * (1 - weight) + sorted_values[upper] * weight


@dataclass(frozen=True)
class Summary:
    """Statistics of one kind (or one series) of event over a window. Times in milliseconds."""

    count: int = 0
    errors: int = 0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    mean_ms: float = math.nan
    max_ms: float = math.nan
    per_minute: float = 0.0
    rows: int = 0
    exact: bool = True  # False: percentiles read from the histogram (see histogram.RELATIVE_ERROR)

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0


def summarise(
    aggregates: Iterable[Aggregate], span_s: float, durations_s: list[float] | None = None
) -> Summary:
    """One :class:`Summary` from bucket aggregates. ``durations_s`` (the raw durations of the same
    events, any order) makes the percentiles exact; without it they come from the histogram."""
    total = Aggregate()
    for agg in aggregates:
        total.merge(agg)
    if total.count == 0:
        return Summary()
    if durations_s:
        ordered = sorted(durations_s)
        p50, p95, p99 = (percentile(ordered, q) * 1000 for q in (50, 95, 99))
        exact = True
    else:
        p50, p95, p99 = (
            histogram.percentile_from_counts(total.hist, q, max_s=total.max_s) * 1000 for q in (50, 95, 99)
        )
        exact = False
    return Summary(
        count=total.count,
        errors=total.errors,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        mean_ms=total.total_s / total.count * 1000,
        max_ms=total.max_s * 1000,
        per_minute=total.count / max(span_s, 1.0) * 60,
        rows=total.rows,
        exact=exact,
    )


@dataclass(frozen=True)
class SlowQuery:
    shape: str
    count: int
    mean_ms: float
    worst_ms: float


Scope = Literal["process", "cluster"]


@dataclass(frozen=True)
class Snapshot:
    """One window's statistics: what the performance and scaling pages read."""

    taken_at: float
    window_s: float
    span_s: float  # the time the window's buckets actually cover (≤ window_s)
    scope: Scope
    summaries: Mapping[str, Summary] = field(default_factory=dict)
    series: Mapping[SeriesKey, Summary] = field(default_factory=dict)
    slow_queries: tuple[SlowQuery, ...] = ()
    newest_event_at: float | None = None
    note: str | None = None  # e.g. "Redis did not answer: this process only"
    traffic: TrafficView = "real"  # the one kind of traffic every figure here is of
    buckets: Mapping[int, Mapping[SeriesKey, Aggregate]] = field(default_factory=dict, repr=False)

    def summary(self, kind: str) -> Summary:
        return self.summaries.get(kind, Summary())

    @property
    def pages(self) -> Summary:
        return self.summary("page")

    @property
    def services(self) -> Summary:
        return self.summary("service")

    @property
    def queries(self) -> Summary:
        return self.summary("query")

    @property
    def statements(self) -> Summary:
        return self.summary("sql")

    def count(self, kind: str, name: str) -> int:
        return self.series.get((kind, name), Summary()).count

    @property
    def cache_hits(self) -> dict[str, int]:
        return {
            name.removesuffix(".hit"): s.count
            for (kind, name), s in self.series.items()
            if kind == "cache" and name.endswith(".hit")
        }

    @property
    def cache_misses(self) -> int:
        return self.count("cache", "miss")

    @property
    def cache_errors(self) -> int:
        return sum(s.count for (kind, name), s in self.series.items() if kind == "cache" and "error" in name)

    @property
    def cache_lookups(self) -> int:
        return sum(self.cache_hits.values()) + self.cache_misses

    def hit_rate(self, level: str) -> float | None:
        """Share of all lookups answered by ``level`` (``l1``, ``l2``); None without lookups."""
        lookups = self.cache_lookups
        if lookups == 0:
            return None
        return self.cache_hits.get(level, 0) / lookups


class MetricsRecorder:
    """Thread-safe. ``record`` never waits on Redis; it takes a lock only for the inline fold
    when the queue is long (no I/O under that lock)."""

    def __init__(
        self,
        *,
        shared: SharedMetrics | None = None,
        slow_query_ms: float = 200.0,
        raw_per_kind: int = 20_000,
        fold_at: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shared = shared
        self.slow_query_ms = slow_query_ms
        self._clock = clock
        self._fold_at = fold_at
        self._pending: deque[RawEvent] = deque()
        self._raw: dict[str, deque[RawEvent]] = {
            prefix + k: deque(maxlen=raw_per_kind) for k in EXACT_KINDS for prefix in ("", SIMULATED)
        }
        self._buckets: Buckets = {}
        self._outbox: Buckets = {}  # folded, not yet pushed to the shared store
        self._failed: tuple[str, Buckets] | None = None  # a push that failed: (batch id, buckets)
        self._shapes: OrderedDict[str, str] = OrderedDict()  # slow statement id → normalised SQL
        self._names: dict[str, set[str]] = {}
        self._fold_lock = threading.Lock()
        self._push_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at = clock()
        self.failed_pushes = 0
        self._sinks: list[Callable[[list[RawEvent]], None]] = []  # e.g. the Prometheus bridge

    def add_sink(self, sink: Callable[[list[RawEvent]], None]) -> None:
        """Also hand every folded batch of raw events to ``sink`` (called by the folding thread,
        outside the fold lock, never from ``record``). A sink that raises is logged and kept."""
        self._sinks.append(sink)

    def remove_sink(self, sink: Callable[[list[RawEvent]], None]) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    # -- the hot path --------------------------------------------------------------------------

    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None:
        if _TRAFFIC.get() == "simulated":
            kind = SIMULATED + kind
        event = (self._clock(), kind, name, duration_s, ok, rows)
        self._pending.append(event)  # deque.append is atomic: no lock on the hot path
        raw = self._raw.get(kind)
        if raw is not None:
            raw.append(event)
        if len(self._pending) >= self._fold_at:
            self.fold()

    def last_duration(self, kind: str) -> float | None:
        """Seconds taken by the newest event of an exact kind (page, service, query, sql)."""
        raw = self._raw.get(kind)
        return raw[-1][3] if raw else None

    def note_shape(self, shape_id: str, shape: str) -> None:
        """Remember the normalised SQL text behind a slow-statement id (bounded, newest kept)."""
        with self._fold_lock:
            self._shapes[shape_id] = shape
            self._shapes.move_to_end(shape_id)
            while len(self._shapes) > 500:
                self._shapes.popitem(last=False)

    # -- folding and flushing ------------------------------------------------------------------

    def fold(self) -> None:
        """Move queued events into the time buckets (and the outbox, when shared)."""
        sinks = self._sinks
        events: list[RawEvent] | None = [] if sinks else None
        with self._fold_lock:
            pending = self._pending
            batch: Buckets = {}  # aggregate once per event, then merge per series (cheap)
            for _ in range(len(pending)):
                event = pending.popleft()
                at, kind, name, seconds, ok, rows = event
                self._add(
                    batch, int(at // BUCKET_S) * BUCKET_S, self._series_key(kind, name), seconds, ok, rows
                )
                if events is not None:
                    events.append(event)
            if self.shared is not None:
                merge_buckets(self._outbox, batch)
            merge_buckets(self._buckets, batch, adopt=True)
            horizon = bucket_start(self._clock()) - RETENTION_S
            for store in (self._buckets, self._outbox):
                for start in [s for s in store if s < horizon]:
                    del store[start]
        if events:
            for sink in list(sinks):
                try:
                    sink(events)
                except Exception:  # a broken exporter must not stop the fold
                    log.exception("a metrics sink failed")

    @staticmethod
    def _add(store: Buckets, start: int, key: SeriesKey, seconds: float, ok: bool, rows: int | None) -> None:
        series = store.get(start)
        if series is None:
            series = store[start] = {}
        agg = series.get(key)
        if agg is None:
            agg = series[key] = Aggregate()
        agg.add(seconds, ok, rows)

    def _series_key(self, kind: str, name: str) -> SeriesKey:
        names = self._names.get(kind)
        if names is None:
            if len(self._names) >= MAX_KINDS:
                return (OTHER, OTHER)
            names = self._names[kind] = set()
        if name not in names:
            if len(names) >= MAX_NAMES_PER_KIND:
                return (kind, OTHER)
            names.add(name)
        return (kind, name)

    def flush(self) -> bool:
        """Fold, then push to the shared store. False when the push failed: the batch is kept
        and retried first next time (under the same id, so it can never count twice)."""
        self.fold()
        if self.shared is None:
            return True
        with self._push_lock:
            if self._failed is not None:
                batch_id, buckets = self._failed
                horizon = bucket_start(self._clock()) - RETENTION_S
                buckets = {s: v for s, v in buckets.items() if s >= horizon}
                if buckets and not self.shared.push(buckets, self._shapes_for(buckets), batch_id=batch_id):
                    self.failed_pushes += 1
                    return False
                self._failed = None
            with self._fold_lock:
                outbox, self._outbox = self._outbox, {}
            if not outbox:
                return True
            batch_id = uuid.uuid4().hex
            if self.shared.push(outbox, self._shapes_for(outbox), batch_id=batch_id):
                return True
            self._failed = (batch_id, outbox)
            self.failed_pushes += 1
            return False

    def _shapes_for(self, buckets: Buckets) -> dict[str, str]:
        """The SQL text of every slow statement in ``buckets`` (re-sent with each push, so the text
        lives in Redis as long as its counts do)."""
        with self._fold_lock:
            return {
                name: self._shapes[name]
                for series in buckets.values()
                for kind, name in series
                if traffic_of(kind)[1] == "slow" and name in self._shapes
            }

    def start(self, interval_s: float = 1.0) -> None:
        """Fold and flush from one background thread every ``interval_s``; later calls do nothing."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval_s,), name="ebaydash-metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.flush()
            except Exception:  # the flusher must outlive any surprise
                log.exception("metrics flush failed")

    # -- reading -------------------------------------------------------------------------------

    def local_buckets(self, since: int) -> Buckets:
        """Copies of this process's buckets from ``since`` on."""
        self.fold()
        with self._fold_lock:
            return {
                start: {k: a.copy() for k, a in series.items()}
                for start, series in self._buckets.items()
                if start >= since
            }

    def snapshot(
        self,
        window_s: float = 300.0,
        *,
        scope: Scope | None = None,
        exact: bool = True,
        traffic: TrafficView = "real",
    ) -> Snapshot:
        """Statistics of one ``traffic`` (real visitors unless asked) over the last ``window_s``:
        the cluster's when shared (unless ``scope`` says ``"process"``), else this process's.
        ``exact=False`` skips the raw durations (cheaper; percentiles from the histograms).
        ``traffic="all"`` merges both: a measure of load, never of latency."""
        now = self._clock()
        since = window_start(now, window_s)
        want_cluster = self.shared is not None and scope != "process"
        note = None
        buckets: Buckets | None = None
        if want_cluster:
            buckets, note = self._cluster_buckets(since, now)
        actual: Scope = "cluster" if buckets is not None else "process"
        if buckets is None:
            buckets = self.local_buckets(since)
        span = now - since if actual == "cluster" else now - max(since, self.started_at)
        raw = self._raw_durations(since, traffic) if actual == "process" and exact else None
        snap = self._snapshot(select_traffic(buckets, traffic), now, window_s, span, actual, raw, note)
        return dataclasses.replace(snap, traffic=traffic)

    def _cluster_buckets(self, since: int, now: float) -> tuple[Buckets | None, str | None]:
        assert self.shared is not None
        self.flush()  # so this process's own latest events are in what we read
        starts = list(range(since, bucket_start(now) + 1, BUCKET_S))
        with self._push_lock:
            try:
                merged = self.shared.read(starts)
            except Exception as exc:  # SharedUnavailable or anything the client threw
                return None, f"Shared metrics unavailable ({exc}); showing this process only."
            with self._fold_lock:
                unsent = [self._outbox] + ([self._failed[1]] if self._failed else [])
                for part in unsent:
                    merge_buckets(merged, {s: v for s, v in part.items() if s >= since})
        return merged, None

    def _raw_durations(self, since: int, traffic: TrafficView) -> dict[SeriesKey, list[float]]:
        """Durations per series (under plain kinds) from the rings of one traffic, for the kinds
        whose ring covers the window."""
        out: dict[SeriesKey, list[float]] = {}
        for kind, ring in self._raw.items():
            of, plain = traffic_of(kind)
            if traffic not in ("all", of):
                continue
            events = list(ring)
            if len(events) == ring.maxlen and events and events[0][0] >= since:
                continue  # the ring lost part of the window: leave this kind to the histograms
            for at, _kind, name, seconds, _ok, _rows in events:
                if at >= since:
                    _k, series_name = self._series_key(kind, name)
                    out.setdefault((plain, series_name), []).append(seconds)
        return out

    def _snapshot(
        self,
        buckets: Buckets,
        now: float,
        window_s: float,
        span_s: float,
        scope: Scope,
        raw: dict[SeriesKey, list[float]] | None,
        note: str | None,
    ) -> Snapshot:
        per_series: dict[SeriesKey, list[Aggregate]] = {}
        newest: int | None = None
        for start, series in buckets.items():
            for key, agg in series.items():
                per_series.setdefault(key, []).append(agg)
                if agg.count and (newest is None or start > newest):
                    newest = start
        series_summaries = {
            key: summarise(aggs, span_s, raw.get(key) if raw is not None else None)
            for key, aggs in per_series.items()
        }
        kinds: dict[str, list[Aggregate]] = {}
        for (kind, _name), aggs in per_series.items():
            kinds.setdefault(kind, []).extend(aggs)
        kind_summaries = {}
        for kind, aggs in kinds.items():
            durations = None
            if raw is not None:
                durations = [d for (k, _n), values in raw.items() if k == kind for d in values]
            kind_summaries[kind] = summarise(aggs, span_s, durations)
        slow = tuple(
            sorted(
                (
                    SlowQuery(
                        shape=self._shape_text(name),
                        count=s.count,
                        mean_ms=s.mean_ms,
                        worst_ms=s.max_ms,
                    )
                    for (kind, name), s in series_summaries.items()
                    if kind == "slow"
                ),
                key=lambda q: (-q.worst_ms, q.shape),
            )
        )
        return Snapshot(
            taken_at=now,
            window_s=window_s,
            span_s=span_s,
            scope=scope,
            summaries=kind_summaries,
            series=series_summaries,
            slow_queries=slow,
            newest_event_at=None if newest is None else min(float(newest + BUCKET_S), now),
            note=note,
            buckets=buckets,
        )

    def _shape_text(self, shape_id: str) -> str:
        text = self._shapes.get(shape_id)
        if text is None and self.shared is not None:
            text = self.shared.shape(shape_id)
            if text is not None:
                with self._fold_lock:
                    self._shapes[shape_id] = text
        return text or f"(statement {shape_id})"

    def clear(self) -> None:
        """Forget everything this process recorded (tests, and the page's reset button)."""
        self.fold()
        with self._fold_lock:
            self._buckets.clear()
            self._outbox.clear()
            self._failed = None
            for ring in self._raw.values():
                ring.clear()
            self.started_at = self._clock()
