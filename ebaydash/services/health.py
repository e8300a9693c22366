"""The health panel: database round trip and pool, Redis, and the cache's circuit breaker; and,
for any page, whether the database could be used when this process last tried."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext

from ebaydash.context import Context
from ebaydash.db.engine import Database, classify_error
from ebaydash.errors import DatabaseError, DatabaseUnavailable, LoginRefused
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


@dataclass(frozen=True)
class DatabaseOutage:
    """The database could not be used when this process last tried, and nothing has worked since.

    ``error`` is what the last try met (its message names the cause, as the other pages' banner
    does); ``since`` is when the first failed try after the last statement that ran was made
    (epoch seconds), or None when this process has never reached the database."""

    error: DatabaseError
    since: float | None


# no statement can run at all: a page showing figures must have them from the cache
_CANNOT_USE = (DatabaseUnavailable, LoginRefused)


class DatabaseReach:
    """What this process's own statements meet, noted from the engine's events: a connection-level
    failure opens an outage, any statement that completes ends it.

    The cache reads the data versions from the database at most once a second (every two while
    that fails) whenever a page looks something up, so this stays current without a round trip
    of its own; a health check per page view would wait out the connect timeout of a server that
    hangs. A context part (:meth:`Context.part`): one per process, its listeners removed on close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outage: DatabaseOutage | None = None
        self._reached = False
        self._db: Database | None = None

    def watch(self, db: Database) -> None:
        """Listen to ``db``'s engine (the primary; a read replica's failures are the replica's)."""
        with self._lock:
            if self._db is not None:
                return
            self._db = db
        event.listen(db.engine, "handle_error", self._failed)
        event.listen(db.engine, "after_cursor_execute", self._answered)

    def outage(self) -> DatabaseOutage | None:
        return self._outage

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            event.remove(db.engine, "handle_error", self._failed)
            event.remove(db.engine, "after_cursor_execute", self._answered)

    def _failed(self, context: ExceptionContext) -> None:
        db = self._db
        error = context.sqlalchemy_exception
        if db is None or not isinstance(error, sa_exc.DBAPIError):
            return
        found = classify_error(error, db.engine, timeout_ms=db.timeout_ms)
        if not isinstance(found, _CANNOT_USE):
            return  # a slow query, a refused write: the database itself answers
        with self._lock:
            # an outage goes on from its first failed try; before any success its start is unknown
            started = time.time() if self._reached else None
            self._outage = DatabaseOutage(found, started if self._outage is None else self._outage.since)

    def _answered(self, *_: Any) -> None:
        # every statement passes here: the lock only when something changes
        if not self._reached or self._outage is not None:
            with self._lock:
                self._reached = True
                self._outage = None


def watch_database(ctx: Context) -> None:
    """Start noting whether ``ctx``'s database can be used (once per context; more calls do
    nothing). Until then :func:`database_outage` knows of no outage."""
    ctx.part(DatabaseReach).watch(ctx.db)


def database_outage(ctx: Context) -> DatabaseOutage | None:
    """The outage this process's statements are meeting now, or None (the last one that ran
    worked, or nothing was tried since :func:`watch_database`). Costs no round trip."""
    return ctx.part(DatabaseReach).outage()
