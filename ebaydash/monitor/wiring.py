"""Builds the monitor's per-process objects from :class:`Settings` (called by ``build_context``)."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.engine import Engine

from ebaydash.monitor import statements
from ebaydash.monitor.alerts import AlertMonitor, Limits
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSample, ResourceSampler
from ebaydash.monitor.shared import REPLICA_NAME_FIELD, SharedMetrics
from ebaydash.monitor.state import replica_id
from ebaydash.redis_connection import RedisConnection
from ebaydash.settings import Settings

log = logging.getLogger(__name__)


def build_recorder(settings: Settings, redis: RedisConnection | None = None) -> MetricsRecorder:
    """The recorder; shared through ``redis`` (the process's connection) when there is one."""
    shared = None if redis is None else SharedMetrics(redis, prefix=settings.metrics_prefix)
    return MetricsRecorder(shared=shared, slow_query_ms=settings.slow_query_ms)


def build_sampler(settings: Settings, recorder: MetricsRecorder) -> tuple[ResourceSampler, AlertMonitor]:
    """The resource sampler, with alert checks and (when shared) publishing to the other replicas.

    Only a process serving the app publishes its samples: one whose sampler thread runs, which
    ``build_context`` starts for the app alone. One-shot commands (``recommend``, ``import``,
    ``seed``…) and ``autoscale`` build their context with ``start_sampler=False``; a sample they
    take (``recommend`` reads this machine's memory when no replica reports) stays theirs. The
    shared samples are what the scaling engine counts as the replicas running, so a command must
    not add itself. Each sample is published under :func:`replica_id` (``host:pid``) with
    ``EBAYDASH_REPLICA_NAME``.
    """
    sampler = ResourceSampler(interval_s=settings.resource_interval_s)
    alerts = AlertMonitor(recorder, Limits.from_settings(settings))
    sampler.subscribe(alerts.on_sample)
    shared = recorder.shared
    if shared is not None:
        me = replica_id()

        def publish(sample: ResourceSample) -> None:
            if not sampler.running:
                return
            shared.publish_sample(
                me, {**dataclasses.asdict(sample), REPLICA_NAME_FIELD: settings.replica_name}
            )

        sampler.subscribe(publish)
    return sampler, alerts


def watch_statements(engine: Engine, recorder: MetricsRecorder) -> None:
    """Time every SQL statement ``engine`` runs (slow ones by shape)."""
    statements.watch(engine, recorder, slow_query_ms=recorder.slow_query_ms)
