"""The health panel: database round trip and pool, Redis, and the cache's circuit breaker; and,
for any page, whether the database could be used when this process last tried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ebaydash.context import Context
from ebaydash.db.reach import DatabaseOutage as DatabaseOutage  # the pages name it from here
from ebaydash.db.reach import DatabaseReach
from ebaydash.redaction import redact
from ebaydash.services._access import for_managers
from ebaydash.viewer import Viewer

Status = Literal["ok", "degraded", "down", "off"]


@dataclass(frozen=True)
class HealthCheck:
    name: str
    status: Status
    detail: str

    def __post_init__(self) -> None:
        # details quote drivers' and Redis's own error texts, which may carry a URL
        object.__setattr__(self, "detail", redact(self.detail))


@for_managers
def health_checks(ctx: Context, viewer: Viewer) -> list[HealthCheck]:
    """Database round trip and pool, Redis, and the cache's circuit breaker, each with a status."""
    checks = []
    db = ctx.db.health()
    pool = db.pool
    pool_text = ""
    status: Status = "ok" if db.ok else "down"
    if pool is not None:
        limit = pool.size + pool.max_overflow
        pool_text = (
            f"; pool: {pool.checked_out} in use of {pool.size} (+{pool.overflow} of "
            f"{pool.max_overflow} overflow)"
        )
        if db.ok and pool.checked_out >= limit:
            status = "degraded"
            pool_text += " — every connection is busy"
    rt = f", round trip {db.round_trip_ms:,.1f} ms" if db.round_trip_ms is not None else ""
    checks.append(HealthCheck(f"Database ({db.backend})", status, f"{db.message}{rt}{pool_text}"))

    if ctx.redis is None:
        checks.append(HealthCheck("Redis", "off", "not configured: cache and metrics are per process"))
    else:
        ping = ctx.redis.ping()
        detail = f"{ping.message}, round trip {ping.round_trip_ms:,.1f} ms" if ping.ok else ping.message
        checks.append(HealthCheck("Redis", "ok" if ping.ok else "down", detail))

    replica = ctx.db.replica
    if replica is not None:
        state = replica.status()
        if state.skipped:
            checks.append(
                HealthCheck("Read replica", "degraded", f"{state.state}: the primary serves its reads")
            )
        else:
            lag = f", {state.lag_s:.1f} s behind" if state.lag_s is not None else ""
            checks.append(HealthCheck("Read replica", "ok", f"{state.state}{lag}"))
    checks.append(_cache_check(ctx))
    return checks


def _cache_check(ctx: Context) -> HealthCheck:
    status = ctx.cache.status()
    l1 = (
        f"in-process cache {status.l1_entries:,}/{status.l1_max_entries:,} entries, "
        f"{status.l1_bytes / 2**20:,.1f}/{status.l1_max_bytes / 2**20:,.0f} MiB"
    )
    if status.l2 is None:
        return HealthCheck("Cache", "off", f"no shared (L2) cache; {l1}")
    l2 = status.l2
    opened = f", opened {l2.times_opened}× since start" if l2.times_opened else ""
    if status.degraded:
        error = f" Last error: {l2.last_error}." if l2.last_error else ""
        return HealthCheck(
            "Cache", "degraded", f"breaker {l2.state}: figures come from the database{opened}.{error} {l1}"
        )
    return HealthCheck("Cache", "ok", f"breaker {l2.state}: the shared cache answers{opened}; {l1}")


# -- whether the database can be used, without asking it --------------------------------------


def watch_database(ctx: Context) -> None:
    """Start noting whether ``ctx``'s database can be used (once per context; more calls do
    nothing). Until then :func:`database_outage` knows of no outage."""
    ctx.part(DatabaseReach).watch(ctx.db)


def database_outage(ctx: Context) -> DatabaseOutage | None:
    """The outage this process's statements are meeting now, or None (the last one that ran
    worked, or nothing was tried since :func:`watch_database`). Costs no round trip."""
    return ctx.part(DatabaseReach).outage()
