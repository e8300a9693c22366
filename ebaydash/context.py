"""The process-wide objects every service call needs, built once from :class:`Settings`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.tiered import TieredCache
from ebaydash.db.engine import Database, make_engine
from ebaydash.monitor.alerts import AlertMonitor
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSampler
from ebaydash.monitor.wiring import build_recorder, build_sampler, watch_statements
from ebaydash.settings import Settings


@dataclass
class Context:
    settings: Settings
    db: Database
    cache: TieredCache
    recorder: MetricsRecorder
    sampler: ResourceSampler
    alerts: AlertMonitor | None = None  # monitor: limits crossed, logged and shown

    def close(self) -> None:
        self.sampler.stop()
        self.recorder.stop()  # monitor: flush the last metrics to the shared store
        self.db.dispose()


def build_context(settings: Settings, *, start_sampler: bool = True) -> Context:
    logging.basicConfig(level=settings.log_level)
    recorder = build_recorder(settings)  # monitor: shared through Redis when configured
    db = Database(make_engine(settings), timeout_ms=settings.statement_timeout_ms, observer=recorder)
    watch_statements(db.engine, recorder)  # monitor: every SQL statement, slow ones by shape
    cache = TieredCache(
        MemoryBackend(max_entries=settings.l1_max_entries, max_bytes=settings.l1_max_bytes),
        None,
        default_ttl=settings.cache_ttl_s,
        l1_ttl=settings.cache_ttl_s if settings.redis_url is None else settings.l1_ttl_s,
        observer=recorder,
    )
    sampler, alerts = build_sampler(settings, recorder)  # monitor: sampler with alerts
    if start_sampler:
        sampler.start()
        recorder.start()  # monitor: background fold and flush
    return Context(settings=settings, db=db, cache=cache, recorder=recorder, sampler=sampler, alerts=alerts)
