"""The process's one connection to Redis, and the only module that imports redis.

The cache's shared level (:mod:`ebaydash.cache.redis`) and the shared metrics
(:mod:`ebaydash.monitor.shared`) both talk to Redis through one :class:`RedisConnection`, built by
:func:`ebaydash.context.build_context`: one client with its pool, one set of time limits, and one
circuit breaker (:mod:`ebaydash.breaker`). Whoever meets a dead, hung or slow Redis first opens the
breaker for everyone, so an outage costs one time limit per ``reset_s`` per process, not one per
caller, and one probe finds out for everyone when it is back.

Every call has a connect and read time limit and no retries (a retry after a time-out doubles the
wait; the breaker decides when to try again). redis-py connects lazily, so a Redis that is down
does not stop start-up. Errors come out as :class:`RedisUnavailable` (Redis did not answer: the
breaker counted it), :class:`RedisSkipped` (not tried: the breaker is open) or
:class:`RedisRefused` (Redis answered with an error, so it is up).

:meth:`RedisConnection.execute` is the fast path of the cache's hot commands: connections kept
checked out of redis-py's pool, commands packed by hiredis and replies read directly (redis-py's
own call path, pool checkout and release, dispatch and hooks, cost about 55 µs of a 90 µs GET).
Those connections carry the same time limits, and redis-py closes one on any failure, so a timeout
never leaves a reply behind. :meth:`RedisConnection.run` hands redis-py's client to a function, for
pipelines and scripts off the hot path.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import hiredis
import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from ebaydash.breaker import BreakerState, CircuitBreaker

T = TypeVar("T")
Client = redis.Redis  # what RedisConnection.run hands to its function
ResponseError = redis.ResponseError  # an error reply (a key of the wrong type…) inside such a function

# Connections kept aside for the fast path beyond this many go back to redis-py's pool.
_MAX_IDLE = 32

# Redis failing to answer (down, hung, too slow, mid-restart): trip the breaker.
_OUTAGES = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisUnavailable(Exception):
    """Redis did not answer (down, hung, too slow), or its reply could not be read."""


class RedisSkipped(RedisUnavailable):
    """Not tried: the breaker is open after a recent failure."""


class RedisRefused(Exception):
    """Redis answered with an error (a key of the wrong type, out of memory…): it is up."""

    @property
    def wrong_type(self) -> bool:
        return str(self).startswith("WRONGTYPE")


@dataclass(frozen=True)
class Ping:
    ok: bool
    round_trip_ms: float | None
    message: str


class RedisConnection:
    """One Redis client, its time limits and its breaker. Thread-safe; share one per process."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.25,
        reset_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._pool = self._client.connection_pool
        self._idle: deque[Any] = deque()  # connections of the fast path, most recently used last
        self._pid = os.getpid()
        self._scripts: dict[str, str] = {}  # SHA1 -> text, to send again when Redis forgot it
        self._listeners: list[Callable[[BreakerState, BreakerState], None]] = []
        self.breaker = CircuitBreaker(reset_s=reset_s, clock=clock, on_change=self._breaker_changed)

    @property
    def available(self) -> bool:
        """False while the breaker is open or probing."""
        return self.breaker.state is BreakerState.CLOSED

    def on_breaker_change(self, listener: Callable[[BreakerState, BreakerState], None]) -> None:
        """Call ``listener(before, after)`` whenever the breaker changes state."""
        self._listeners.append(listener)

    def script(self, text: str) -> str:
        """The SHA1 to call ``text`` by with EVALSHA through :meth:`execute`."""
        sha = hashlib.sha1(text.encode()).hexdigest()
        self._scripts[sha] = text
        return sha

    # -- calls ---------------------------------------------------------------------------------

    def call(self, *args: Any) -> Any:
        """One command on the fast path; its reply."""
        return self.execute(args)[0]

    def execute(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Commands sent together on the fast path (one round trip); their replies. An error reply
        is raised as :class:`RedisRefused` once all replies are read. A script Redis does not know
        by its SHA1 (restarted, flushed) is sent once more as text."""
        if not self.breaker.allow():
            raise RedisSkipped("Redis is being skipped after a recent failure")
        try:
            replies = self._send(commands)
            for i, reply in enumerate(replies):
                if isinstance(reply, NoScriptError):
                    _, sha, *rest = commands[i]
                    replies[i] = reply = self._send((("EVAL", self._scripts[sha], *rest),))[0]
                if isinstance(reply, redis.ResponseError):
                    raise reply
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from exc
        self.breaker.success()
        return replies

    def run(self, fn: Callable[[Client], T]) -> T:
        """``fn(client)`` on redis-py's client (pipelines, scripts), through the breaker."""
        if not self.breaker.allow():
            raise RedisSkipped("Redis is being skipped after a recent failure")
        try:
            result = fn(self._client)
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from exc
        self.breaker.success()
        return result

    def ping(self) -> Ping:
        """A round trip, for the health panel; never raises."""
        started = time.perf_counter()
        try:
            self.call("PING")
        except RedisSkipped:
            return Ping(False, None, f"not answering ({self.breaker.last_error}); retrying shortly")
        except (RedisUnavailable, RedisRefused) as exc:
            return Ping(False, None, f"not answering ({exc})")
        return Ping(True, (time.perf_counter() - started) * 1000, "reachable")

    def close(self) -> None:
        idle, self._idle = self._idle, deque()
        for connection in idle:
            self._pool.release(connection)
        self._client.close()

    # -- internals -----------------------------------------------------------------------------

    def _send(self, commands: tuple[tuple[Any, ...], ...]) -> list[Any]:
        """Send commands and read their replies (a refusal is returned as its exception) on a
        connection of the fast path."""
        if self._pid != os.getpid():
            # A forked child must not talk over its parent's sockets; they stay the parent's.
            self._idle = deque()
            self._pid = os.getpid()
        try:
            connection = self._idle.pop()  # connected: a connection that failed is not kept
        except IndexError:
            connection = self._pool.get_connection()  # connected, or raises (and keeps it)
        else:
            try:
                dirty = connection.can_read()
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                dirty = True
            if dirty:
                # Closed by Redis (restarted, idle clients timed out): reconnect now, as redis-py's
                # pool does, rather than fail this call and open the breaker for nothing.
                connection.disconnect()
        try:
            # hiredis packs plain str, bytes and int arguments (all these commands have) in C;
            # redis-py's packer around it cost more than the packing itself
            packed = [b"".join(map(hiredis.pack_command, commands))]
            connection.send_packed_command(packed, check_health=False)
            replies = []
            for _ in commands:
                try:
                    replies.append(connection.read_response())
                except redis.ResponseError as exc:  # the whole reply was read: go on
                    replies.append(exc)
        except BaseException:
            # redis-py closed it already on its own errors; for anything else (an interrupt) the
            # replies may still be on their way and must not be read as the next command's
            connection.disconnect()
            self._pool.release(connection)  # connecting again is the pool's job (and its checks)
            raise
        if len(self._idle) < _MAX_IDLE:
            self._idle.append(connection)
        else:
            self._pool.release(connection)
        return replies

    def _failed(self, exc: BaseException) -> RedisUnavailable | RedisRefused:
        if isinstance(exc, redis.ResponseError) and "DB index is out of range" in str(exc):
            # refused while connecting (its database chosen by number): no command can work, as if
            # Redis were down
            self.breaker.failure(exc)
            return RedisUnavailable(
                "Redis has no database of the number EBAYDASH_REDIS_URL ends in (DB index is out of "
                "range; a Redis has 16 by default, 0 to 15)"
            )
        if isinstance(exc, redis.ResponseError):
            # Redis answered, so it is up; the command was refused (wrong type, out of memory…).
            self.breaker.success()
            return RedisRefused(str(exc))
        self.breaker.failure(exc)
        if isinstance(exc, _OUTAGES):  # Redis failing to answer (down, hung, too slow…)
            return RedisUnavailable(f"Redis did not answer: {type(exc).__name__}: {exc}")
        # a garbled reply and the like: treat as an outage
        return RedisUnavailable(f"Redis failed: {type(exc).__name__}: {exc}")

    def _breaker_changed(self, before: BreakerState, after: BreakerState) -> None:
        for listener in self._listeners:
            listener(before, after)
