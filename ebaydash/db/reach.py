"""Whether this process can use its database now, noted from the engine's own events (no round
trip): :class:`DatabaseReach`, one per process through the context (``services.health`` starts
and reads it)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext

from ebaydash.db.engine import Database, classify_error
from ebaydash.errors import DatabaseError, DatabaseUnavailable, LoginRefused

__all__ = ["DatabaseOutage", "DatabaseReach"]


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
