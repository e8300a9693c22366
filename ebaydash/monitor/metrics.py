"""MetricsRecorder: timings and outcomes of page runs, service calls, SQL and cache operations.

In-process and bounded: the newest ``max_events`` events are kept in a ring buffer, and every
statistic (percentiles, throughput, error rate, hit rates) is computed over a sliding window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple


class Event(NamedTuple):
    at: float  # wall clock, seconds
    kind: str  # page | service | query | cache
    name: str
    duration_s: float
    ok: bool
    rows: int | None


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
    """Statistics of one kind of event over a window."""

    count: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    per_minute: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0


def summarise(events: Iterable[Event], window_s: float) -> Summary:
    events = list(events)
    durations = sorted(e.duration_s * 1000 for e in events)
    errors = sum(1 for e in events if not e.ok)
    count = len(durations)
    return Summary(
        count=count,
        errors=errors,
        p50_ms=percentile(durations, 50),
        p95_ms=percentile(durations, 95),
        p99_ms=percentile(durations, 99),
        mean_ms=(sum(durations) / count) if count else math.nan,
        per_minute=count / (window_s / 60),
    )


@dataclass(frozen=True)
class Snapshot:
    """What the performance and scaling pages read: one window's worth of statistics."""

    taken_at: float
    window_s: float
    pages: Summary
    services: Summary
    queries: Summary
    cache_hits: dict[str, int] = field(default_factory=dict)
    cache_misses: int = 0
    cache_errors: int = 0

    def hit_rate(self, level: str) -> float | None:
        lookups = sum(self.cache_hits.values()) + self.cache_misses
        if lookups == 0:
            return None
        return self.cache_hits.get(level, 0) / lookups


class MetricsRecorder:
    def __init__(self, *, max_events: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        self._events: deque[Event] = deque(maxlen=max_events)
        self._clock = clock
        self._lock = threading.Lock()

    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None:
        # deque.append is atomic under the GIL, so recording takes no lock
        self._events.append(Event(self._clock(), kind, name, duration_s, ok, rows))

    def events(self, window_s: float, kind: str | None = None) -> list[Event]:
        since = self._clock() - window_s
        with self._lock:
            snapshot = list(self._events)
        return [e for e in snapshot if e.at >= since and (kind is None or e.kind == kind)]

    def snapshot(self, window_s: float = 300.0) -> Snapshot:
        events = self.events(window_s)
        by_kind: dict[str, list[Event]] = {"page": [], "service": [], "query": [], "cache": []}
        for e in events:
            by_kind.setdefault(e.kind, []).append(e)
        hits: dict[str, int] = {}
        misses = errors = 0
        for e in by_kind["cache"]:
            if e.name.endswith(".hit"):
                level = e.name.removesuffix(".hit")
                hits[level] = hits.get(level, 0) + 1
            elif e.name == "miss":
                misses += 1
            elif e.name.endswith(".error"):
                errors += 1
        return Snapshot(
            taken_at=self._clock(),
            window_s=window_s,
            pages=summarise(by_kind["page"], window_s),
            services=summarise(by_kind["service"], window_s),
            queries=summarise(by_kind["query"], window_s),
            cache_hits=hits,
            cache_misses=misses,
            cache_errors=errors,
        )

    def clear(self) -> None:
        self._events.clear()
