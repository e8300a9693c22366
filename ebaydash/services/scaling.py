"""The scaling page and ``ebaydash recommend``: what the engine observes, its decision against the
shared state, and what-if decisions under other policy values."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ebaydash.context import Context
from ebaydash.errors import DatabaseError, InvalidInput
from ebaydash.monitor import scaling
from ebaydash.monitor.shared import distinct_replicas
from ebaydash.monitor.state import ActionRecord, ScalingStateStore, decide
from ebaydash.services._access import for_managers
from ebaydash.services.resources import replica_samples
from ebaydash.settings import Settings
from ebaydash.viewer import Viewer

SCALING_WINDOW_S = 300.0


@for_managers
def policy(ctx: Context, viewer: Viewer) -> scaling.Policy:
    return scaling.Policy.from_settings(ctx.settings)


@dataclass(frozen=True)
class ReplicaCount:
    """The replicas the engine takes as running now (``count``, at least 1) and where that number
    came from: ``"given"`` by the caller, the ``"setting"`` EBAYDASH_REPLICAS, or the app replicas
    ``"reporting"`` fresh samples in the shared metrics. ``label`` says it in a few words for the
    scaling page ("3 replicas reporting", "EBAYDASH_REPLICAS=2")."""

    count: int
    source: Literal["given", "setting", "reporting"]
    label: str


def replica_count(
    settings: Settings, reporting: Mapping[str, Any] | None, *, given: int | None = None
) -> ReplicaCount:
    """How many replicas run now, by precedence: ``given`` (``recommend --replicas``, the what-if
    panel); then EBAYDASH_REPLICAS when it is not its default; then the number of ``reporting``
    replicas (one entry per app replica with a fresh sample, as :func:`distinct_replicas` gives
    them; ``None`` when metrics are not shared or Redis does not answer), when there are any; else
    EBAYDASH_REPLICAS (its default, 1).

    EBAYDASH_REPLICAS counts as set when it is in the environment (``Settings.given``), even at
    its default. Raises InvalidInput when ``given`` is below 1."""
    if given is not None:
        if given < 1:
            raise InvalidInput("Replicas must be at least 1.")
        return ReplicaCount(given, "given", f"{given} given")
    setting = settings.replicas
    # set in the environment (even to 1), or given to Settings directly (a value not the default)
    if "replicas" in settings.given or setting != Settings.replicas:
        return ReplicaCount(setting, "setting", f"EBAYDASH_REPLICAS={setting}")
    if reporting:
        n = len(reporting)
        return ReplicaCount(n, "reporting", f"{n} replica{'s' if n != 1 else ''} reporting")
    return ReplicaCount(setting, "setting", f"EBAYDASH_REPLICAS={setting}, no replica reporting")


def observe(ctx: Context, *, now: float | None = None, replicas: int | None = None) -> scaling.Observed:
    """What the engine judges: the last 5 minutes' page response time and requests per replica,
    and memory use — cluster-wide when metrics are shared. Real visitors only: simulated ones
    render nothing, so their fast page runs would pull the response time down. The requests per
    replica count both: a simulated visit (``ebaydash loadgen``, a load test) runs the same services
    and statements, so it is load all the same. With no real page run in the window the response
    time is the simulated visitors' (there is no real latency to hide).

    The replicas running now are ``replicas`` when given, else as :func:`replica_count` finds
    them: the app replicas reporting in the shared metrics unless EBAYDASH_REPLICAS is set. Shared
    numbers are as fresh as the newest replica report (each replica reports every few seconds);
    with no replica reporting, as fresh as the newest recorded event. Metrics are missing while
    Redis does not answer, and during this process's first minute when not shared. Raises
    InvalidInput when ``replicas`` is below 1.
    """
    return _observe(ctx, now=now, replicas=replicas)[0]


def _observe(
    ctx: Context, *, now: float | None = None, replicas: int | None = None
) -> tuple[scaling.Observed, ReplicaCount]:
    now = time.time() if now is None else now
    window_s = ctx.settings.scale_window_s  # SCALING_WINDOW_S unless configured
    snap = ctx.recorder.snapshot(window_s, traffic="all")
    samples = replica_samples(ctx)  # the resources page's freshness rule: one cluster-wide view
    reports = None if samples is None else distinct_replicas(samples)
    # a replica killed outright stops reporting: it counts while its samples come on time (three
    # sampling intervals and 2 s), not for the 30 s the resources page keeps showing it
    live_after = now - (3 * ctx.sampler.interval_s + 2.0)
    live = None if reports is None else {k: s for k, s in reports.items() if float(s["at"]) >= live_after}
    counted = replica_count(ctx.settings, live, given=replicas)
    warming_up = snap.scope == "process" and now - ctx.recorder.started_at < min(60.0, window_s)
    if snap.note is not None:
        response = throughput = scaling.Reading(None, None, "shared metrics unavailable")
    elif snap.scope == "process" and not ctx.sampler.running and not snap.pages.count:
        # a command line process (no sampler, no page run) serves no page: its own metrics say
        # nothing, and waiting would not change that ("collecting" suggested it would)
        response = throughput = scaling.Reading(None, None, "not shared: EBAYDASH_REDIS_URL is not set")
    elif warming_up:
        age = now - ctx.recorder.started_at
        response = throughput = scaling.Reading(None, None, f"collecting: metrics started {age:,.0f} s ago")
    else:
        at: float | None = now
        if snap.scope == "cluster":
            at = max(float(s["at"]) for s in reports.values()) if reports else snap.newest_event_at
        pages = snap.pages
        per_replica = pages.per_minute / counted.count if snap.scope == "cluster" else pages.per_minute
        throughput = scaling.Reading(per_replica, at)
        real = ctx.recorder.snapshot(window_s, exact=False).pages
        timed = real if real.count else pages
        response = scaling.Reading(timed.mean_ms if timed.count else None, at)
    if reports:
        fractions = [float(s["system_memory_percent"]) / 100 for s in reports.values()]
        oldest = min(float(s["at"]) for s in reports.values())
        memory = scaling.Reading(sum(fractions) / len(fractions), oldest)
    else:
        sample = ctx.sampler.latest() or ctx.sampler.sample()
        memory = scaling.Reading(sample.system_memory_percent / 100, sample.at)
    observed = scaling.Observed(
        replicas=counted.count,
        avg_response_ms=response,
        throughput_per_min=throughput,
        memory_fraction=memory,
    )
    return observed, counted


@dataclass(frozen=True)
class ScalingReport:
    decision: scaling.Decision
    policy: scaling.Policy
    observed: scaling.Observed
    recent: pd.DataFrame  # time, recommended replicas (the stabilisation window's memory)
    actions: list[ActionRecord]
    state_note: str | None  # set when the shared state could not be used
    replicas_now: ReplicaCount  # observed.replicas, and where the number came from


@for_managers
def recommendation(
    ctx: Context,
    viewer: Viewer,
    *,
    act: bool = False,
    policy_override: scaling.Policy | None = None,
    replicas: int | None = None,
) -> scaling.Decision:
    """The scaling decision for the current metrics against the shared state.

    ``act=True`` claims a change for this caller (``ebaydash recommend``); the pages only preview.
    ``replicas`` (at least 1, else InvalidInput) is the count running now when the caller knows it
    (``recommend --replicas``); without it, see :func:`replica_count`.
    """
    used = policy_override or policy(ctx, viewer)
    return _decide(ctx, act=act, policy_used=used, observed=observe(ctx, replicas=replicas))[0]


def state_unreadable(exc: Exception) -> str:
    """What the scaling page and ``recommend`` say when the shared state could not be read: the
    reason (the error's own sentences, as they are), then what is unknown because of it."""
    reason = str(exc).strip()
    if not reason.endswith((".", "!", "?")):
        reason += "."
    return (
        f"{reason} The shared scaling state could not be read, so the cooldown and the history are unknown."
    )


def _decide(
    ctx: Context, *, act: bool, policy_used: scaling.Policy, observed: scaling.Observed
) -> tuple[scaling.Decision, scaling.State, scaling.Observed, str | None]:
    store = ScalingStateStore(ctx.db)
    try:
        decision, state = decide(store, lambda: observed, policy_used, act=act)
        return decision, state, observed, None
    except DatabaseError as exc:
        state = scaling.State()
        decision = scaling.evaluate(observed, policy_used, state, time.time())
        note = state_unreadable(exc)
        if act and decision.action != "hold":
            decision = dataclasses.replace(
                decision,
                action="hold",
                desired_replicas=decision.current_replicas,
                rule="state_unavailable",
                reason=f"{decision.reason} But the decision could not be recorded for the other "
                "replicas, so none is taken now.",
            )
        elif act:
            # a hold on unknown state is no verdict for a script: it is told why (and exits 1)
            decision = dataclasses.replace(
                decision, rule="state_unavailable", reason=f"{note} {decision.reason}"
            )
        return decision, state, observed, note


@for_managers
def scaling_report(ctx: Context, viewer: Viewer) -> ScalingReport:
    used = policy(ctx, viewer)
    observed, counted = _observe(ctx)
    decision, state, observed, note = _decide(ctx, act=False, policy_used=used, observed=observed)
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
        recent=recent,
        actions=actions,
        state_note=note,
        replicas_now=counted,
    )


@for_managers
def what_if(
    ctx: Context,
    viewer: Viewer,
    changes: Mapping[str, float],
    *,
    replicas: int | None = None,
    observed: scaling.Observed | None = None,
) -> scaling.Decision:
    """The decision the engine would make now (or for ``observed``) with some policy values and
    the replica count changed — without touching the shared state. Unknown or inconsistent values
    raise InvalidInput."""
    observed = observe(ctx) if observed is None else observed
    base = policy(ctx, viewer)
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
