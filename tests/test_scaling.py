"""The scaling rules engine, table-driven: every threshold below/at/above, tolerance, cooldown,
stabilisation, disagreeing metrics, missing and stale data, min/max clamps."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ebaydash.errors import InvalidInput
from ebaydash.monitor.scaling import (
    MISSING,
    Decision,
    Observed,
    Policy,
    Reading,
    Recommendation,
    State,
    evaluate,
    next_state,
)
from ebaydash.settings import Settings

NOW = 1_800_000_000.0
POLICY = Policy()  # the design's thresholds: 3000/500 ms, 1000/100 per min, 80/30 % memory


def fresh(value: float | None) -> Reading:
    return Reading(value, NOW - 5)


def observed(
    replicas: int = 2,
    response: float | None = 1000.0,
    throughput: float | None = 500.0,
    memory: float | None = 0.5,
) -> Observed:
    """Defaults sit inside every band: the engine holds."""
    return Observed(replicas, fresh(response), fresh(throughput), fresh(memory))


LOW = {"response": 100.0, "throughput": 20.0, "memory": 0.05}  # far below every scale-down limit


def test_the_default_policy_is_the_designs_and_settings_override_it() -> None:
    assert (POLICY.scale_up_response_ms, POLICY.scale_down_response_ms) == (3000, 500)
    assert (POLICY.scale_up_throughput_per_min, POLICY.scale_down_throughput_per_min) == (1000, 100)
    assert (POLICY.scale_up_memory, POLICY.scale_down_memory) == (0.8, 0.3)
    assert (POLICY.cooldown_s, POLICY.tolerance, POLICY.min_replicas, POLICY.max_replicas) == (
        300,
        0.1,
        1,
        10,
    )
    assert Policy.from_settings(Settings()) == POLICY
    custom = Policy.from_settings(
        Settings.from_env(
            {
                "EBAYDASH_SCALE_UP_RESPONSE_MS": "2000",
                "EBAYDASH_SCALE_TOLERANCE": "0.2",
                "EBAYDASH_SCALE_STABILISATION_S": "60",
                "EBAYDASH_SCALE_MAX_DATA_AGE_S": "30",
                "EBAYDASH_MAX_REPLICAS": "4",
            }
        )
    )
    assert (custom.scale_up_response_ms, custom.tolerance, custom.stabilisation_s) == (2000, 0.2, 60)
    assert (custom.max_age_s, custom.max_replicas) == (30, 4)


# -- each threshold just below, at and above (other metrics inside their bands) --------------------

UP_EDGES = [
    # metric, value, verdict, action, desired (2 replicas now)
    ("response", 2999.0, "within", "hold", 2),
    ("response", 3000.0, "within", "hold", 2),  # at the limit: not above it
    ("response", 3001.0, "tolerance", "hold", 2),  # above, but inside the 10 % band
    ("response", 3300.0, "tolerance", "hold", 2),  # the band's edge
    ("response", 3301.0, "up", "scale_up", 3),  # ceil(2 × 3301 / 3000) = 3
    ("response", 6001.0, "up", "scale_up", 5),  # ceil(2 × 6001 / 3000) = 5
    ("throughput", 999.0, "within", "hold", 2),
    ("throughput", 1000.0, "within", "hold", 2),
    ("throughput", 1100.0, "tolerance", "hold", 2),
    ("throughput", 1101.0, "up", "scale_up", 3),
    ("throughput", 2600.0, "up", "scale_up", 6),  # ceil(2 × 2.6) = 6
    ("memory", 0.79, "within", "hold", 2),
    ("memory", 0.80, "within", "hold", 2),
    ("memory", 0.88, "tolerance", "hold", 2),
    ("memory", 0.89, "up", "scale_up", 3),
    ("memory", 0.99, "up", "scale_up", 3),  # ceil(2 × 0.99 / 0.8) = 3
]


@pytest.mark.parametrize(("metric", "value", "verdict", "action", "desired"), UP_EDGES)
def test_scale_up_thresholds(metric: str, value: float, verdict: str, action: str, desired: int) -> None:
    decision = evaluate(observed(**{metric: value}), POLICY, State(), NOW)
    rule = {r.metric: r for r in decision.rules}[
        {"response": "avg_response_ms", "throughput": "throughput_per_min", "memory": "memory_fraction"}[
            metric
        ]
    ]
    assert rule.verdict == verdict
    assert (decision.action, decision.desired_replicas) == (action, desired)
    if action == "scale_up":
        assert decision.rule == rule.metric
        assert "add replicas (2 → " in decision.reason


DOWN_EDGES = [
    # metric, value (the others far below their limits), verdict, action, desired (4 replicas now)
    ("response", 501.0, "within", "hold", 4),
    ("response", 500.0, "within", "hold", 4),  # at the limit: not below it
    ("response", 499.0, "tolerance", "hold", 4),
    ("response", 450.0, "tolerance", "hold", 4),  # the band's edge
    ("response", 449.0, "down", "hold", 4),  # ceil(4 × 449 / 500) = 4: no room to go down
    ("response", 300.0, "down", "scale_down", 3),  # ceil(4 × 0.6) = 3
    ("throughput", 100.0, "within", "hold", 4),
    ("throughput", 90.0, "tolerance", "hold", 4),
    ("throughput", 89.0, "down", "hold", 4),  # ceil(4 × 0.89) = 4
    ("throughput", 49.0, "down", "scale_down", 2),  # ceil(4 × 0.49) = 2
    ("memory", 0.30, "within", "hold", 4),
    ("memory", 0.27, "tolerance", "hold", 4),
    ("memory", 0.26, "down", "hold", 4),  # ceil(4 × 0.26 / 0.3) = 4
    ("memory", 0.10, "down", "scale_down", 2),  # ceil(4 × 1/3) = 2
]


@pytest.mark.parametrize(("metric", "value", "verdict", "action", "desired"), DOWN_EDGES)
def test_scale_down_thresholds(metric: str, value: float, verdict: str, action: str, desired: int) -> None:
    values = {**LOW, metric: value}
    decision = evaluate(observed(replicas=4, **values), POLICY, State(), NOW)
    verdicts = [r.verdict for r in decision.rules]
    key = ["response", "throughput", "memory"].index(metric)
    assert verdicts[key] == verdict
    assert (decision.action, decision.desired_replicas) == (action, desired)


def test_far_below_everything_goes_down_to_what_the_busiest_metric_needs() -> None:
    # response asks for ceil(4 × 100/500)=1, throughput ceil(4 × 20/100)=1, memory ceil(4 × .05/.3)=1
    decision = evaluate(observed(replicas=4, **LOW), POLICY, State(), NOW)
    assert (decision.action, decision.desired_replicas, decision.rule) == ("scale_down", 1, "all_low")
    assert "4 → 1" in decision.reason


# -- disagreeing metrics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "action", "desired", "rule"),
    [
        # one metric up, the others low: scale-up wins
        ({"response": 4500.0, "throughput": 20.0, "memory": 0.05}, "scale_up", 3, "avg_response_ms"),
        # two up: the larger request wins (memory asks 3, throughput asks ceil(2 × 2.5) = 5)
        ({"throughput": 2500.0, "memory": 0.95}, "scale_up", 5, "throughput_per_min"),
        # low and within: no scale-down
        ({"response": 100.0, "throughput": 500.0, "memory": 0.05}, "hold", 2, "within_limits"),
        # up and missing: the fresh overload still counts
        ({"response": 4500.0, "memory": None}, "scale_up", 3, "avg_response_ms"),
    ],
)
def test_disagreeing_metrics(values: dict[str, float | None], action: str, desired: int, rule: str) -> None:
    decision = evaluate(observed(**values), POLICY, State(), NOW)
    assert (decision.action, decision.desired_replicas, decision.rule) == (action, desired, rule)


def test_scale_up_says_it_won_over_low_metrics() -> None:
    decision = evaluate(observed(response=4500.0, throughput=20.0, memory=0.05), POLICY, State(), NOW)
    assert "scale-up wins over" in decision.reason


# -- missing and stale data -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obs", "rule"),
    [
        (Observed(4, MISSING, fresh(20.0), fresh(0.05)), "missing_data"),
        (Observed(4, fresh(100.0), MISSING, fresh(0.05)), "missing_data"),
        (Observed(4, fresh(100.0), fresh(20.0), MISSING), "missing_data"),
        (Observed(4), "missing_data"),
        (Observed(4, fresh(100.0), fresh(20.0), Reading(0.05, NOW - 121)), "stale_data"),
        (Observed(4, Reading(100.0, None), fresh(20.0), fresh(0.05)), "stale_data"),
        (Observed(4, Reading(100.0, NOW - 500), Reading(20.0, NOW - 500), fresh(0.05)), "stale_data"),
        (Observed(4, fresh(100.0), fresh(float("nan")), fresh(0.05)), "missing_data"),
    ],
)
def test_missing_or_stale_data_holds(obs: Observed, rule: str) -> None:
    decision = evaluate(obs, POLICY, State(), NOW)
    assert (decision.action, decision.desired_replicas, decision.rule) == ("hold", 4, rule)
    assert "Cannot judge" in decision.reason
    assert decision.recommended is None  # nothing to remember for stabilisation


def test_reasons_naming_several_metrics_read_as_a_sentence() -> None:
    missing = evaluate(Observed(4, MISSING, MISSING, fresh(0.05)), POLICY, State(), NOW)
    assert "average response time (" in missing.reason.lower() and ") and " in missing.reason
    assert "), " not in missing.reason.replace("), and", "")  # two items: "a and b", no comma list


def test_data_exactly_at_the_age_limit_is_still_fresh() -> None:
    at_limit = Observed(4, Reading(100.0, NOW - 120), Reading(20.0, NOW - 120), Reading(0.05, NOW - 120))
    assert evaluate(at_limit, POLICY, State(), NOW).action == "scale_down"


def test_no_requests_at_all_counts_as_idle_not_missing() -> None:
    idle = Observed(3, Reading(None, NOW - 5), fresh(0.0), fresh(0.05))
    decision = evaluate(idle, POLICY, State(), NOW)
    assert decision.rules[0].verdict == "idle"
    assert (decision.action, decision.desired_replicas) == ("scale_down", 1)
    # …but when throughput itself is unknown, the missing response time is missing
    unknown = Observed(3, Reading(None, NOW - 5), MISSING, fresh(0.05))
    assert evaluate(unknown, POLICY, State(), NOW).rules[0].verdict == "missing"


# -- min/max clamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "values", "action", "desired", "rule"),
    [
        (9, {"response": 9000.0}, "scale_up", 10, "avg_response_ms"),  # wants 27, capped at 10
        (10, {"response": 9000.0}, "hold", 10, "max_replicas"),  # already at the maximum
        (1, LOW, "hold", 1, "min_replicas"),  # already at the minimum
        (12, {}, "scale_down", 10, "max_replicas"),  # above the maximum: back to it
    ],
)
def test_min_and_max_clamps(
    replicas: int, values: dict[str, float], action: str, desired: int, rule: str
) -> None:
    decision = evaluate(observed(replicas=replicas, **values), POLICY, State(), NOW)
    assert (decision.action, decision.desired_replicas, decision.rule) == (action, desired, rule)


def test_minimum_is_respected_when_going_down() -> None:
    policy = replace(POLICY, min_replicas=3)
    decision = evaluate(observed(replicas=5, **LOW), policy, State(), NOW)
    assert (decision.action, decision.desired_replicas) == ("scale_down", 3)
    below = evaluate(observed(replicas=2), policy, State(), NOW)
    assert (below.action, below.desired_replicas, below.rule) == ("scale_up", 3, "min_replicas")


# -- cooldown ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since_last", "action", "left"),
    [(0.0, "hold", 300.0), (299.0, "hold", 1.0), (300.0, "scale_up", 0.0), (301.0, "scale_up", 0.0)],
)
def test_cooldown_window(since_last: float, action: str, left: float) -> None:
    state = State(last_action="scale_up", last_action_at=NOW - since_last, last_desired=2)
    decision = evaluate(observed(response=4500.0), POLICY, state, NOW)
    assert decision.action == action
    assert decision.cooldown_left_s == pytest.approx(left)
    if action == "hold":
        assert decision.rule == "cooldown"
        assert "waiting" in decision.reason
        assert decision.recommended == 3  # the wish is still remembered


def test_cooldown_applies_to_scale_down_too() -> None:
    state = State(last_action="scale_up", last_action_at=NOW - 60, last_desired=4)
    decision = evaluate(observed(replicas=4, **LOW), POLICY, state, NOW)
    assert (decision.action, decision.rule) == ("hold", "cooldown")


# -- scale-down stabilisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recent", "action", "desired", "rule"),
    [
        ((), "scale_down", 1, "all_low"),
        # 4 minutes ago the engine wanted 4: still inside the 5-minute window
        ((Recommendation(NOW - 240, 4),), "hold", 4, "stabilisation"),
        # exactly 5 minutes ago: still inside
        ((Recommendation(NOW - 300, 4),), "hold", 4, "stabilisation"),
        # older than the window: forgotten
        ((Recommendation(NOW - 301, 4),), "scale_down", 1, "all_low"),
        # the highest in the window bounds how far down we go
        ((Recommendation(NOW - 200, 3), Recommendation(NOW - 100, 2)), "scale_down", 3, "all_low"),
    ],
)
def test_stabilisation_window(
    recent: tuple[Recommendation, ...], action: str, desired: int, rule: str
) -> None:
    decision = evaluate(observed(replicas=4, **LOW), POLICY, State(recent=recent), NOW)
    assert (decision.action, decision.desired_replicas, decision.rule) == (action, desired, rule)


def test_stabilisation_does_not_slow_scale_up() -> None:
    state = State(recent=(Recommendation(NOW - 10, 1),))
    assert evaluate(observed(response=4500.0), POLICY, state, NOW).action == "scale_up"


def test_next_state_remembers_recommendations_and_starts_the_cooldown() -> None:
    state = State(recent=(Recommendation(NOW - 400, 5), Recommendation(NOW - 100, 2)))
    hold = evaluate(observed(), POLICY, state, NOW)
    after_hold = next_state(hold, state, POLICY)
    assert after_hold.recent == (Recommendation(NOW - 100, 2), Recommendation(NOW, 2))
    assert after_hold.last_action is None
    up = evaluate(observed(response=4500.0), POLICY, state, NOW)
    after_up = next_state(up, state, POLICY)
    assert (after_up.last_action, after_up.last_action_at, after_up.last_desired) == ("scale_up", NOW, 3)
    # the next evaluation is in cooldown
    again = evaluate(observed(replicas=3, response=4500.0), POLICY, after_up, NOW + 10)
    assert (again.action, again.rule) == ("hold", "cooldown")


def test_every_decision_explains_itself() -> None:
    for obs in (observed(), observed(response=4500.0), observed(replicas=4, **LOW), Observed(2)):
        decision: Decision = evaluate(obs, POLICY, State(), NOW)
        assert len(decision.rules) == 3
        for rule in decision.rules:
            assert rule.label and rule.note and rule.up_threshold > rule.down_threshold
        assert decision.reason.endswith(".")
        assert decision.label in {"Scale up", "Scale down", "Hold"}


def test_the_engine_is_pure() -> None:
    obs, state = observed(response=4500.0), State()
    assert evaluate(obs, POLICY, state, NOW) == evaluate(obs, POLICY, state, NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"scale_down_response_ms": 4000.0},
        {"min_replicas": 5, "max_replicas": 2},
        {"tolerance": 1.5},
        {"scale_up_memory": 0.0},
    ],
)
def test_inconsistent_policies_are_refused_with_a_message(changes: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match="This policy cannot be used"):
        replace(POLICY, **changes)
