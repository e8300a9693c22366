"""A client-side deadline around every Postgres driver call, so a frozen server never holds a page.

Postgres enforces ``statement_timeout`` itself, but only while it runs: a server that is frozen
(SIGSTOP, a stalled disk, a VM paused) or a network that drops packets never answers, and the
kernel keeps the TCP connection alive, so a socket read waits forever (measured: a page held 41 s,
a service call 45 s, before this module). libpq's ``connect_timeout`` and TCP keepalives cover new
and idle connections; this module covers the calls in flight.

Each driver call — a statement, a commit or rollback, the pool's reset on return, a fetch of a
streamed result — is *armed* with a deadline of its time limit plus :data:`MARGIN_S` before it
starts and *disarmed* when it ends. One :class:`Watchdog` thread per engine checks the armed calls
every :data:`POLL_S`; a call past its deadline gets its socket shut down (``shutdown(2)`` on a
duplicate of the descriptor: the waiting driver sees end-of-file at once and raises, the pool
discards the connection, and the descriptor itself is closed only by its owner). The
:class:`Deadline` of the call is marked, so :mod:`ebaydash.db.engine` reports
:class:`~ebaydash.errors.DatabaseUnresponsive` rather than a lost connection worth retrying.

A healthy server always ends a statement at its own limit first, so the margin only ever cuts
calls the server can no longer answer. Used for Postgres only: SQLite runs in-process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

#: Seconds past a call's time limit before the client gives up on the server: far more than a
#: live server needs to report its own statement_timeout, and small enough that a page shows its
#: message well within "statement limit + 2 s" (measured 4.8 s with a 3 s limit and 1 s here, on a
#: loaded machine, so the page's own time matters too).
MARGIN_S = 0.5
#: How often the watchdog thread looks at the armed calls (the deadline's resolution).
POLL_S = 0.05
#: The watchdog thread ends after this long with nothing armed; the next call starts it again.
IDLE_EXIT_S = 30.0
#: Key of the current call's :class:`Deadline` in the pooled connection's ``info`` dict.
INFO_KEY = "ebaydash.deadline"


@dataclass
class Deadline:
    """The time limit of one gateway call (every statement of it gets ``limit_s`` + margin).

    ``fired_at`` is set (monotonic seconds) when the watchdog cut the connection."""

    limit_s: float
    fired_at: float | None = None

    @property
    def fired(self) -> bool:
        return self.fired_at is not None


@dataclass
class _Armed:
    due: float
    fd: int
    deadline: Deadline | None


class Watchdog:
    """Shuts down the socket of any armed call that outlives its due time. Thread-safe."""

    def __init__(self, *, poll_s: float = POLL_S, idle_exit_s: float = IDLE_EXIT_S) -> None:
        self.poll_s = poll_s
        self.idle_exit_s = idle_exit_s
        self._armed: dict[int, _Armed] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.fired = 0  # how many calls were cut, for tests and logs

    def arm(self, key: int, fd: int, due: float, deadline: Deadline | None) -> None:
        """Watch the call on connection ``key`` (socket ``fd``) until :meth:`disarm`; past ``due``
        (monotonic seconds) its socket is shut down."""
        with self._lock:
            self._armed[key] = _Armed(due, fd, deadline)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ebaydash-db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, key: int) -> None:
        with self._lock:
            self._armed.pop(key, None)

    @property
    def armed(self) -> int:
        with self._lock:
            return len(self._armed)

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(self.poll_s)
            now = time.monotonic()
            with self._lock:
                # fired under the lock, so a call that was disarmed meanwhile is never cut
                for key, armed in list(self._armed.items()):
                    if armed.due <= now:
                        del self._armed[key]
                        self._cut(armed, now)
                if self._armed:
                    idle_since = now
                elif now - idle_since > self.idle_exit_s:
                    self._thread = None
                    return

    def _cut(self, armed: _Armed, now: float) -> None:
        if armed.deadline is not None:
            armed.deadline.fired_at = now
        self.fired += 1
        try:
            # A duplicate: shutting it down ends the connection for its owner too, while the
            # owner's descriptor stays open until the driver closes it (no descriptor reuse race).
            with socket.socket(fileno=os.dup(armed.fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError as exc:  # already closed: the call ended on its own
            log.debug("watchdog: socket %s already gone (%s)", armed.fd, exc)
            return
        log.warning(
            "database call got no answer within its limit + %g s; connection closed by the client",
            MARGIN_S,
        )


_WATCHDOGS: WeakKeyDictionary[Engine, Watchdog] = WeakKeyDictionary()


def watchdog_of(engine: Engine) -> Watchdog | None:
    """The watchdog :func:`install` attached to ``engine``, if any."""
    return _WATCHDOGS.get(engine)


def install(engine: Engine, *, default_limit_s: float) -> Watchdog:
    """Arm every driver call of ``engine`` (a psycopg engine) with a deadline.

    A call made inside :func:`assign`'s scope gets that :class:`Deadline`; any other (the engine
    used directly) gets ``default_limit_s``, the server-side limit every connection starts with.
    """
    dog = Watchdog()
    _WATCHDOGS[engine] = dog

    def arm(dbapi_connection: Any, info: dict[Any, Any]) -> None:
        try:
            fd = dbapi_connection.fileno()
        except Exception:  # closed or broken: the driver will say so itself
            return
        deadline = info.get(INFO_KEY)
        limit = deadline.limit_s if isinstance(deadline, Deadline) else default_limit_s
        dog.arm(id(dbapi_connection), fd, time.monotonic() + limit + MARGIN_S, deadline)

    def arm_connection(conn: Connection, *_args: Any) -> None:
        # an invalidated connection has no driver connection left to watch (and asking for it
        # would try to reconnect)
        if conn.invalidated or conn.closed:
            return
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None:
            arm(dbapi, conn.info)

    def disarm_connection(conn: Connection, *_args: Any) -> None:
        if conn.invalidated or conn.closed:
            return
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None:
            dog.disarm(id(dbapi))

    def disarm_on_error(context: Any) -> None:
        conn = context.connection
        if conn is not None:  # None: connecting failed, nothing was armed
            disarm_connection(conn)

    def disarm_raw(dbapi_connection: Any, *_args: Any) -> None:
        if dbapi_connection is not None:
            dog.disarm(id(dbapi_connection))

    def arm_reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
        arm(dbapi_connection, record.info)

    def forget_deadline(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # every checkout starts without a deadline; the gateway assigns its own
        record.info.pop(INFO_KEY, None)

    event.listen(engine, "before_cursor_execute", arm_connection)
    event.listen(engine, "after_cursor_execute", disarm_connection)
    event.listen(engine, "handle_error", disarm_on_error)
    # Connection.commit/rollback events fire just before the driver call; the next statement,
    # the return to the pool or the invalidation disarms them.
    event.listen(engine, "commit", arm_connection)
    event.listen(engine, "rollback", arm_connection)
    event.listen(engine, "checkout", forget_deadline)
    event.listen(engine, "reset", arm_reset)
    event.listen(engine, "checkin", disarm_raw)
    event.listen(engine, "invalidate", disarm_raw)
    event.listen(engine, "close", disarm_raw)
    return dog


def assign(conn: Connection, limit_s: float) -> Deadline:
    """Give the calls on ``conn`` (until it returns to the pool) a limit of ``limit_s``."""
    deadline = Deadline(limit_s)
    conn.info[INFO_KEY] = deadline
    return deadline


@contextmanager
def watched(conn: Connection) -> Iterator[None]:
    """Arm a driver call made outside ``execute`` (fetching the next batch of a server-side
    cursor) with the connection's deadline. A no-op for engines without a watchdog."""
    dog = watchdog_of(conn.engine)
    dbapi = conn.connection.dbapi_connection
    if dog is None or dbapi is None:
        yield
        return
    deadline = conn.info.get(INFO_KEY)
    limit = deadline.limit_s if isinstance(deadline, Deadline) else None
    if limit is None:
        yield
        return
    dog.arm(id(dbapi), dbapi.fileno(), time.monotonic() + limit + MARGIN_S, deadline)
    try:
        yield
    finally:
        dog.disarm(id(dbapi))
