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
from ebaydash.redis_connection import RedisConnection
from ebaydash.settings import Settings

log = logging.getLogger(__name__)


def build_recorder(settings: Settings, redis: RedisConnection | None = None) -> MetricsRecorder:
    """The recorder; shared through ``redis`` (the process's connection) when there is one."""
    shared = None if redis is None else SharedMetrics(redis, prefix=settings.metrics_prefix)
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
