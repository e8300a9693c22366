"""``ebaydash autoscale``: the scaling rules engine's decisions, carried out on the local cluster.

Each tick:

1. Replicas whose process died are taken out of HAProxy (their slot goes to maintenance) and
   recorded as lost.
2. The engine decides on the replicas' shared metrics with the serving replicas as the current
   count — the same :func:`ebaydash.services.recommendation` (with ``act=True``) that ``ebaydash
   recommend`` uses, so the decision is *claimed* in the shared scaling state: the cooldown and the
   scale-down stabilisation window are the ones every replica and cron job sees, and the claim is
   written to ``scaling_actions``.
3. A scale-up starts replicas in spare slots and enables them through HAProxy's runtime API; a
   scale-down drains replicas (HAProxy ``drain``: no new sessions, cookie holders still reach them),
   waits for their sessions to end or the drain timeout, then stops them and parks their slots.
   Each replica started, stopped or lost is recorded in ``scaling_actions`` too, so the scaling
   page shows every step.

The count never leaves ``[EBAYDASH_MIN_REPLICAS, EBAYDASH_MAX_REPLICAS]``: the engine clamps its
decision, and the result is clamped again here before anything is started or stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ebaydash import services
from ebaydash.cluster.errors import ClusterError
from ebaydash.cluster.supervisor import Cluster
from ebaydash.context import Context, build_context
from ebaydash.db import queries
from ebaydash.errors import DatabaseError
from ebaydash.formatting import plural
from ebaydash.monitor import scaling
from ebaydash.monitor.state import replica_id
from ebaydash.settings import Settings

log = logging.getLogger(__name__)

SCOPE = "default"  # the scaling state's scope, as ScalingStateStore uses it


@dataclass(frozen=True)
class Step:
    """What one tick decided and did. Replica counts are serving replicas."""

    decision: scaling.Decision
    before: int
    after: int
    started: tuple[str, ...] = ()
    stopped: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        d = self.decision
        serving = plural(self.after, "serving replica")  # "2 → 1 serving replica"
        parts = [f"{d.label}: {self.before} → {serving} ({d.rule.replace('_', ' ')})"]
        for label, names in (("lost", self.lost), ("started", self.started), ("stopped", self.stopped)):
            if names:
                parts.append(f"{label} {', '.join(names)}")
        parts.extend(self.problems)
        return "; ".join(parts) + f". {d.reason}"


class Autoscaler:
    def __init__(
        self,
        cluster: Cluster,
        settings: Settings,
        *,
        drain_timeout_s: float = 120.0,
        context_factory: Callable[[Settings], Context] | None = None,
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self.drain_timeout_s = drain_timeout_s
        self.actor = f"autoscale {replica_id()}"
        factory = context_factory or (lambda s: build_context(s, start_sampler=False))
        self.ctx = factory(settings)
        self.policy = scaling.Policy.from_settings(settings)

    def close(self) -> None:
        self.ctx.close()

    # -- one tick ------------------------------------------------------------------------------

    def tick(self) -> Step:
        lost = self._reap()
        serving = self.cluster.serving()
        before = len(serving)
        # the autoscaler knows what it runs; the shared metrics may still hold replicas it
        # stopped in the last seconds
        decision = services.recommendation(
            self.ctx, services.Viewer.operator("autoscaler"), act=True, replicas=max(before, 1)
        )
        target = min(max(decision.desired_replicas, self.policy.min_replicas), self.policy.max_replicas)
        started: list[str] = []
        stopped: list[str] = []
        problems: list[str] = []
        count = before
        if decision.action == "scale_up":
            while count < target:
                begun = time.monotonic()
                try:
                    replica = self.cluster.add_replica()
                except ClusterError as exc:
                    problems.append(f"could not start a replica: {exc}")
                    self._record("start_failed", count, count, str(exc))
                    break
                count += 1
                started.append(replica.name)
                self._record(
                    "replica_started",
                    count - 1,
                    count,
                    f"Started {replica.name} at {replica.url} and put it into HAProxy's rotation in "
                    f"{time.monotonic() - begun:,.1f} s ({decision.label.lower()} {before} → {target}).",
                )
        elif decision.action == "scale_down":
            while count > target and count > 1:
                try:
                    name = self.cluster.pick_for_removal()
                    result = self.cluster.drain(name, timeout_s=self.drain_timeout_s)
                except ClusterError as exc:
                    problems.append(f"could not drain a replica: {exc}")
                    break
                count -= 1
                stopped.append(name)
                left = plural(result.sessions_left, "session")
                ended = (
                    "after its sessions ended"
                    if result.sessions_left == 0
                    else f"with {left} still open at the drain timeout "
                    f"({self.drain_timeout_s:g} s); they reconnect to the other replicas"
                )
                self._record(
                    "replica_stopped",
                    count + 1,
                    count,
                    f"Drained {name} for {result.waited_s:,.1f} s and stopped it {ended} "
                    f"({decision.label.lower()} {before} → {target}).",
                )
        return Step(decision, before, count, tuple(started), tuple(stopped), tuple(lost), tuple(problems))

    def _reap(self) -> list[str]:
        """Take replicas whose process died out of HAProxy and the state; record each."""
        lost = []
        for name, replica in sorted(self.cluster.replicas.items()):
            if replica.proc.alive():
                continue
            before = len(self.cluster.replicas)
            try:
                self.cluster.remove_replica(name)
            except ClusterError as exc:
                log.warning("could not park the slot of lost replica %s: %s", name, exc)
                continue
            lost.append(name)
            self._record(
                "replica_lost",
                before,
                before - 1,
                f"{name} (pid {replica.pid}) was no longer running; its slot is parked and its "
                "sessions reconnected to the other replicas.",
            )
        return lost

    def _record(self, action: str, before: int, after: int, reason: str) -> None:
        values = {
            "at": time.time(),
            "action": action,
            "from_replicas": before,
            "to_replicas": after,
            "rule": "autoscale",
            "reason": reason,
            "actor": self.actor,
        }
        try:
            queries.scaling_action_insert(self.ctx.db, SCOPE, values)
        except DatabaseError as exc:  # the cluster changed all the same: say so, do not stop
            log.warning("could not record %s in scaling_actions: %s", action, exc)

    # -- the loop ------------------------------------------------------------------------------

    def run(
        self,
        *,
        interval_s: float,
        stop: threading.Event,
        report: Callable[[Step], None] = lambda step: None,
    ) -> None:
        """Tick every ``interval_s`` until ``stop`` is set. A failing tick is reported and the
        loop goes on (a Redis or database hiccup must not stop the autoscaler)."""
        while not stop.is_set():
            begun = time.monotonic()
            try:
                step = self.tick()
            except ClusterError:
                raise
            except Exception:
                log.exception("autoscale tick failed; trying again in %g s", interval_s)
            else:
                # outside the retry: output whose reader has gone (``| head``) ends the loop
                report(step)
            stop.wait(max(0.0, interval_s - (time.monotonic() - begun)))
