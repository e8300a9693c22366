"""The scaling rules engine: a pure function of what was observed, a policy and the previous state.

``evaluate(observed, policy, state, now)`` reads no clock, file or network, so the scaling page,
its what-if panel and ``ebaydash recommend`` get the same answer for the same inputs, and tests
drive it exactly. It follows Kubernetes' Horizontal Pod Autoscaler where that fits:

1. Each metric is judged on its own. Above its scale-up limit by more than the tolerance (10 %)
   it asks for ``ceil(current × observed / limit)`` replicas; below its scale-down limit by more
   than the tolerance it asks for ``ceil(current × observed / scale-down limit)``. Inside the
   tolerance band it asks for no change, so noise around a limit does not flap the replicas.
2. A metric that is missing, or older than ``max_age_s``, cannot vote for a change.
3. Scale-up wins: one fresh metric over its limit is enough, whatever the others say; the largest
   request counts. Scale-down needs every metric fresh and low, and the least reduction counts.
4. Scale-down is stabilised: the replica count never drops below the highest recommendation made
   in the last ``stabilisation_s`` (so one quiet minute does not undo a busy one).
5. A change is recommended only after ``cooldown_s`` has passed since the last one (shared by all
   replicas through the state store, so two replicas never act on the same episode).
6. The result is clamped to ``[min_replicas, max_replicas]``.

With no requests at all, average response time has no value; when throughput was measured as zero
the response rule counts as "idle", which allows scaling down an unused deployment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from ebaydash.errors import InvalidInput
from ebaydash.formatting import and_list
from ebaydash.settings import Settings

Action = Literal["scale_up", "scale_down", "hold"]
Verdict = Literal["up", "down", "within", "tolerance", "idle", "missing", "stale"]

ACTION_LABELS: dict[str, str] = {"scale_up": "Scale up", "scale_down": "Scale down", "hold": "Hold"}
MAX_RECENT = 256


@dataclass(frozen=True)
class Policy:
    """Every threshold of the engine. The defaults are the settings' (the design's values), so each
    is written once, in :data:`ebaydash.settings.SETTINGS`."""

    scale_up_response_ms: float = Settings.scale_up_response_ms
    scale_down_response_ms: float = Settings.scale_down_response_ms
    scale_up_throughput_per_min: float = Settings.scale_up_throughput_per_min
    scale_down_throughput_per_min: float = Settings.scale_down_throughput_per_min
    scale_up_memory: float = Settings.scale_up_memory
    scale_down_memory: float = Settings.scale_down_memory
    cooldown_s: float = Settings.scale_cooldown_s
    stabilisation_s: float = Settings.scale_stabilisation_s
    tolerance: float = Settings.scale_tolerance
    max_age_s: float = Settings.scale_max_data_age_s
    min_replicas: int = Settings.min_replicas
    max_replicas: int = Settings.max_replicas

    def __post_init__(self) -> None:
        problems = []
        for label, up, down in (
            ("response time", self.scale_up_response_ms, self.scale_down_response_ms),
            ("throughput", self.scale_up_throughput_per_min, self.scale_down_throughput_per_min),
            ("memory", self.scale_up_memory, self.scale_down_memory),
        ):
            if not (down > 0 and up > 0):
                problems.append(f"the {label} limits must be above zero")
            elif down >= up:
                problems.append(f"the {label} scale-down limit must be below its scale-up limit")
        if not 1 <= self.min_replicas <= self.max_replicas:
            problems.append("replicas need 1 ≤ minimum ≤ maximum")
        if not 0 <= self.tolerance < 1:
            problems.append("the tolerance must be between 0 and 1")
        if self.cooldown_s < 0 or self.stabilisation_s < 0 or self.max_age_s <= 0:
            problems.append("times must not be negative")
        if problems:
            raise InvalidInput("This policy cannot be used: " + "; ".join(problems) + ".")

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            scale_up_response_ms=settings.scale_up_response_ms,
            scale_down_response_ms=settings.scale_down_response_ms,
            scale_up_throughput_per_min=settings.scale_up_throughput_per_min,
            scale_down_throughput_per_min=settings.scale_down_throughput_per_min,
            scale_up_memory=settings.scale_up_memory,
            scale_down_memory=settings.scale_down_memory,
            cooldown_s=settings.scale_cooldown_s,
            stabilisation_s=settings.scale_stabilisation_s,
            tolerance=settings.scale_tolerance,
            max_age_s=settings.scale_max_data_age_s,
            min_replicas=settings.min_replicas,
            max_replicas=settings.max_replicas,
        )


@dataclass(frozen=True)
class Reading:
    """One observed value and when it was measured (epoch seconds); ``None`` = not available."""

    value: float | None
    at: float | None = None
    note: str | None = None  # why a value is missing, in plain words


MISSING = Reading(None, None)


@dataclass(frozen=True)
class Observed:
    replicas: int
    avg_response_ms: Reading = MISSING
    throughput_per_min: Reading = MISSING  # per replica
    memory_fraction: Reading = MISSING


@dataclass(frozen=True)
class Recommendation:
    at: float
    desired: int


@dataclass(frozen=True)
class State:
    """What the engine remembers between evaluations (shared by all replicas)."""

    last_action: Action | None = None
    last_action_at: float | None = None
    last_desired: int | None = None
    recent: tuple[Recommendation, ...] = ()
    version: int = 0  # for compare-and-set in the store; the engine ignores it


@dataclass(frozen=True)
class RuleResult:
    metric: str
    label: str
    observed: float | None
    unit: str
    up_threshold: float
    down_threshold: float
    verdict: Verdict
    desired: int | None  # the replicas this metric alone asks for (up/down verdicts)
    note: str


@dataclass(frozen=True)
class Decision:
    action: Action
    current_replicas: int
    desired_replicas: int
    rule: str  # what decided: a metric name, or cooldown, stabilisation, missing_data, …
    reason: str
    cooldown_left_s: float
    rules: tuple[RuleResult, ...] = field(default_factory=tuple)
    recommended: int | None = None  # the raw recommendation before stabilisation and cooldown
    evaluated_at: float = 0.0

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.action]


_METRICS = (
    # field, label, unit, up attribute, down attribute
    ("avg_response_ms", "Average response time", "ms", "scale_up_response_ms", "scale_down_response_ms"),
    (
        "throughput_per_min",
        "Requests per minute per replica",
        "/min",
        "scale_up_throughput_per_min",
        "scale_down_throughput_per_min",
    ),
    ("memory_fraction", "Memory use", "", "scale_up_memory", "scale_down_memory"),
)


def fmt(value: float, unit: str) -> str:
    if unit == "":
        return f"{value:.0%}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.0f}{unit}"


def _judge(
    metric: str,
    label: str,
    unit: str,
    reading: Reading,
    up: float,
    down: float,
    *,
    current: int,
    policy: Policy,
    now: float,
    idle: bool,
) -> RuleResult:
    def result(verdict: Verdict, desired: int | None, note: str) -> RuleResult:
        return RuleResult(metric, label, reading.value, unit, up, down, verdict, desired, note)

    value = reading.value
    if value is None or math.isnan(value):
        if idle:
            return result("idle", policy.min_replicas, "no requests in the window")
        return result("missing", None, reading.note or "no data")
    if reading.at is None or now - reading.at > policy.max_age_s:
        age = "of unknown age" if reading.at is None else f"{now - reading.at:,.0f} s old"
        return result("stale", None, f"data is {age} (limit {policy.max_age_s:,.0f} s)")
    shown = fmt(value, unit)
    if value > up:
        if value <= up * (1 + policy.tolerance):
            return result("tolerance", None, f"{shown} is above {fmt(up, unit)} but within the tolerance")
        desired = math.ceil(current * value / up)
        return result("up", desired, f"{shown} is above {fmt(up, unit)}")
    if value < down:
        if value >= down * (1 - policy.tolerance):
            return result("tolerance", None, f"{shown} is below {fmt(down, unit)} but within the tolerance")
        desired = max(math.ceil(current * value / down), 0)
        return result("down", desired, f"{shown} is below {fmt(down, unit)}")
    return result("within", None, f"{shown} is between {fmt(down, unit)} and {fmt(up, unit)}")


def judge_all(observed: Observed, policy: Policy, now: float) -> tuple[RuleResult, ...]:
    throughput = observed.throughput_per_min
    idle = throughput.value == 0 and throughput.at is not None and now - throughput.at <= policy.max_age_s
    return tuple(
        _judge(
            metric,
            label,
            unit,
            getattr(observed, metric),
            getattr(policy, up),
            getattr(policy, down),
            current=observed.replicas,
            policy=policy,
            now=now,
            idle=idle and metric == "avg_response_ms",
        )
        for metric, label, unit, up, down in _METRICS
    )


def cooldown_left(policy: Policy, state: State, now: float) -> float:
    if state.last_action_at is None:
        return 0.0
    return max(0.0, policy.cooldown_s - (now - state.last_action_at))


def evaluate(observed: Observed, policy: Policy, state: State, now: float) -> Decision:
    """The recommendation for ``observed`` under ``policy``, given ``state``; see the module doc."""
    rules = judge_all(observed, policy, now)
    current = observed.replicas
    wait = cooldown_left(policy, state, now)

    def decide(action: Action, desired: int, rule: str, reason: str, recommended: int | None) -> Decision:
        return Decision(action, current, desired, rule, reason, wait, rules, recommended, now)

    def gated(action: Action, desired: int, rule: str, reason: str, recommended: int) -> Decision:
        """``action`` unless the cooldown forbids it now."""
        if wait > 0:
            last = ACTION_LABELS[state.last_action or "hold"].lower()
            return decide(
                "hold",
                current,
                "cooldown",
                f"{reason} But the last change ({last} to {state.last_desired} replicas) was "
                f"{now - (state.last_action_at or now):,.0f} s ago: waiting {wait:,.0f} s more.",
                recommended,
            )
        return decide(action, desired, rule, reason, recommended)

    # out of bounds: the configured limits come first
    if current > policy.max_replicas:
        return gated(
            "scale_down",
            policy.max_replicas,
            "max_replicas",
            f"{current} replicas run, more than the maximum of {policy.max_replicas}.",
            policy.max_replicas,
        )
    if current < policy.min_replicas:
        return gated(
            "scale_up",
            policy.min_replicas,
            "min_replicas",
            f"{current} replicas run, fewer than the minimum of {policy.min_replicas}.",
            policy.min_replicas,
        )

    up = [r for r in rules if r.verdict == "up"]
    unknown = [r for r in rules if r.verdict in ("missing", "stale")]
    low = [r for r in rules if r.verdict in ("down", "idle")]

    if up:
        top = max(up, key=lambda r: (r.desired or 0, r.metric))
        wanted = min(max(r.desired or current for r in up), policy.max_replicas)
        others = [r for r in low if r is not top]
        also = ""
        if others:
            also = f" (scale-up wins over {', '.join(r.label.lower() for r in others)} being low)"
        if wanted <= current:
            return decide(
                "hold",
                current,
                "max_replicas",
                f"{top.label} {top.note}, but {current} replicas is already the maximum of "
                f"{policy.max_replicas}.",
                current,
            )
        return gated(
            "scale_up",
            wanted,
            top.metric,
            f"{top.label} {top.note}: add replicas ({current} → {wanted}){also}.",
            wanted,
        )

    if unknown:
        names = and_list([f"{r.label.lower()} ({r.note})" for r in unknown])
        rule = "stale_data" if all(r.verdict == "stale" for r in unknown) else "missing_data"
        return decide("hold", current, rule, f"Cannot judge the load safely: {names}. Holding.", None)

    if len(low) == len(rules):
        if current <= policy.min_replicas:
            return decide(
                "hold",
                current,
                "min_replicas",
                f"Load is low, and {current} replica{'s' if current != 1 else ''} is already the "
                f"minimum of {policy.min_replicas}.",
                current,
            )
        # the metric that needs the most replicas bounds how far we can go down
        wanted = max(policy.min_replicas, max(r.desired or 0 for r in low))
        if wanted >= current:
            tight = max(low, key=lambda r: r.desired or 0)
            return decide(
                "hold",
                current,
                tight.metric,
                f"Load is low, but with fewer replicas {tight.label.lower()} would no longer be below "
                f"its scale-down limit of {fmt(tight.down_threshold, tight.unit)}.",
                current,
            )
        window = [r for r in state.recent if now - r.at <= policy.stabilisation_s]
        floor = max((r.desired for r in window), default=wanted)
        if floor >= current:
            return decide(
                "hold",
                current,
                "stabilisation",
                f"Load is low (would go {current} → {wanted}), but within the last "
                f"{policy.stabilisation_s / 60:g} min a recommendation asked for {floor} replicas: "
                "waiting until the load has stayed low for the whole window.",
                wanted,
            )
        target = max(wanted, floor)
        return gated(
            "scale_down",
            target,
            "all_low",
            f"Every metric is below its scale-down limit: remove replicas ({current} → {target}).",
            wanted,
        )

    if low:
        names = and_list([r.label.lower() for r in low])
        return decide(
            "hold",
            current,
            "within_limits",
            f"{names[:1].upper()}{names[1:]} {'is' if len(low) == 1 else 'are'} low but not every metric "
            "is: scale-down needs all of them low. Holding.",
            current,
        )
    return decide("hold", current, "within_limits", "Every metric is within its limits: holding.", current)


def next_state(decision: Decision, state: State, policy: Policy) -> State:
    """The state to store after ``decision``: the recommendation remembered for stabilisation,
    and the action (if any) starting a new cooldown."""
    now = decision.evaluated_at
    recent = tuple(r for r in state.recent if now - r.at <= policy.stabilisation_s)
    if decision.recommended is not None:
        recent = (*recent, Recommendation(now, decision.recommended))[-MAX_RECENT:]
    if decision.action == "hold":
        return replace(state, recent=recent)
    return replace(
        state,
        last_action=decision.action,
        last_action_at=now,
        last_desired=decision.desired_replicas,
        recent=recent,
    )
