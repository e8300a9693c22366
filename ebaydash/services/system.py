"""Manager-facing services: metrics, resources, health and the scaling recommendation.

Everything here shapes what the monitor recorded into dataclasses and DataFrames ready to draw,
so the performance, resources and scaling pages only pick widgets and render.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ebaydash.context import Context
from ebaydash.db.engine import Health
from ebaydash.errors import DatabaseError, InvalidInput
from ebaydash.monitor import histogram, scaling
from ebaydash.monitor.alerts import Alert, AlertEvent
from ebaydash.monitor.buckets import BUCKET_S, WINDOWS_S, Aggregate, window_start
from ebaydash.monitor.metrics import Snapshot
from ebaydash.monitor.resources import ResourceSample
from ebaydash.monitor.state import ActionRecord, ScalingStateStore, decide, replica_id

Key = tuple[str, str]
WINDOW_LABELS: dict[int, str] = {60: "1 min", 300: "5 min", 900: "15 min"}
SCALING_WINDOW_S = 300.0
KIND_LABELS: dict[str, str] = {
    "page": "Page runs",
    "service": "Service calls",
    "query": "Named queries",
    "sql": "SQL statements",
}


def _check_window(window_s: float) -> float:
    if window_s not in WINDOWS_S:
        raise InvalidInput(f"Choose a window of {', '.join(WINDOW_LABELS.values())}.")
    return window_s


def _ms(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


# -- performance --------------------------------------------------------------------------------


def performance(ctx: Context, window_s: float = 300.0) -> Snapshot:
    """The raw statistics of the last ``window_s`` (cluster-wide when Redis is shared)."""
    return ctx.recorder.snapshot(_check_window(window_s))


@dataclass(frozen=True)
class PerformanceReport:
    snapshot: Snapshot
    scope_label: str  # "all replicas" / "this process"
    l1_hit_rate: float | None
    l2_hit_rate: float | None  # None too when there is no shared cache (see ``shared_cache``)
    cache_lookups: int
    cache_errors: int
    requests_per_minute: float
    error_rate: float
    latency: pd.DataFrame  # one row per kind: count, p50/p95/p99, mean, max, errors
    queries: pd.DataFrame  # one row per named query
    slow_queries: pd.DataFrame  # shape, count, mean, worst
    timeline: pd.DataFrame  # per bucket: hit rates, throughput, errors, p95
    slow_query_ms: float
    shared_cache: bool = False  # an L2 (Redis) is configured

    @property
    def percentiles_exact(self) -> bool:
        return all(self.snapshot.summary(kind).exact for kind in KIND_LABELS)


def _latency_table(snap: Snapshot) -> pd.DataFrame:
    rows = []
    for kind, label in KIND_LABELS.items():
        s = snap.summary(kind)
        rows.append(
            {
                "What": label,
                "Count": s.count,
                "Per minute": round(s.per_minute, 1),
                "p50 ms": _ms(s.p50_ms),
                "p95 ms": _ms(s.p95_ms),
                "p99 ms": _ms(s.p99_ms),
                "Mean ms": _ms(s.mean_ms),
                "Worst ms": _ms(s.max_ms),
                "Errors": s.errors,
            }
        )
    return pd.DataFrame(rows)


def _named_table(snap: Snapshot, kind: str) -> pd.DataFrame:
    rows = [
        {
            "Name": name,
            "Count": s.count,
            "p50 ms": _ms(s.p50_ms),
            "p95 ms": _ms(s.p95_ms),
            "Mean ms": _ms(s.mean_ms),
            "Worst ms": _ms(s.max_ms),
            "Rows per call": round(s.rows / s.count, 1) if s.count else 0.0,
            "Errors": s.errors,
        }
        for (k, name), s in snap.series.items()
        if k == kind
    ]
    columns = ["Name", "Count", "p50 ms", "p95 ms", "Mean ms", "Worst ms", "Rows per call", "Errors"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["Count", "Name"], ascending=[False, True], ignore_index=True)


def _slow_table(snap: Snapshot) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"Statement": q.shape, "Count": q.count, "Mean ms": _ms(q.mean_ms), "Worst ms": _ms(q.worst_ms)}
            for q in snap.slow_queries
        ],
        columns=["Statement", "Count", "Mean ms", "Worst ms"],
    )


def _timeline(snap: Snapshot) -> pd.DataFrame:
    """One row per time bucket of the window, empty buckets included (so gaps show as zero)."""
    first = window_start(snap.taken_at, snap.window_s)
    last = int(snap.taken_at // BUCKET_S) * BUCKET_S
    rows = []
    for start in range(first, last + 1, BUCKET_S):
        series: Mapping[Key, Aggregate] = snap.buckets.get(start, {})
        seconds = min(BUCKET_S, max(snap.taken_at - start, 1.0))

        def count(kind: str, name: str | None = None, series: Mapping[Key, Aggregate] = series) -> int:
            return sum(a.count for (k, n), a in series.items() if k == kind and (name is None or n == name))

        hits = {lvl: count("cache", f"{lvl}.hit") for lvl in ("l1", "l2")}
        lookups = hits["l1"] + hits["l2"] + count("cache", "miss")
        pages = Aggregate()
        for (k, _n), a in series.items():
            if k == "page":
                pages.merge(a)
        p95 = histogram.percentile_from_counts(pages.hist, 95, max_s=pages.max_s) * 1000
        errors = sum(a.errors for (k, _n), a in series.items() if k in ("page", "service", "sql"))
        rows.append(
            {
                "time": pd.Timestamp(start, unit="s", tz="UTC"),
                "L1 hit rate": hits["l1"] / lookups if lookups else None,
                "L2 hit rate": hits["l2"] / lookups if lookups else None,
                "Page runs/min": count("page") / seconds * 60,
                "Service calls/min": count("service") / seconds * 60,
                "SQL statements/min": count("sql") / seconds * 60,
                "Errors/min": errors / seconds * 60,
                "Page p95 ms": None if math.isnan(p95) else p95,
            }
        )
    return pd.DataFrame(rows)


def performance_report(ctx: Context, window_s: float = 300.0) -> PerformanceReport:
    snap = performance(ctx, window_s)
    return PerformanceReport(
        snapshot=snap,
        scope_label="all replicas" if snap.scope == "cluster" else "this process",
        l1_hit_rate=snap.hit_rate("l1"),
        # no shared cache configured: a 0 % would read as a cache that never hits
        l2_hit_rate=None if ctx.cache.l2 is None else snap.hit_rate("l2"),
        cache_lookups=snap.cache_lookups,
        cache_errors=snap.cache_errors,
        requests_per_minute=snap.pages.per_minute,
        error_rate=snap.services.error_rate,
        latency=_latency_table(snap),
        queries=_named_table(snap, "query"),
        slow_queries=_slow_table(snap),
        timeline=_timeline(snap),
        slow_query_ms=ctx.recorder.slow_query_ms,
        shared_cache=ctx.cache.l2 is not None,
    )


# -- health -------------------------------------------------------------------------------------

Status = Literal["ok", "degraded", "down", "off"]


@dataclass(frozen=True)
class HealthCheck:
    name: str
    status: Status
    detail: str


def database_health(ctx: Context) -> Health:
    return ctx.db.health()


def health_checks(ctx: Context) -> list[HealthCheck]:
    """Database round trip and pool, Redis, and the cache's circuit breaker, each with a status."""
    checks = []
    db = ctx.db.health()
    pool = db.pool
    pool_text = ""
    status: Status = "ok" if db.ok else "down"
    if pool is not None:
        limit = pool.size + pool.max_overflow
        pool_text = (
            f"; pool: {pool.checked_out} in use of {pool.size} (+{pool.overflow} of "
            f"{pool.max_overflow} overflow)"
        )
        if db.ok and pool.checked_out >= limit:
            status = "degraded"
            pool_text += " — every connection is busy"
    rt = f", round trip {db.round_trip_ms:,.1f} ms" if db.round_trip_ms is not None else ""
    checks.append(HealthCheck(f"Database ({db.backend})", status, f"{db.message}{rt}{pool_text}"))

    shared = ctx.recorder.shared
    if shared is None:
        checks.append(HealthCheck("Redis", "off", "not configured: cache and metrics are per process"))
    else:
        ping = shared.ping()
        detail = f"{ping.message}, round trip {ping.round_trip_ms:,.1f} ms" if ping.ok else ping.message
        checks.append(HealthCheck("Redis", "ok" if ping.ok else "down", detail))

    checks.append(_cache_check(ctx))
    return checks


def _cache_check(ctx: Context) -> HealthCheck:
    status = ctx.cache.status()
    l1 = (
        f"in-process cache {status.l1_entries:,}/{status.l1_max_entries:,} entries, "
        f"{status.l1_bytes / 2**20:,.1f}/{status.l1_max_bytes / 2**20:,.0f} MiB"
    )
    if status.l2 is None:
        return HealthCheck("Cache", "off", f"no shared (L2) cache; {l1}")
    l2 = status.l2
    opened = f", opened {l2.times_opened}× since start" if l2.times_opened else ""
    if status.degraded:
        error = f" Last error: {l2.last_error}." if l2.last_error else ""
        return HealthCheck(
            "Cache", "degraded", f"breaker {l2.state}: figures come from the database{opened}.{error} {l1}"
        )
    return HealthCheck("Cache", "ok", f"breaker {l2.state}: the shared cache answers{opened}; {l1}")


# -- resources ----------------------------------------------------------------------------------


def resource_history(ctx: Context) -> list[ResourceSample]:
    if not ctx.sampler.history():
        ctx.sampler.sample()
    return ctx.sampler.history()


@dataclass(frozen=True)
class ResourceReport:
    latest: ResourceSample
    history: pd.DataFrame  # time, CPU and memory of this process and the machine
    alerts: list[Alert]
    alert_log: list[AlertEvent]
    replicas: pd.DataFrame  # the latest sample of every replica (shared mode), else this one
    interval_s: float


def resource_report(ctx: Context) -> ResourceReport:
    samples = resource_history(ctx)
    latest = samples[-1]
    history = pd.DataFrame(
        {
            "time": [pd.Timestamp(s.at, unit="s", tz="UTC") for s in samples],
            "Process CPU %": [s.process_cpu_percent for s in samples],
            "System CPU %": [s.system_cpu_percent for s in samples],
            "Process memory MiB": [s.process_rss_bytes / 2**20 for s in samples],
            "System memory %": [s.system_memory_percent for s in samples],
            "Threads": [s.process_threads for s in samples],
            "Load (1 min)": [s.load_1m for s in samples],
        }
    )
    alerts = ctx.alerts.active() if ctx.alerts else []
    log = ctx.alerts.events() if ctx.alerts else []
    return ResourceReport(
        latest=latest,
        history=history,
        alerts=alerts,
        alert_log=list(reversed(log)),
        replicas=_replicas_table(ctx, latest),
        interval_s=ctx.sampler.interval_s,
    )


def _replica_samples(ctx: Context) -> dict[str, dict[str, Any]] | None:
    shared = ctx.recorder.shared
    if shared is None:
        return None
    try:
        return shared.replica_samples(max_age_s=max(3 * ctx.sampler.interval_s, 30.0))
    except Exception:
        return None


def _replicas_table(ctx: Context, latest: ResourceSample) -> pd.DataFrame:
    samples = _replica_samples(ctx) or {replica_id(): dataclasses.asdict(latest)}
    rows = [
        {
            "Replica": name,
            "Memory MiB": round(s["process_rss_bytes"] / 2**20, 1),
            "CPU %": round(s["process_cpu_percent"], 1),
            "Threads": s["process_threads"],
            "System memory %": round(s["system_memory_percent"], 1),
            "Seen": pd.Timestamp(s["at"], unit="s", tz="UTC"),
        }
        for name, s in sorted(samples.items())
    ]
    return pd.DataFrame(rows)


# -- scaling ------------------------------------------------------------------------------------


def policy(ctx: Context) -> scaling.Policy:
    return scaling.Policy.from_settings(ctx.settings)


def observe(ctx: Context, *, now: float | None = None) -> scaling.Observed:
    """What the engine judges: the last 5 minutes' page response time and requests per replica,
    and memory use — cluster-wide when metrics are shared.

    Shared numbers are as fresh as the newest replica report (each replica reports every few
    seconds); with no replica reporting, as fresh as the newest recorded event. Metrics are missing
    while Redis does not answer, and during this process's first minute when not shared.
    """
    now = time.time() if now is None else now
    replicas = ctx.settings.replicas
    snap = ctx.recorder.snapshot(SCALING_WINDOW_S)
    reports = _replica_samples(ctx)
    warming_up = snap.scope == "process" and now - ctx.recorder.started_at < min(60.0, SCALING_WINDOW_S)
    if snap.note is not None:
        response = throughput = scaling.Reading(None, None, "shared metrics unavailable")
    elif warming_up:
        age = now - ctx.recorder.started_at
        response = throughput = scaling.Reading(None, None, f"collecting: metrics started {age:,.0f} s ago")
    else:
        at: float | None = now
        if snap.scope == "cluster":
            at = max(float(s["at"]) for s in reports.values()) if reports else snap.newest_event_at
        pages = snap.pages
        per_replica = pages.per_minute / replicas if snap.scope == "cluster" else pages.per_minute
        throughput = scaling.Reading(per_replica, at)
        response = scaling.Reading(pages.mean_ms if pages.count else None, at)
    if reports:
        fractions = [float(s["system_memory_percent"]) / 100 for s in reports.values()]
        oldest = min(float(s["at"]) for s in reports.values())
        memory = scaling.Reading(sum(fractions) / len(fractions), oldest)
    else:
        sample = ctx.sampler.latest() or ctx.sampler.sample()
        memory = scaling.Reading(sample.system_memory_percent / 100, sample.at)
    return scaling.Observed(
        replicas=replicas, avg_response_ms=response, throughput_per_min=throughput, memory_fraction=memory
    )


@dataclass(frozen=True)
class ScalingReport:
    decision: scaling.Decision
    policy: scaling.Policy
    observed: scaling.Observed
    rules: pd.DataFrame
    recent: pd.DataFrame  # time, recommended replicas (the stabilisation window's memory)
    actions: list[ActionRecord]
    state_note: str | None  # set when the shared state could not be used


def _rules_table(decision: scaling.Decision) -> pd.DataFrame:
    verdicts = {
        "up": "⬆ scale up",
        "down": "⬇ low",
        "idle": "⬇ idle",
        "within": "✓ within limits",
        "tolerance": "≈ within tolerance",
        "missing": "? missing",
        "stale": "⌛ stale",
    }
    return pd.DataFrame(
        [
            {
                "Metric": r.label,
                "Observed": "—" if r.observed is None else scaling.fmt(r.observed, r.unit),
                "Scale up above": scaling.fmt(r.up_threshold, r.unit),
                "Scale down below": scaling.fmt(r.down_threshold, r.unit),
                "Verdict": verdicts[r.verdict],
                "Asks for": "—" if r.desired is None else str(r.desired),
                "Why": r.note,
            }
            for r in decision.rules
        ]
    )


def recommendation(
    ctx: Context, *, act: bool = False, policy_override: scaling.Policy | None = None
) -> scaling.Decision:
    """The scaling decision for the current metrics against the shared state.

    ``act=True`` claims a change for this caller (``ebaydash recommend``); the pages only preview.
    """
    return _decide(ctx, act=act, policy_used=policy_override or policy(ctx))[0]


def _decide(
    ctx: Context, *, act: bool, policy_used: scaling.Policy
) -> tuple[scaling.Decision, scaling.State, scaling.Observed, str | None]:
    observed = observe(ctx)
    store = ScalingStateStore(ctx.db)
    try:
        decision, state = decide(store, lambda: observed, policy_used, act=act)
        return decision, state, observed, None
    except DatabaseError as exc:
        state = scaling.State()
        decision = scaling.evaluate(observed, policy_used, state, time.time())
        note = f"The shared scaling state could not be read ({exc}); cooldown and history are unknown."
        if act and decision.action != "hold":
            decision = dataclasses.replace(
                decision,
                action="hold",
                desired_replicas=decision.current_replicas,
                rule="state_unavailable",
                reason=f"{decision.reason} But the decision could not be recorded for the other "
                "replicas, so none is taken now.",
            )
        return decision, state, observed, note


def scaling_report(ctx: Context) -> ScalingReport:
    used = policy(ctx)
    decision, state, observed, note = _decide(ctx, act=False, policy_used=used)
    actions: list[ActionRecord] = []
    if note is None:
        try:
            actions = ScalingStateStore(ctx.db).actions()
        except DatabaseError:
            actions = []
    recent = pd.DataFrame(
        {
            "time": [pd.Timestamp(r.at, unit="s", tz="UTC") for r in state.recent],
            "Recommended replicas": [r.desired for r in state.recent],
        }
    )
    return ScalingReport(
        decision=decision,
        policy=used,
        observed=observed,
        rules=_rules_table(decision),
        recent=recent,
        actions=actions,
        state_note=note,
    )


def rules_table(decision: scaling.Decision) -> pd.DataFrame:
    return _rules_table(decision)


def what_if(
    ctx: Context,
    changes: Mapping[str, float],
    *,
    replicas: int | None = None,
    observed: scaling.Observed | None = None,
) -> scaling.Decision:
    """The decision the engine would make now (or for ``observed``) with some policy values and
    the replica count changed — without touching the shared state. Unknown or inconsistent values
    raise InvalidInput."""
    observed = observe(ctx) if observed is None else observed
    base = policy(ctx)
    known = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InvalidInput(f"Unknown policy values: {', '.join(unknown)}.")
    values: dict[str, Any] = dict(changes)
    for name in ("min_replicas", "max_replicas"):
        if name in values:
            values[name] = int(values[name])
    changed = dataclasses.replace(base, **values)
    if replicas is not None:
        if replicas < 1:
            raise InvalidInput("Replicas must be at least 1.")
        observed = dataclasses.replace(observed, replicas=replicas)
    try:
        state = ScalingStateStore(ctx.db).load()
    except DatabaseError:
        state = scaling.State()
    return scaling.evaluate(observed, changed, state, time.time())
