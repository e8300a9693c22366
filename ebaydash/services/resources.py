"""The resources page: CPU and memory of this process, the machine and the other replicas, and the
alert lines."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ebaydash.context import Context
from ebaydash.monitor.alerts import Alert, AlertEvent
from ebaydash.monitor.resources import ResourceSample
from ebaydash.monitor.shared import SharedUnavailable
from ebaydash.monitor.state import replica_id
from ebaydash.services._access import for_managers
from ebaydash.viewer import Viewer


@for_managers
def resource_history(ctx: Context, viewer: Viewer) -> list[ResourceSample]:
    if not ctx.sampler.history():
        ctx.sampler.sample()
    return ctx.sampler.history()


@dataclass(frozen=True)
class ResourceReport:
    latest: ResourceSample
    history: pd.DataFrame  # time, CPU and memory of this process and the machine
    alerts: list[Alert]
    alert_log: list[AlertEvent]
    replicas: dict[str, dict[str, Any]]  # replica id -> its latest sample's fields (this one alone
    # when metrics are not shared)
    interval_s: float


@for_managers
def resource_report(ctx: Context, viewer: Viewer) -> ResourceReport:
    samples = resource_history(ctx, viewer)
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
        replicas=replica_samples(ctx) or {replica_id(): dataclasses.asdict(latest)},
        interval_s=ctx.sampler.interval_s,
    )


def replica_samples(ctx: Context) -> dict[str, dict[str, Any]] | None:
    """The latest resource sample of every replica that reported lately (a dict of
    :class:`~ebaydash.monitor.resources.ResourceSample`'s fields per replica id); ``None`` when
    metrics are not shared, or Redis does not answer (the pages then show this process alone)."""
    shared = ctx.recorder.shared
    if shared is None:
        return None
    try:
        return shared.replica_samples(max_age_s=max(3 * ctx.sampler.interval_s, 30.0))
    except SharedUnavailable:
        return None
