"""The cache's own state, for the performance page: level sizes, breaker state, last error."""

from __future__ import annotations

from ebaydash.cache.status import CacheStatus
from ebaydash.context import Context


def cache_status(ctx: Context) -> CacheStatus:
    return ctx.cache.status()
