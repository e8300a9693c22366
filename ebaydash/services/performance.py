"""The performance page's figures: cache hit rates, latency, throughput, errors, slow statements."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ebaydash.context import Context
from ebaydash.db.replica import ReadReplicaStatus
from ebaydash.errors import InvalidInput
from ebaydash.monitor import histogram
from ebaydash.monitor.buckets import BUCKET_S, WINDOWS_S, Aggregate, SeriesKey, bucket_start, window_start
from ebaydash.monitor.metrics import EXACT_KINDS, TRAFFIC_LABELS, Snapshot, Traffic
from ebaydash.services._access import for_managers
from ebaydash.viewer import Viewer

__all__ = [
    "TRAFFIC_LABELS",
    "WINDOWS_S",
    "PerformanceReport",
    "ReadReplicaStatus",
    "performance",
    "performance_report",
    "replica_status",
]


# The error rate, in the tile and in the chart alike: the share of service calls that failed. A
# page run that ends in st.rerun() is no failure (ebaydash.ui.run_page); a failed statement or
# query surfaces as a failed service call, so counting them too would count one failure twice.
ERROR_KIND = "service"


@for_managers
def performance(ctx: Context, viewer: Viewer, window_s: float = 300.0, traffic: Traffic = "real") -> Snapshot:
    """The raw statistics of the last ``window_s`` seconds (one of :data:`WINDOWS_S`) of real or
    simulated visitors (never both mixed), cluster-wide when Redis is shared;
    :class:`~ebaydash.errors.InvalidInput` for another window or traffic."""
    if window_s not in WINDOWS_S:
        choices = ", ".join(f"{w // 60} min" for w in WINDOWS_S)
        raise InvalidInput(f"Choose a window of {choices}.")
    if traffic not in TRAFFIC_LABELS:
        raise InvalidInput("Choose real or simulated visitors.")
    return ctx.recorder.snapshot(window_s, traffic=traffic)


@dataclass(frozen=True)
class PerformanceReport:
    snapshot: Snapshot  # per kind and per series: counts, p50/p95/p99, mean, worst, errors (ms)
    scope_label: str  # "all replicas" / "this process"
    l1_hit_rate: float | None
    l2_hit_rate: float | None  # None too when there is no shared cache (see ``shared_cache``)
    cache_lookups: int
    cache_errors: int
    requests_per_minute: float
    error_rate: float
    timeline: pd.DataFrame  # per bucket: hit rates, throughput, error rate (0–1, None: no calls), p95
    slow_query_ms: float
    shared_cache: bool = False  # an L2 (Redis) is configured
    replica: ReadReplicaStatus | None = None  # the read replica's routing; None when there is none

    @property
    def percentiles_exact(self) -> bool:
        return all(self.snapshot.summary(kind).exact for kind in EXACT_KINDS)


def _timeline(snap: Snapshot, *, shared_cache: bool = True) -> pd.DataFrame:
    """One row per time bucket of the window, empty buckets included (so gaps show as zero).
    A rate with nothing to rate is ``None`` (a gap in the chart, not 0 %): a bucket without
    lookups, and the L2 rate throughout when there is no shared cache (``shared_cache``)."""
    first = window_start(snap.taken_at, snap.window_s)
    last = bucket_start(snap.taken_at)
    rows = []
    for start in range(first, last + 1, BUCKET_S):
        series: Mapping[SeriesKey, Aggregate] = snap.buckets.get(start, {})
        seconds = min(BUCKET_S, max(snap.taken_at - start, 1.0))

        def count(kind: str, name: str | None = None, series: Mapping[SeriesKey, Aggregate] = series) -> int:
            return sum(a.count for (k, n), a in series.items() if k == kind and (name is None or n == name))

        hits = {lvl: count("cache", f"{lvl}.hit") for lvl in ("l1", "l2")}
        lookups = hits["l1"] + hits["l2"] + count("cache", "miss")
        pages = Aggregate()
        for (k, _n), a in series.items():
            if k == "page":
                pages.merge(a)
        p95 = histogram.percentile_from_counts(pages.hist, 95, max_s=pages.max_s) * 1000
        calls = Aggregate()
        for (k, _n), a in series.items():
            if k == ERROR_KIND:
                calls.merge(a)
        rows.append(
            {
                "time": pd.Timestamp(start, unit="s", tz="UTC"),
                "L1 hit rate": hits["l1"] / lookups if lookups else None,
                "L2 hit rate": hits["l2"] / lookups if lookups and shared_cache else None,
                "Page runs/min": count("page") / seconds * 60,
                "Service calls/min": count("service") / seconds * 60,
                "SQL statements/min": count("sql") / seconds * 60,
                "Error rate": calls.errors / calls.count if calls.count else None,
                "Page p95 ms": None if math.isnan(p95) else p95,
            }
        )
    return pd.DataFrame(rows)


@for_managers
def replica_status(ctx: Context, viewer: Viewer) -> ReadReplicaStatus | None:
    """Where the dashboard's reads go now (EBAYDASH_DATABASE_READ_URL): the standby, or the primary
    while the standby lags or fails, and why. None without a read replica. Reads nothing."""
    return ctx.db.replica.status() if ctx.db.replica is not None else None


@for_managers
def performance_report(
    ctx: Context, viewer: Viewer, window_s: float = 300.0, traffic: Traffic = "real"
) -> PerformanceReport:
    """The performance page's figures for one window and one traffic (see :func:`performance`)."""
    snap = performance(ctx, viewer, window_s, traffic)
    return PerformanceReport(
        snapshot=snap,
        scope_label="all replicas" if snap.scope == "cluster" else "this process",
        l1_hit_rate=snap.hit_rate("l1"),
        # no shared cache configured: a 0 % would read as a cache that never hits
        l2_hit_rate=None if ctx.cache.l2 is None else snap.hit_rate("l2"),
        cache_lookups=snap.cache_lookups,
        cache_errors=snap.cache_errors,
        requests_per_minute=snap.pages.per_minute,
        error_rate=snap.summary(ERROR_KIND).error_rate,
        timeline=_timeline(snap, shared_cache=ctx.cache.l2 is not None),
        slow_query_ms=ctx.recorder.slow_query_ms,
        shared_cache=ctx.cache.l2 is not None,
        replica=replica_status(ctx, viewer),
    )
