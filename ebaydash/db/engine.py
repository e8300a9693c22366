"""The one gateway to the database: engine construction, time limits, error translation, health.

Every statement the app runs goes through :class:`Database`, which
- gives it a time limit (``statement_timeout`` on Postgres, a progress handler on SQLite),
- turns driver errors into :class:`~ebaydash.errors.DatabaseUnavailable` or
  :class:`~ebaydash.errors.QueryTimeout` with a message a user can read,
- reports its duration and row count to the metrics recorder.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable

from ebaydash.errors import DatabaseError, DatabaseUnavailable, QueryTimeout
from ebaydash.settings import Settings

log = logging.getLogger(__name__)

SERVER_TIMEOUT_OPTION = "ebaydash_statement_timeout_ms"


class QueryObserver(Protocol):
    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None: ...


def make_engine(settings: Settings) -> Engine:
    """An engine for ``settings.database_url`` with pool limits, pre-ping and a default time limit."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout_s,
            connect_args={"check_same_thread": False, "timeout": settings.pool_timeout_s},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(
        url,
        # read back by Database: the limit every pooled connection already has
        execution_options={SERVER_TIMEOUT_OPTION: settings.statement_timeout_ms},
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": 3,
            # JIT compilation costs ~1 s on a cold aggregate and never pays back for
            # dashboard-sized queries
            "options": f"-c statement_timeout={settings.statement_timeout_ms} -c jit=off",
            "application_name": "ebaydash",
        },
    )


def _sqlite_local_date(timestamp: str | None, tz: str) -> str | None:
    """SQLite has no time zone rules; trends need the local calendar day of a UTC timestamp."""
    if timestamp is None:
        return None
    instant = datetime.fromisoformat(timestamp).replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(tz)).date().isoformat()


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.create_function("ebaydash_local_date", 2, _sqlite_local_date, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the importer, nor it them
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass(frozen=True)
class PoolStatus:
    size: int
    checked_out: int
    overflow: int
    max_overflow: int


@dataclass(frozen=True)
class Health:
    ok: bool
    backend: str
    round_trip_ms: float | None
    pool: PoolStatus | None
    message: str


class Database:
    """Runs statements with a time limit and readable errors. Thread-safe; share one per process."""

    def __init__(
        self,
        engine: Engine,
        *,
        timeout_ms: int,
        observer: QueryObserver | None = None,
    ) -> None:
        self.engine = engine
        self.timeout_ms = timeout_ms
        self.observer = observer

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    # -- reading -------------------------------------------------------------------------------

    @contextmanager
    def connect(self, *, timeout_ms: int | None = None) -> Iterator[Connection]:
        """A connection whose statements stop after ``timeout_ms`` (default: the setting)."""
        limit = timeout_ms or self.timeout_ms
        with (
            self._translate_errors(limit),
            self.engine.connect() as conn,
            self._time_limit(conn, limit),
        ):
            yield conn

    def fetch_all(
        self, name: str, statement: Executable, *, timeout_ms: int | None = None
    ) -> Sequence[Row[Any]]:
        """Run one statement and return its rows; ``name`` labels it in the metrics."""
        started = time.perf_counter()
        ok = False
        rows: Sequence[Row[Any]] = ()
        try:
            try:
                rows = self._read(statement, timeout_ms)
            except ConnectionLost:
                # A pooled connection died (database restarted, idle connection cut). The pool
                # has dropped it; a read is safe to repeat once on a fresh connection. This
                # replaces pre-ping, which would cost a round trip on every checkout.
                rows = self._read(statement, timeout_ms)
            ok = True
            return rows
        finally:
            self._observe(name, started, ok, len(rows))

    def _read(self, statement: Executable, timeout_ms: int | None) -> Sequence[Row[Any]]:
        limit = timeout_ms or self.timeout_ms
        if self.is_sqlite or limit != self._server_timeout_ms:
            with self.connect(timeout_ms=timeout_ms) as conn:
                return conn.execute(statement).all()
        # One statement needs no transaction: in autocommit the driver sends no BEGIN and the
        # pool no ROLLBACK on return, ~0.15 ms less per read on loopback. (A non-default time
        # limit needs SET LOCAL, hence a transaction, and takes the path above.)
        with self._translate_errors(limit), self.engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            return auto.execute(statement).all()

    @property
    def _server_timeout_ms(self) -> int | None:
        value = self.engine.get_execution_options().get(SERVER_TIMEOUT_OPTION)
        return int(value) if value is not None else None

    def fetch_one(
        self, name: str, statement: Executable, *, timeout_ms: int | None = None
    ) -> Row[Any] | None:
        rows = self.fetch_all(name, statement, timeout_ms=timeout_ms)
        return rows[0] if rows else None

    def stream(
        self, name: str, statement: Executable, *, batch_size: int = 1000, timeout_ms: int | None = None
    ) -> Iterator[Row[Any]]:
        """Yield rows with a server-side cursor, ``batch_size`` at a time, never the whole result."""
        started = time.perf_counter()
        ok = False
        count = 0
        try:
            with self.connect(timeout_ms=timeout_ms) as conn:
                result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(statement)
                for row in result:
                    count += 1
                    yield row
            ok = True
        finally:
            self._observe(name, started, ok, count)

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, timeout_ms: int | None = None) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        limit = timeout_ms or self.timeout_ms
        with (
            self._translate_errors(limit),
            self.engine.begin() as conn,
            self._time_limit(conn, limit),
        ):
            yield conn

    # -- health --------------------------------------------------------------------------------

    def health(self) -> Health:
        started = time.perf_counter()
        try:
            with self.connect(timeout_ms=2000) as conn:
                conn.execute(text("SELECT 1"))
        except DatabaseError as exc:
            return Health(False, self.backend, None, self.pool_status(), str(exc))
        elapsed = (time.perf_counter() - started) * 1000
        return Health(True, self.backend, elapsed, self.pool_status(), "reachable")

    def pool_status(self) -> PoolStatus | None:
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return None
        return PoolStatus(
            size=pool.size(),
            checked_out=pool.checkedout(),
            overflow=max(pool.overflow(), 0),
            max_overflow=pool._max_overflow,
        )

    def dispose(self) -> None:
        self.engine.dispose()

    # -- internals -----------------------------------------------------------------------------

    def _observe(self, name: str, started: float, ok: bool, rows: int) -> None:
        if self.observer is not None:
            self.observer.record("query", name, time.perf_counter() - started, ok=ok, rows=rows)

    @contextmanager
    def _time_limit(self, conn: Connection, timeout_ms: int) -> Iterator[None]:
        if self.is_sqlite:
            raw = conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            deadline = time.monotonic() + timeout_ms / 1000
            # SQLite has no statement timeout: the progress handler aborts the statement instead.
            raw.set_progress_handler(_deadline_check(deadline), 10_000)
            try:
                yield
            finally:
                raw.set_progress_handler(None, 0)
        else:
            if timeout_ms != self._server_timeout_ms:
                # SET LOCAL lasts until the end of this transaction, so the pool's default stays.
                conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
            yield

    @contextmanager
    def _translate_errors(self, timeout_ms: int) -> Iterator[None]:
        try:
            yield
        except sa_exc.OperationalError as exc:
            translated = _translate(exc, timeout_ms)
            if exc.connection_invalidated and not isinstance(translated, QueryTimeout):
                raise ConnectionLost(str(translated)) from exc
            raise translated from exc
        except sa_exc.TimeoutError as exc:
            raise DatabaseUnavailable(
                "The database is too busy right now (no free connection). Please try again shortly."
            ) from exc
        except sa_exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise ConnectionLost("The connection to the database was lost. Please try again.") from exc
            raise


class ConnectionLost(DatabaseUnavailable):
    """An established connection broke; the pool has discarded it, so one retry may succeed."""


def _deadline_check(deadline: float) -> Callable[[], int]:
    def check() -> int:
        return 1 if time.monotonic() > deadline else 0

    return check


def _translate(exc: sa_exc.OperationalError, timeout_ms: int) -> DatabaseError:
    original = exc.orig
    message = str(original).lower()
    is_timeout = (
        "interrupted" in message
        or "statement timeout" in message
        or (type(original).__name__ == "QueryCanceled")
    )
    if is_timeout:
        return QueryTimeout(
            f"This query took longer than its {timeout_ms / 1000:g} s limit and was stopped. "
            "Try a shorter date range or a narrower filter."
        )
    log.warning("database unavailable: %s", original)
    return DatabaseUnavailable(
        "The database cannot be reached right now. The dashboard will recover by itself "
        "once it is back; please try again in a moment."
    )
