"""The one gateway to the database: engine construction, time limits, error translation, health.

Every statement the app runs goes through :class:`Database`, which
- gives it a time limit (``statement_timeout`` on Postgres, a progress handler on SQLite), and on
  Postgres a client-side deadline of that limit + 1 s (:mod:`ebaydash.db.watchdog`), so a frozen
  server or a lost network never holds a caller,
- turns driver errors into the :mod:`ebaydash.errors` exception naming the cause
  (:mod:`ebaydash.db.faults`): unreachable, unresponsive, login refused, timeout, schema missing,
  permission denied, read-only, disk full,
- reports its duration and row count to the metrics recorder,
- on Postgres, hands the caller's account scope (:mod:`ebaydash.db.scope`) to the row-level
  security policies at the start of each transaction, with ``set_config(..., true)``,
- sends reads marked ``replica_ok`` to the read replica while it is healthy and close enough
  behind (:mod:`ebaydash.db.replica`), and to the primary otherwise, without an error to the caller.

Postgres connections also get libpq's client-side limits (:data:`PG_CLIENT_LIMITS`): a connect
timeout, TCP keepalives and ``tcp_user_timeout``, so new and idle connections to a dead or
unreachable server fail within seconds too.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, Row, make_url
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable

from ebaydash.db import faults, scope, security, watchdog
from ebaydash.db.replica import ReadReplica
from ebaydash.db.watchdog import Deadline
from ebaydash.errors import RAISED_TOO, DatabaseError, DatabaseUnavailable, QueryTimeout
from ebaydash.settings import Settings

log = logging.getLogger(__name__)

SERVER_TIMEOUT_OPTION = "ebaydash_statement_timeout_ms"

#: libpq's client-side limits for every Postgres connection (a value in the URL's query wins).
#: connect_timeout: seconds to establish a connection (libpq's minimum is 2). keepalives_*: an idle
#: pooled connection to a vanished server is found dead after about 10 + 3 x 5 s instead of the
#: kernel's two hours. tcp_user_timeout (ms): data unacknowledged this long (a network black hole)
#: breaks the connection. A *frozen* server's kernel still acknowledges, so statements in flight
#: are bounded by the watchdog instead.
PG_CLIENT_LIMITS: dict[str, int] = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


class QueryObserver(Protocol):
    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None: ...


def make_engine(settings: Settings, url: str | None = None, *, all_accounts: bool | None = None) -> Engine:
    """An engine for ``url`` (default ``settings.database_url``) with pool limits and a default
    time limit; on Postgres also libpq's client-side limits and the statement watchdog.

    ``all_accounts``: the row-level security default of every connection on Postgres, the value
    ``ebaydash.all_accounts`` has outside a transaction that sets its own scope. Default: on unless
    ``settings.row_security``, so without an app role every transaction sees every account, as
    before, at no cost per transaction. (A connection-wide default, the same for every user of the
    pool, so it carries no one's accounts to anyone; a scope is only ever set per transaction.)"""
    return _make_engine(settings, make_url(url or settings.database_url), all_accounts)


def _make_engine(settings: Settings, url: URL, all_accounts: bool | None) -> Engine:
    if all_accounts is None:
        all_accounts = not settings.row_security
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
    # a limit given in the URL's query (?connect_timeout=10) is the operator's choice: keep it
    client_limits = {k: v for k, v in PG_CLIENT_LIMITS.items() if k not in url.query}
    engine = create_engine(
        url,
        # read back by Database: the limit every pooled connection already has
        execution_options={SERVER_TIMEOUT_OPTION: settings.statement_timeout_ms},
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        pool_recycle=1800,
        connect_args={
            **client_limits,
            # JIT compilation costs ~1 s on a cold aggregate and never pays back for
            # dashboard-sized queries. psycopg prepares a statement run 5 times, and Postgres then
            # may settle on a generic plan, one for every account and window: accounts differ by
            # orders of magnitude, and the rollup KPIs ran 7.0 ms generic vs 5.2 ms custom at 1M
            # orders (bench speed_sql), so each run is planned for its own values.
            "options": f"-c statement_timeout={settings.statement_timeout_ms} -c jit=off "
            "-c plan_cache_mode=force_custom_plan "
            f"-c {security.ALL_SETTING}={'on' if all_accounts else 'off'}",
            "application_name": "ebaydash",
        },
    )
    watchdog.install(engine, default_limit_s=settings.statement_timeout_ms / 1000)
    return engine


def _sqlite_local_date(timestamp: str | None, tz: str) -> str | None:
    """SQLite has no time zone rules; trends need the local calendar day of a UTC timestamp."""
    if timestamp is None:
        return None
    instant = datetime.fromisoformat(timestamp).replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(tz)).date().isoformat()


#: How long a new SQLite connection retries setting WAL mode while another connection holds the
#: lock it needs.
SQLITE_WAL_WAIT_S = 10.0


def _set_wal(cursor: sqlite3.Cursor) -> None:
    # SQLite answers "database is locked" to this pragma at once, without its busy wait, while
    # another connection writes: seen when threads open a new database as the first of them
    # migrates it (CI, 1 run in ~10 of test_threads_of_one_process_migrate_once)
    deadline = time.monotonic() + SQLITE_WAL_WAIT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.create_function("ebaydash_local_date", 2, _sqlite_local_date, deterministic=True)
    cursor = dbapi_connection.cursor()
    _set_wal(cursor)  # readers do not block the importer, nor it them
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
    """Runs statements with a time limit and readable errors. Thread-safe; share one per process.

    ``prepare``, when given, runs once before the first statement (and again on the next call
    while it fails): :func:`ebaydash.context.open_database` uses it to bring the schema to the
    current revision, so every caller finds its tables, whichever call comes first.

    ``replica``: a read replica for reads marked ``replica_ok``. ``row_security``: the app runs
    under Postgres row-level security (``EBAYDASH_DATABASE_APP_ROLE``): a transaction outside any
    :mod:`~ebaydash.db.scope` sees no account's rows, and :func:`~ebaydash.db.scope.all_accounts`
    must be asked for explicitly.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        timeout_ms: int,
        observer: QueryObserver | None = None,
        prepare: Callable[[Database], None] | None = None,
        replica: ReadReplica | None = None,
        row_security: bool = False,
    ) -> None:
        self.engine = engine
        self.timeout_ms = timeout_ms
        self.observer = observer
        self.replica = replica
        self.row_security = row_security
        self._warned_unscoped = False
        self._prepare = prepare
        self._prepared = prepare is None
        self._prepare_lock = threading.Lock()

    def ensure_ready(self) -> None:
        """Run ``prepare`` if it has not succeeded yet (once per process; other threads wait).
        Raises what it raises, e.g. a :class:`~ebaydash.errors.SchemaError`."""
        if self._prepared:
            return
        with self._prepare_lock:
            if self._prepared:
                return
            assert self._prepare is not None
            self._prepare(self)
            self._prepared = True

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
        with self._limited(self.engine.connect, timeout_ms) as conn:
            yield conn

    def fetch_all(
        self,
        name: str,
        statement: Executable,
        *,
        timeout_ms: int | None = None,
        replica_ok: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> Sequence[Row[Any]]:
        """Run one statement and return its rows; ``name`` labels it in the metrics. ``params``
        fills the statement's named ``bindparam``s (for statements built once and reused).

        ``replica_ok``: the statement only reads, and a result up to
        ``EBAYDASH_READ_REPLICA_MAX_LAG_S`` behind is good enough (the dashboard's figures and
        listings): it goes to the read replica when there is a healthy one, else to the primary."""
        started = time.perf_counter()
        ok = False
        rows: Sequence[Row[Any]] = ()
        try:
            if replica_ok and self.replica is not None:
                rows = self._read_routed(self.replica, statement, timeout_ms, params)
            else:
                rows = self._read_retrying(statement, timeout_ms, params)
            ok = True
            return rows
        finally:
            self._observe(name, started, ok, len(rows))

    def _read_routed(
        self,
        replica: ReadReplica,
        statement: Executable,
        timeout_ms: int | None,
        params: Mapping[str, Any] | None,
    ) -> Sequence[Row[Any]]:
        self.ensure_ready()  # the primary's schema first: the standby replays it
        standby = replica.standby
        assert isinstance(standby, Database)
        if replica.use_standby(self):
            try:
                return standby._read_retrying(statement, timeout_ms, params)
            except QueryTimeout:
                raise  # the statement is slow, not the standby: the primary would be no faster
            except DatabaseError as exc:
                replica.failed(exc)
            except sa_exc.DBAPIError as exc:
                if _sqlstate(exc) != RECOVERY_CONFLICT:
                    raise
                # WAL replay needed what this read held (a lock, old row versions): the standby
                # cancelled it. Not the caller's fault; the primary answers.
                replica.failed(DatabaseUnavailable("a read was cancelled by a conflict with recovery"))
        return self._read_retrying(statement, timeout_ms, params)

    def _read_retrying(
        self, statement: Executable, timeout_ms: int | None, params: Mapping[str, Any] | None
    ) -> Sequence[Row[Any]]:
        try:
            return self._read(statement, timeout_ms, params)
        except ConnectionLost:
            # A pooled connection died (database restarted, idle connection cut). The pool
            # has dropped it; a read is safe to repeat once on a fresh connection. This
            # replaces pre-ping, which would cost a round trip on every checkout.
            return self._read(statement, timeout_ms, params)

    def _read(
        self, statement: Executable, timeout_ms: int | None, params: Mapping[str, Any] | None
    ) -> Sequence[Row[Any]]:
        limit = timeout_ms or self.timeout_ms
        if self.is_sqlite or limit != self._server_timeout_ms or self._scope_values() is not None:
            with self.connect(timeout_ms=timeout_ms) as conn:
                return conn.execute(statement, params).all()
        # One statement needs no transaction: in autocommit the driver sends no BEGIN and the
        # pool no ROLLBACK on return, ~0.15 ms less per read on loopback. (A non-default time
        # limit needs SET LOCAL, and an account scope set_config(..., true), hence a transaction,
        # and takes the path above.)
        self.ensure_ready()
        deadline = Deadline(limit / 1000)
        with self._translate_errors(limit, deadline), self.engine.connect() as conn:
            conn.info[watchdog.INFO_KEY] = deadline
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            return auto.execute(statement, params).all()

    @property
    def _server_timeout_ms(self) -> int | None:
        value = self.engine.get_execution_options().get(SERVER_TIMEOUT_OPTION)
        return int(value) if value is not None else None

    def fetch_one(
        self,
        name: str,
        statement: Executable,
        *,
        timeout_ms: int | None = None,
        replica_ok: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> Row[Any] | None:
        rows = self.fetch_all(name, statement, timeout_ms=timeout_ms, replica_ok=replica_ok, params=params)
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
                batches = result.partitions()
                while True:
                    # each batch is a driver call (FETCH) of its own, outside execute's deadline
                    with watchdog.watched(conn):
                        batch = next(batches, None)
                    if batch is None:
                        break
                    for row in batch:
                        count += 1
                        yield row
            ok = True
        finally:
            self._observe(name, started, ok, count)

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, timeout_ms: int | None = None) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._limited(self.engine.begin, timeout_ms) as conn:
            yield conn
        if self.replica is not None:
            self.replica.wrote()  # reads wait until the standby has replayed this commit

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
        if self.replica is not None and isinstance(self.replica.standby, Database):
            self.replica.standby.dispose()

    # -- internals -----------------------------------------------------------------------------

    @contextmanager
    def _limited(
        self, opening: Callable[[], AbstractContextManager[Connection]], timeout_ms: int | None
    ) -> Iterator[Connection]:
        """A connection from ``opening`` (the engine's ``connect`` or ``begin``) under the time
        limit and the account scope, its driver errors translated."""
        self.ensure_ready()
        limit = timeout_ms or self.timeout_ms
        deadline = Deadline(limit / 1000)
        with (
            self._translate_errors(limit, deadline),
            opening() as conn,
            self._time_limit(conn, limit, deadline),
        ):
            self._apply_scope(conn)
            yield conn

    def _scope_values(self) -> tuple[str, str] | None:
        """The row-level security settings this transaction must set, or None when the
        connection's default is already right: outside any scope, and always when row-level
        security is off (or on SQLite, which has no such thing)."""
        if self.is_sqlite or not self.row_security:
            # Without an app role (row-level security off) every connection of the engine already
            # defaults to every account and each statement names its account itself: a scope
            # would add a transaction (BEGIN, set_config, ROLLBACK: ~2 ms, 40 % of the KPIs'
            # statement at 1M orders) to every read and protect nothing the grant checks do not.
            return None
        current = scope.current()
        if current is None:
            # the connection's default allows nothing
            if not self._warned_unscoped:
                self._warned_unscoped = True  # once per process: a path that forgot its scope
                log.warning(
                    "a statement ran outside any account scope under row-level security: it sees no "
                    "account's rows (wrap the work in ebaydash.db.scope.allowed_accounts(...) or "
                    "all_accounts())",
                    stack_info=True,
                )
            return None
        return current.setting_values

    def _apply_scope(self, conn: Connection) -> None:
        values = self._scope_values()
        if values is None:
            return
        ids, every = values
        # is_local=true: the value ends with this transaction, so the pooled connection goes
        # back with the engine's default, never with this caller's accounts
        conn.execute(
            text(
                f"SELECT set_config('{security.ALLOWED_SETTING}', :ids, true), "
                f"set_config('{security.ALL_SETTING}', :every, true)"
            ),
            {"ids": ids, "every": every},
        )

    def _observe(self, name: str, started: float, ok: bool, rows: int) -> None:
        if self.observer is not None:
            self.observer.record("query", name, time.perf_counter() - started, ok=ok, rows=rows)

    @contextmanager
    def _time_limit(self, conn: Connection, timeout_ms: int, deadline: Deadline) -> Iterator[None]:
        if self.is_sqlite:
            raw = conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            limit_at = time.monotonic() + timeout_ms / 1000
            # SQLite has no statement timeout: the progress handler aborts the statement instead.
            raw.set_progress_handler(_deadline_check(limit_at), 10_000)
            try:
                yield
            finally:
                raw.set_progress_handler(None, 0)
        else:
            # every driver call on this connection, until it is back in the pool, gets the
            # watchdog's deadline of this limit + the margin (the commit and the reset included)
            conn.info[watchdog.INFO_KEY] = deadline
            if timeout_ms != self._server_timeout_ms:
                # SET LOCAL lasts until the end of this transaction, so the pool's default stays.
                conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
            yield

    @contextmanager
    def _translate_errors(self, timeout_ms: int, deadline: Deadline) -> Iterator[None]:
        try:
            yield
        except sa_exc.DBAPIError as exc:
            translated = faults.classify(
                exc, url=self.engine.url, timeout_ms=timeout_ms, unresponsive=deadline.fired
            )
            if translated is None:  # not the database's fault (a key violated, bad data)
                raise
            log.warning("%s: %s", type(translated).__name__, translated, extra=RAISED_TOO)
            if exc.connection_invalidated and type(translated) is DatabaseUnavailable:
                raise ConnectionLost(str(translated)) from exc
            raise translated from exc
        except sa_exc.TimeoutError as exc:
            log.warning("DatabaseUnavailable: no free connection in the pool", extra=RAISED_TOO)
            raise DatabaseUnavailable(
                "The database is too busy right now (no free connection). Please try again shortly."
            ) from exc


#: SQLSTATE of a statement the standby cancelled for WAL replay ("conflict with recovery")
RECOVERY_CONFLICT = "40001"


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


class ConnectionLost(DatabaseUnavailable):
    """An established connection broke; the pool has discarded it, so one retry may succeed."""


def _deadline_check(deadline: float) -> Callable[[], int]:
    def check() -> int:
        return 1 if time.monotonic() > deadline else 0

    return check


def classify_error(exc: sa_exc.DBAPIError, engine: Engine, *, timeout_ms: int) -> DatabaseError | None:
    """The :mod:`ebaydash.errors` exception for a driver error on ``engine`` (for code that uses
    the engine directly, as migrations do); None when it is not the database's fault."""
    return faults.classify(exc, url=engine.url, timeout_ms=timeout_ms)
