"""Time buckets of monitor events: what a recorder folds events into and what replicas share.

An :class:`Aggregate` holds the counts of one series ``(kind, name)`` in one ``BUCKET_S`` bucket:
count, errors, total and worst duration, rows and a latency histogram (:mod:`.histogram`).
Aggregates add up, so buckets merge across threads, processes and replicas the same way; the
recorder (:mod:`.metrics`) and the shared store (:mod:`.shared`) both speak in these types.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping

from ebaydash.monitor import histogram

BUCKET_S = 10
WINDOWS_S: tuple[int, ...] = (60, 300, 900)
RETENTION_S = max(WINDOWS_S) + 2 * BUCKET_S

SeriesKey = tuple[str, str]  # (kind, name)
_BOUNDS = histogram.BOUNDS_S


class Aggregate:
    """Counts of one series in one time bucket. Aggregates add up across processes."""

    __slots__ = ("count", "errors", "hist", "max_s", "rows", "total_s")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.total_s = 0.0
        self.max_s = 0.0
        self.rows = 0
        self.hist: dict[int, int] = {}

    def add(self, seconds: float, ok: bool, rows: int | None) -> None:
        self.count += 1
        if not ok:
            self.errors += 1
        self.total_s += seconds
        if seconds > self.max_s:
            self.max_s = seconds
        if rows:
            self.rows += rows
        index = bisect_right(_BOUNDS, seconds)  # histogram.bucket_of, inlined: this runs per event
        self.hist[index] = self.hist.get(index, 0) + 1

    def merge(self, other: Aggregate) -> None:
        self.count += other.count
        self.errors += other.errors
        self.total_s += other.total_s
        self.max_s = max(self.max_s, other.max_s)
        self.rows += other.rows
        for index, n in other.hist.items():
            self.hist[index] = self.hist.get(index, 0) + n

    def copy(self) -> Aggregate:
        clone = Aggregate()
        clone.merge(self)
        return clone

    def __repr__(self) -> str:
        return f"Aggregate(count={self.count}, errors={self.errors}, total_s={self.total_s:.6f})"


Buckets = dict[int, dict[SeriesKey, Aggregate]]  # bucket start (epoch seconds) → series → counts


def merge_buckets(
    into: Buckets, other: Mapping[int, Mapping[SeriesKey, Aggregate]], *, adopt: bool = False
) -> Buckets:
    """Add ``other``'s counts to ``into``. ``adopt=True`` takes ``other``'s aggregates over instead
    of copying them: for a batch nobody else holds any more (the fold's)."""
    for start, series in other.items():
        target = into.get(start)
        if target is None:
            target = into[start] = {}
        for key, agg in series.items():
            existing = target.get(key)
            if existing is None:
                target[key] = agg if adopt else agg.copy()
            else:
                existing.merge(agg)
    return into


def bucket_start(at: float) -> int:
    return int(at // BUCKET_S) * BUCKET_S


def window_start(now: float, window_s: float) -> int:
    """The first bucket a window of ``window_s`` ending ``now`` includes (bucket-aligned)."""
    return math.ceil((now - window_s) / BUCKET_S) * BUCKET_S
