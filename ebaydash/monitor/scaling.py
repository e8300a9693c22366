"""The scaling rules engine: a pure function of a metrics snapshot, a policy and the previous state.

``evaluate(observed, policy, state, now)`` never reads clocks, files or the network, so every page
and ``ebaydash recommend`` get the same answer for the same inputs, and tests can drive it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ebaydash.settings import Settings

Action = Literal["scale_up", "scale_down", "hold"]


@dataclass(frozen=True)
class Policy:
    scale_up_response_ms: float = 3000.0
    scale_down_response_ms: float = 500.0
    scale_up_throughput_per_min: float = 1000.0
    scale_down_throughput_per_min: float = 100.0
    scale_up_memory: float = 0.8
    scale_down_memory: float = 0.3
    cooldown_s: float = 300.0
    min_replicas: int = 1
    max_replicas: int = 10

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
            min_replicas=settings.min_replicas,
            max_replicas=settings.max_replicas,
        )


@dataclass(frozen=True)
class Observed:
    """The inputs: what the metrics say now. ``None`` means the metric is not available."""

    replicas: int
    avg_response_ms: float | None
    throughput_per_min: float | None
    memory_fraction: float | None


@dataclass(frozen=True)
class State:
    last_action: Action | None = None
    last_action_at: float | None = None


@dataclass(frozen=True)
class RuleResult:
    metric: str
    observed: float | None
    up_threshold: float
    down_threshold: float
    verdict: Literal["up", "down", "within", "missing"]


@dataclass(frozen=True)
class Decision:
    action: Action
    current_replicas: int
    desired_replicas: int
    rule: str
    reason: str
    cooldown_left_s: float
    rules: tuple[RuleResult, ...] = field(default_factory=tuple)


def _judge(metric: str, value: float | None, up: float, down: float) -> RuleResult:
    if value is None or math.isnan(value):
        return RuleResult(metric, None, up, down, "missing")
    if value > up:
        return RuleResult(metric, value, up, down, "up")
    if value < down:
        return RuleResult(metric, value, up, down, "down")
    return RuleResult(metric, value, up, down, "within")


def evaluate(observed: Observed, policy: Policy, state: State, now: float) -> Decision:
    rules = (
        _judge(
            "avg_response_ms",
            observed.avg_response_ms,
            policy.scale_up_response_ms,
            policy.scale_down_response_ms,
        ),
        _judge(
            "throughput_per_min",
            observed.throughput_per_min,
            policy.scale_up_throughput_per_min,
            policy.scale_down_throughput_per_min,
        ),
        _judge("memory_fraction", observed.memory_fraction, policy.scale_up_memory, policy.scale_down_memory),
    )
    current = observed.replicas
    cooldown_left = 0.0
    if state.last_action_at is not None:
        cooldown_left = max(0.0, policy.cooldown_s - (now - state.last_action_at))

    def decide(action: Action, desired: int, rule: str, reason: str) -> Decision:
        return Decision(action, current, desired, rule, reason, cooldown_left, rules)

    firing_up = [r for r in rules if r.verdict == "up"]
    if firing_up:
        # Kubernetes HPA: desired = ceil(current × observed / target), the largest wins
        desired = max(math.ceil(current * (r.observed or 0) / r.up_threshold) for r in firing_up)
        desired = min(max(desired, current + 1), policy.max_replicas)
        top = max(firing_up, key=lambda r: (r.observed or 0) / r.up_threshold)
        if desired <= current:
            return decide(
                "hold",
                current,
                top.metric,
                f"{top.metric} is above its limit but already at the maximum of "
                f"{policy.max_replicas} replicas.",
            )
        if cooldown_left > 0:
            return decide(
                "hold",
                current,
                "cooldown",
                f"{top.metric} is above its limit, but the last change was too recent "
                f"({cooldown_left:.0f} s of cooldown left).",
            )
        return decide(
            "scale_up",
            desired,
            top.metric,
            f"{top.metric} is {top.observed:g}, above the limit of {top.up_threshold:g}: "
            f"add replicas ({current} → {desired}).",
        )
    if any(r.verdict == "missing" for r in rules):
        missing = ", ".join(r.metric for r in rules if r.verdict == "missing")
        return decide(
            "hold", current, "missing_data", f"Not enough data to decide ({missing} missing): holding."
        )
    if all(r.verdict == "down" for r in rules) and current > policy.min_replicas:
        if cooldown_left > 0:
            return decide(
                "hold",
                current,
                "cooldown",
                f"Load is low, but the last change was too recent ({cooldown_left:.0f} s of cooldown left).",
            )
        desired = max(current - 1, policy.min_replicas)
        return decide(
            "scale_down",
            desired,
            "all_low",
            f"Every metric is below its scale-down limit: remove a replica ({current} → {desired}).",
        )
    return decide("hold", current, "within_limits", "Every metric is within its limits: holding.")
