"""The scaling engine's shared memory, kept in the database so every replica sees one cooldown.

:meth:`ScalingStateStore.commit` writes with compare-and-set: of two replicas that decide to act on
the same episode, the second one's write fails, it re-reads the state (now in cooldown) and holds.
The database is used rather than Redis because it is always there and survives restarts.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from ebaydash.db import queries
from ebaydash.db.engine import Database
from ebaydash.monitor import scaling

log = logging.getLogger(__name__)

# Holds keep the stabilisation window's memory; writing it on every page refresh would be waste.
SAMPLE_EVERY_S = 15.0


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ActionRecord:
    at: float
    action: str
    from_replicas: int
    to_replicas: int
    rule: str
    reason: str
    actor: str


class ScalingStateStore:
    def __init__(self, db: Database, *, scope: str = "default", actor: str | None = None) -> None:
        self.db = db
        self.scope = scope
        self.actor = actor or replica_id()

    def load(self) -> scaling.State:
        row = queries.scaling_state_row(self.db, self.scope)
        if row is None:
            return scaling.State()
        recent = tuple(
            scaling.Recommendation(float(at), int(desired)) for at, desired in json.loads(row.recent)
        )
        return scaling.State(
            last_action=row.last_action,
            last_action_at=row.last_action_at,
            last_desired=row.last_desired,
            recent=recent,
            version=int(row.version),
        )

    def commit(self, old: scaling.State, new: scaling.State, decision: scaling.Decision) -> bool:
        """Store ``new`` if nobody wrote since ``old`` was loaded; record the action if it acts."""
        action = None
        if decision.action != "hold":
            action = {
                "at": decision.evaluated_at,
                "action": decision.action,
                "from_replicas": decision.current_replicas,
                "to_replicas": decision.desired_replicas,
                "rule": decision.rule,
                "reason": decision.reason,
                "actor": self.actor,
            }
        values = {
            "last_action": new.last_action,
            "last_action_at": new.last_action_at,
            "last_desired": new.last_desired,
            "recent": json.dumps([[r.at, r.desired] for r in new.recent]),
            "updated_at": decision.evaluated_at,
            "updated_by": self.actor,
        }
        return queries.scaling_state_write(self.db, self.scope, old.version, values, action)

    def actions(self, limit: int = 50) -> list[ActionRecord]:
        return [
            ActionRecord(
                at=float(r.at),
                action=r.action,
                from_replicas=int(r.from_replicas),
                to_replicas=int(r.to_replicas),
                rule=r.rule,
                reason=r.reason,
                actor=r.actor,
            )
            for r in queries.scaling_actions_recent(self.db, self.scope, limit)
        ]


def decide(
    store: ScalingStateStore,
    observe: Callable[[], scaling.Observed],
    policy: scaling.Policy,
    *,
    act: bool,
    clock: Callable[[], float] = time.time,
    attempts: int = 3,
) -> tuple[scaling.Decision, scaling.State]:
    """Evaluate against the shared state and store the result.

    ``act=False`` (the pages): a change is only previewed, but the recommendation is remembered
    for the stabilisation window (at most every :data:`SAMPLE_EVERY_S`). ``act=True`` (``ebaydash
    recommend``): a change is claimed; if another replica claimed first, decide again on its state.
    """
    decision: scaling.Decision | None = None
    state = scaling.State()
    for _ in range(attempts):
        state = store.load()
        decision = scaling.evaluate(observe(), policy, state, clock())
        acting = act and decision.action != "hold"
        new = scaling.next_state(decision, state, policy)
        if not acting:
            new = scaling.State(
                last_action=state.last_action,
                last_action_at=state.last_action_at,
                last_desired=state.last_desired,
                recent=new.recent,
                version=state.version,
            )
            newest = state.recent[-1].at if state.recent else None
            if decision.recommended is None or (
                newest is not None and decision.evaluated_at - newest < SAMPLE_EVERY_S
            ):
                return decision, state
            preview = dataclasses.replace(decision, action="hold")
            store.commit(state, new, preview)  # losing this race only loses one sample
            return decision, new
        if store.commit(state, new, decision):
            return decision, new
        log.info("another replica updated the scaling state first; deciding again")
    assert decision is not None
    return (
        scaling.Decision(
            "hold",
            decision.current_replicas,
            decision.current_replicas,
            "contention",
            "Other replicas kept updating the scaling state; holding this time.",
            decision.cooldown_left_s,
            decision.rules,
            decision.recommended,
            decision.evaluated_at,
        ),
        state,
    )
