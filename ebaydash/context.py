"""The process-wide objects every service call needs, built once from :class:`Settings`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.tiered import TieredCache
from ebaydash.db.engine import Database, make_engine
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSampler
from ebaydash.settings import Settings


@dataclass
class Context:
    settings: Settings
    db: Database
    cache: TieredCache
    recorder: MetricsRecorder
    sampler: ResourceSampler

    def close(self) -> None:
        self.sampler.stop()
        self.db.dispose()


def build_context(settings: Settings, *, start_sampler: bool = True) -> Context:
    logging.basicConfig(level=settings.log_level)
    recorder = MetricsRecorder()
    db = Database(make_engine(settings), timeout_ms=settings.statement_timeout_ms, observer=recorder)
    cache = TieredCache(
        MemoryBackend(max_entries=settings.l1_max_entries, max_bytes=settings.l1_max_bytes),
        None,
        default_ttl=settings.cache_ttl_s,
        l1_ttl=settings.cache_ttl_s if settings.redis_url is None else settings.l1_ttl_s,
        observer=recorder,
    )
    sampler = ResourceSampler(interval_s=settings.resource_interval_s)
    if start_sampler:
        sampler.start()
    return Context(settings=settings, db=db, cache=cache, recorder=recorder, sampler=sampler)
