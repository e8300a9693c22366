"""Manager-facing services: metrics, resources, health and the scaling recommendation."""

from __future__ import annotations

import time

from ebaydash.context import Context
from ebaydash.db.engine import Health
from ebaydash.monitor import scaling
from ebaydash.monitor.metrics import Snapshot
from ebaydash.monitor.resources import ResourceSample


def performance(ctx: Context, window_s: float = 300.0) -> Snapshot:
    return ctx.recorder.snapshot(window_s)


def resource_history(ctx: Context) -> list[ResourceSample]:
    if not ctx.sampler.history():
        ctx.sampler.sample()
    return ctx.sampler.history()


def database_health(ctx: Context) -> Health:
    return ctx.db.health()


def recommendation(ctx: Context, state: scaling.State | None = None) -> scaling.Decision:
    """The scaling decision for the current metrics, from the shared rules engine."""
    snapshot = ctx.recorder.snapshot(300.0)
    sample = ctx.sampler.latest() or ctx.sampler.sample()
    busiest = snapshot.pages if snapshot.pages.count else snapshot.services
    observed = scaling.Observed(
        replicas=ctx.settings.replicas,
        avg_response_ms=busiest.mean_ms if busiest.count else None,
        throughput_per_min=busiest.per_minute if busiest.count else None,
        memory_fraction=sample.system_memory_percent / 100,
    )
    return scaling.evaluate(
        observed, scaling.Policy.from_settings(ctx.settings), state or scaling.State(), time.time()
    )
