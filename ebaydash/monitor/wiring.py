"""Builds the monitor's per-process objects from :class:`Settings` (called by ``build_context``)."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.engine import Engine

from ebaydash.monitor import statements
from ebaydash.monitor.alerts import AlertMonitor, Limits
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSample, ResourceSampler
from ebaydash.monitor.shared import SharedMetrics
from ebaydash.monitor.state import replica_id
from ebaydash.settings import Settings

log = logging.getLogger(__name__)


def build_recorder(settings: Settings) -> MetricsRecorder:
    """The recorder; shared through Redis when ``EBAYDASH_REDIS_URL`` is set."""
    shared = None
    if settings.redis_url:
        shared = SharedMetrics.connect(
            settings.redis_url,
            timeout_ms=settings.redis_timeout_ms,
            prefix=settings.metrics_prefix,
            breaker_reset_s=settings.breaker_reset_s,
        )
    return MetricsRecorder(shared=shared, slow_query_ms=settings.slow_query_ms)


def build_sampler(settings: Settings, recorder: MetricsRecorder) -> tuple[ResourceSampler, AlertMonitor]:
    """The resource sampler, with alert checks and (when shared) publishing to the other replicas."""
    sampler = ResourceSampler(interval_s=settings.resource_interval_s)
    alerts = AlertMonitor(recorder, Limits.from_settings(settings))
    sampler.subscribe(alerts.on_sample)
    shared = recorder.shared
    if shared is not None:
        me = replica_id()

        def publish(sample: ResourceSample) -> None:
            shared.publish_sample(me, dataclasses.asdict(sample))

        sampler.subscribe(publish)
    return sampler, alerts


def watch_statements(engine: Engine, recorder: MetricsRecorder) -> None:
    """Time every SQL statement ``engine`` runs (slow ones by shape)."""
    statements.watch(engine, recorder, slow_query_ms=recorder.slow_query_ms)
