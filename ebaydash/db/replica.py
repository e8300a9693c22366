"""The read replica: when a Postgres streaming standby may answer the dashboard's reads.

:class:`~ebaydash.db.engine.Database` asks :meth:`ReadReplica.use_standby` before each read that
may be served by the standby (seller figures, the orders listing: queries marked ``replica_ok``).
Everything else (imports, status changes, grants, scaling state, migrations) uses the primary.

Lag is measured in seconds without a heartbeat table and without privileges: at most every
:data:`CHECK_INTERVAL_S` the primary's ``pg_current_wal_lsn()`` is sampled (its time taken just
before asking), then the standby's ``pg_last_wal_replay_lsn()``. The standby is at most
``now - t`` behind, where ``t`` is the newest sample whose position it has already replayed; 0 when
it has replayed the sample just taken. (``now() - pg_last_xact_replay_timestamp()`` is no measure:
it grows on an idle standby that is fully caught up.) When no kept sample has been replayed the lag
is unknown, and at least the age of the oldest sample: the standby counts as behind.

The standby is skipped, and the primary serves, while
- it is further behind than ``EBAYDASH_READ_REPLICA_MAX_LAG_S`` (``lagging``), checked again at the
  next interval, so it is used again as soon as it has caught up;
- a read or a check on it failed (refused, unreachable, frozen, a recovery conflict) (``down``),
  for ``EBAYDASH_READ_REPLICA_RETRY_S``, then one read checks it again;
- it is not a standby at all (``pg_is_in_recovery()`` false, e.g. promoted) (``not_standby``).

Read-your-writes within a process: after a write transaction commits on the primary, the next check
records the primary's position, and reads go to the primary until the standby has replayed it (a few
milliseconds on a healthy standby), so figures recomputed after an import include it. Another
process's write is only bounded by the maximum lag.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ebaydash.errors import DatabaseError

log = logging.getLogger(__name__)

__all__ = ["CHECK_INTERVAL_S", "ReadReplica", "ReadReplicaStatus", "ReplicaState", "parse_lsn"]

#: How often the standby's lag is measured (seconds): the most a lag can go unnoticed.
CHECK_INTERVAL_S = 1.0
#: Time limit of each lag-check statement (ms): a hung standby costs one reader this once per retry.
CHECK_TIMEOUT_MS = 2000

ReplicaState = Literal["unchecked", "serving", "lagging", "down", "not_standby"]


class Gateway(Protocol):
    """What the replica needs of a :class:`~ebaydash.db.engine.Database`."""

    def connect(self, *, timeout_ms: int | None = None) -> AbstractContextManager[Connection]: ...


def parse_lsn(value: str) -> int:
    """A Postgres ``pg_lsn`` in its text form (``16/B374D848``) as a byte position."""
    high, low = value.split("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True)
class ReadReplicaStatus:
    """What the performance page says about the read replica.

    ``state``: ``serving`` (reads go to the standby), ``lagging`` (behind by more than
    ``max_lag_s``), ``down`` (failed; retried after ``retry_s``), ``not_standby`` (the read URL is
    not a standby), ``unchecked`` (no read yet). ``lag_s``: seconds behind at the last check (None:
    unknown; with ``lag_at_least`` a lower bound). ``since``: epoch seconds of the last change of
    state. ``reason``: the last failure, without secrets. ``standby_reads`` / ``primary_reads``:
    reads marked for the replica, by where they were served, since start.
    """

    state: ReplicaState
    lag_s: float | None
    lag_at_least: bool
    max_lag_s: float
    retry_s: float
    since: float | None
    reason: str
    standby_reads: int
    primary_reads: int

    @property
    def skipped(self) -> bool:
        """The standby is being skipped: the primary serves its reads."""
        return self.state in ("lagging", "down", "not_standby")


class ReadReplica:
    """The routing state of one standby. Thread-safe; one per process (built by
    :func:`ebaydash.context.open_database`)."""

    def __init__(
        self,
        standby: Gateway,
        *,
        max_lag_s: float,
        retry_s: float,
        check_interval_s: float = CHECK_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.standby = standby
        self.max_lag_s = max_lag_s
        self.retry_s = retry_s
        self.check_interval_s = check_interval_s
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque()
        self._checked_at = float("-inf")
        self._down_until = float("-inf")
        self._usable = False
        self._write_pending = False
        self._required_lsn = 0
        self._state: ReplicaState = "unchecked"
        self._since: float | None = None
        self._lag_s: float | None = None
        self._lag_at_least = False
        self._reason = ""
        self._standby_reads = 0
        self._primary_reads = 0

    # -- routing ----------------------------------------------------------------------------------

    def use_standby(self, primary: Gateway) -> bool:
        """May the next replica-eligible read go to the standby? Measures the lag first when the
        last measure is older than the interval (one thread measures; the others decide on the
        last result)."""
        now = self._clock()
        due = now - self._checked_at >= self.check_interval_s or self._write_pending
        if now >= self._down_until and due and self._check_lock.acquire(blocking=False):
            try:
                self._check(primary)
            finally:
                self._check_lock.release()
        with self._lock:
            use = self._usable and self._clock() >= self._down_until and not self._write_pending
            if use:
                self._standby_reads += 1
            else:
                self._primary_reads += 1
            return use

    def wrote(self) -> None:
        """A write transaction committed on the primary: reads wait for the standby to replay it."""
        self._write_pending = True

    def failed(self, error: BaseException) -> None:
        """A read or check on the standby failed: skip it for ``retry_s``."""
        with self._lock:
            self._usable = False
            self._down_until = self._clock() + self.retry_s
            self._reason = _reason(error)
            self._lag_s = None
            self._set_state("down")
        log.warning("read replica skipped for %g s: %s", self.retry_s, self._reason)

    def status(self) -> ReadReplicaStatus:
        with self._lock:
            return ReadReplicaStatus(
                state=self._state,
                lag_s=self._lag_s,
                lag_at_least=self._lag_at_least,
                max_lag_s=self.max_lag_s,
                retry_s=self.retry_s,
                since=self._since,
                reason=self._reason,
                standby_reads=self._standby_reads,
                primary_reads=self._primary_reads,
            )

    # -- measuring --------------------------------------------------------------------------------

    def _check(self, primary: Gateway) -> None:
        pending, self._write_pending = self._write_pending, False
        started = self._clock()
        try:
            with primary.connect(timeout_ms=CHECK_TIMEOUT_MS) as conn:
                primary_lsn = parse_lsn(conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())
        except DatabaseError:
            # Without the primary's position the lag is unknown; the reads go to the primary, which
            # names its own trouble to the caller. Measured again at the next read.
            with self._lock:
                self._usable = False
                self._write_pending = self._write_pending or pending
            return
        try:
            with self.standby.connect(timeout_ms=CHECK_TIMEOUT_MS) as conn:
                row = conn.execute(
                    text("SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay")
                ).one()
        except DatabaseError as exc:
            self._write_pending = self._write_pending or pending
            self.failed(exc)
            return
        if not row.standby:
            with self._lock:
                self._usable = False
                self._down_until = self._clock() + self.retry_s
                self._reason = "pg_is_in_recovery() is false: the read URL is not a streaming standby"
                self._set_state("not_standby")
            return
        replay = parse_lsn(row.replay) if row.replay else None
        with self._lock:
            now = self._clock()
            self._checked_at = now
            self._samples.append((started, primary_lsn))
            horizon = started - (self.max_lag_s + 2 * self.check_interval_s + 1)
            while len(self._samples) > 1 and self._samples[0][0] < horizon:
                self._samples.popleft()
            if pending:
                self._required_lsn = max(self._required_lsn, primary_lsn)
            lag, at_least = self._lag(replay, primary_lsn, now)
            self._lag_s, self._lag_at_least = lag, at_least
            within = lag is not None and not at_least and lag <= self.max_lag_s
            has_own_writes = replay is not None and replay >= self._required_lsn
            self._usable = within and has_own_writes
            if within and not has_own_writes:
                self._checked_at = float("-inf")  # measure again on the next read: a few ms away
            self._reason = ""
            self._set_state("serving" if within else "lagging")

    def _lag(self, replay: int | None, primary_lsn: int, now: float) -> tuple[float | None, bool]:
        """(seconds behind, whether that is only a lower bound)."""
        if replay is None:
            return None, False
        if replay >= primary_lsn:
            return 0.0, False
        replayed = [t for t, lsn in self._samples if lsn <= replay]
        if replayed:
            return max(now - max(replayed), 0.0), False
        return now - self._samples[0][0], True

    def _set_state(self, state: ReplicaState) -> None:
        if state != self._state:
            if state in ("serving", "lagging") and self._state != "unchecked":
                log.info("read replica: %s -> %s", self._state, state)
            self._state = state
            self._since = self._wall()


def _reason(error: BaseException) -> str:
    """The first line of an error's message (ebaydash's errors name the cause and hold no secret)."""
    message = str(error).strip().splitlines()
    return message[0] if message else type(error).__name__
