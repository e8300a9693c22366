"""The shared scaling state: two replicas never both act on one episode (SQLite and Postgres)."""

from __future__ import annotations

import threading
import uuid

from ebaydash.db import migrations
from ebaydash.db.engine import Database, make_engine
from ebaydash.monitor.scaling import Observed, Policy, Reading
from ebaydash.monitor.state import SAMPLE_EVERY_S, ScalingStateStore, decide
from ebaydash.settings import Settings

NOW = 1_800_000_000.0


def scope() -> str:
    """A scope of its own per test: the Postgres database is shared by the whole session."""
    return f"test-{uuid.uuid4().hex[:12]}"


def overloaded(replicas: int = 2) -> Observed:
    return Observed(replicas, Reading(4500.0, NOW), Reading(500.0, NOW), Reading(0.5, NOW))


def test_a_fresh_database_has_an_empty_state(db: Database) -> None:
    store = ScalingStateStore(db, scope=scope())
    state = store.load()
    assert (state.version, state.last_action, state.recent) == (0, None, ())
    assert store.actions() == []


def test_the_second_replica_in_a_race_holds(db: Database) -> None:
    name = scope()
    first = ScalingStateStore(db, scope=name, actor="replica-a")
    second = ScalingStateStore(db, scope=name, actor="replica-b")
    policy = Policy()
    calls = {"n": 0}

    def observe_while_the_other_acts() -> Observed:
        # replica b has loaded the state; replica a acts before b can write
        calls["n"] += 1
        if calls["n"] == 1:
            decision, _ = decide(first, overloaded, policy, act=True, clock=lambda: NOW)
            assert decision.action == "scale_up"
        return overloaded()

    decision, state = decide(second, observe_while_the_other_acts, policy, act=True, clock=lambda: NOW + 1)
    assert (decision.action, decision.rule) == ("hold", "cooldown")
    assert decision.cooldown_left_s == 299
    actions = first.actions()
    assert [(a.action, a.from_replicas, a.to_replicas, a.actor) for a in actions] == [
        ("scale_up", 2, 3, "replica-a")
    ]
    assert state.last_action == "scale_up" and state.version >= 1


def test_concurrent_replicas_claim_one_episode_once(settings: Settings) -> None:
    dbs = [Database(make_engine(settings), timeout_ms=5000) for _ in range(4)]
    try:
        name = scope()
        migrations.upgrade(dbs[0])  # the schema once, before the race
        results: list[str] = []
        barrier = threading.Barrier(len(dbs))

        def replica(i: int) -> None:
            store = ScalingStateStore(dbs[i], scope=name, actor=f"replica-{i}")
            barrier.wait()
            decision, _ = decide(store, overloaded, Policy(), act=True, clock=lambda: NOW + i * 0.01)
            results.append(decision.action)

        threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(dbs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["hold"] * 3 + ["scale_up"]
        assert len(ScalingStateStore(dbs[0], scope=name).actions()) == 1
    finally:
        for d in dbs:
            d.dispose()


def test_previews_remember_recommendations_but_never_claim(db: Database) -> None:
    store = ScalingStateStore(db, scope=scope(), actor="page")
    policy = Policy()
    clock = {"now": NOW}
    first, _state = decide(store, overloaded, policy, act=False, clock=lambda: clock["now"])
    assert first.action == "scale_up"  # what would happen …
    assert store.load().last_action is None  # … but nothing was claimed
    assert [r.desired for r in store.load().recent] == [3]
    clock["now"] = NOW + SAMPLE_EVERY_S / 2
    decide(store, overloaded, policy, act=False, clock=lambda: clock["now"])
    assert len(store.load().recent) == 1  # not written again so soon
    clock["now"] = NOW + SAMPLE_EVERY_S + 1
    decide(store, overloaded, policy, act=False, clock=lambda: clock["now"])
    assert len(store.load().recent) == 2
    assert store.actions() == []


def test_recommendations_from_previews_stabilise_a_later_scale_down(db: Database) -> None:
    store = ScalingStateStore(db, scope=scope())
    policy = Policy()
    decide(store, lambda: overloaded(4), policy, act=False, clock=lambda: NOW)  # wanted 6
    quiet = Observed(4, Reading(100.0, NOW + 60), Reading(20.0, NOW + 60), Reading(0.05, NOW + 60))
    decision, _ = decide(store, lambda: quiet, policy, act=True, clock=lambda: NOW + 60)
    assert (decision.action, decision.rule) == ("hold", "stabilisation")
    later = Observed(4, Reading(100.0, NOW + 400), Reading(20.0, NOW + 400), Reading(0.05, NOW + 400))
    decision, _ = decide(store, lambda: later, policy, act=True, clock=lambda: NOW + 400)
    assert (decision.action, decision.desired_replicas) == ("scale_down", 1)
