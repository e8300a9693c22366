"""L2 on Redis: the only module that talks to Redis for caching.

Every call has a short connect and read time limit and no retries, and goes through a circuit
breaker, so a stopped, hung or slow Redis costs at most one time limit before the cache skips it.
Values are encoded by :mod:`ebaydash.cache.codec` (JSON, never pickle); bytes that do not decode
are a miss, counted, and never an exception.

Keys, under a configurable prefix (``ebaydash`` by default):

- ``{prefix}:c{FORMAT}:{key}``  cached values, with the TTL of their namespace; the bytes are
  ``{expiry in ms since 1970}|{JSON}``, so a process copying a value into its L1 knows how long
  the original has left and never keeps it longer
- ``{prefix}:ver:{namespace}``  namespace version counters (INCR), refreshed on each bump
- ``{prefix}:lock:{key}``       creator locks (SET NX PX), released only by their owner's token

No command here scans keys: invalidation is a version bump, old entries age out by TTL.

The commands of a lookup, a claim and a store go over connections this backend keeps checked out
of redis-py's pool, sent and read directly: redis-py's own call path (pool checkout and release,
command dispatch, observability hooks) cost about 55 µs of a 90 µs GET. Those connections carry the
same time limits, and redis-py closes one on any failure, so a timeout never leaves a reply behind.
Scripts go by their SHA1 (EVALSHA); a Redis that lost its script cache gets the text once more.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import hiredis
import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from ebaydash.cache import codec
from ebaydash.cache.api import NO_VALUE, CacheObserver, CacheUnavailable, CircuitOpen, NoValue
from ebaydash.cache.breaker import BreakerState, CircuitBreaker
from ebaydash.cache.status import L2Status

log = logging.getLogger(__name__)

T = TypeVar("T")

# Delete the lock only if it still holds our token: after it expired, someone else may own it.
_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

# The value if there is one; else the creator lock if it is free. One round trip, and no lock
# taken (nor released again) when the value is there. A key of the wrong type reads as absent.
_CLAIM = """
local value = redis.pcall('get', KEYS[1])
if type(value) == 'string' then
    return {1, value}
end
if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {2}
end
return {0}
"""

_SCRIPTS = {script: hashlib.sha1(script.encode()).hexdigest() for script in (_UNLOCK, _CLAIM)}
_SCRIPT_TEXTS = {sha: script for script, sha in _SCRIPTS.items()}

# Connections kept aside for the fast path beyond this many go back to redis-py's pool.
_MAX_IDLE = 32

# Redis failing to answer (down, hung, too slow, mid-restart): trip the breaker.
_OUTAGES = (redis.ConnectionError, redis.TimeoutError, OSError)


def redact(url: str) -> str:
    """``url`` without its password, for display."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class RedisBackend:
    """A :class:`~ebaydash.cache.api.CacheBackend` and
    :class:`~ebaydash.cache.api.SharedCoordination` on Redis. Thread-safe; share one per process."""

    name = "l2"

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 0.25,
        reset_s: float = 10.0,
        prefix: str = "ebaydash",
        version_ttl_s: float = 86_400.0,
        observer: CacheObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.observer = observer
        # No retries: a retry after a time-out doubles the wait, and the breaker decides when to
        # try again. redis-py connects lazily, so a Redis that is down does not stop start-up.
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
        self.breaker = CircuitBreaker(reset_s=reset_s, clock=clock, on_change=self._breaker_changed)
        self._values = f"{prefix}:c{codec.FORMAT}:"
        self._versions = f"{prefix}:ver:"
        self._locks = f"{prefix}:lock:"
        self._version_ttl_ms = int(version_ttl_s * 1000)
        self._token_prefix = secrets.token_hex(8) + ":"
        self._token_counter = itertools.count()
        self._counts_lock = threading.Lock()
        self.decode_errors = 0
        self.encode_errors = 0
        self._unencodable_logged: set[str] = set()

    # -- values --------------------------------------------------------------------------------

    def get(self, key: str) -> Any | NoValue:
        return self.get_with_ttl(key)[0]

    def get_with_ttl(self, key: str) -> tuple[Any | NoValue, float]:
        try:
            raw: Any = self._call("GET", self._values + key)
        except _WrongType:
            raw = b"<not a string>"  # a list or hash where a value belongs: garbage too
        if raw is None:
            return NO_VALUE, 0.0
        return self._decode(key, raw)

    def set(self, key: str, value: Any, ttl: float) -> None:
        data = self._encode(value, ttl)
        if data is None:
            return
        ttl_ms = max(1, int(ttl * 1000))
        self._call("SET", self._values + key, data, "PX", ttl_ms)

    def delete(self, key: str) -> None:
        self._call("DEL", self._values + key)

    # -- namespace versions --------------------------------------------------------------------

    def get_version(self, namespace: str) -> int:
        key = self._versions + namespace
        raw = self._call("GET", key)
        if raw is not None:
            try:
                return int(raw)
            except ValueError:
                log.warning("namespace version %r was garbage; starting it again", namespace)
        return self._restart_version(key, only_if_missing=raw is None)

    def bump_version(self, namespace: str, by: int = 1) -> int:
        key = self._versions + namespace

        def bump(c: redis.Redis) -> list[Any]:
            pipe = c.pipeline(transaction=True)
            # A counter that vanished (evicted, flushed) restarts from the clock, never from 0:
            # entries written under the old numbers may still be cached.
            pipe.set(key, _now_ms(), px=self._version_ttl_ms, nx=True)
            pipe.incrby(key, by)
            pipe.pexpire(key, self._version_ttl_ms)
            return pipe.execute(raise_on_error=False)

        results = self._run(bump)
        if isinstance(results[1], int):
            return results[1]
        log.warning("namespace version %r was garbage; starting it again", namespace)
        return self._restart_version(key, only_if_missing=False)

    def _restart_version(self, key: str, *, only_if_missing: bool) -> int:
        def restart(c: redis.Redis) -> list[Any]:
            pipe = c.pipeline(transaction=True)
            pipe.set(key, _now_ms(), px=self._version_ttl_ms, nx=only_if_missing)
            pipe.get(key)
            return pipe.execute()

        return int(self._run(restart)[1])

    # -- creator locks -------------------------------------------------------------------------

    def try_lock(self, key: str, ttl_s: float) -> str | None:
        token = self._token()
        ttl_ms = max(1, int(ttl_s * 1000))
        acquired = self._call("SET", self._locks + key, token, "NX", "PX", ttl_ms)
        return token if acquired else None

    def unlock(self, key: str, token: str) -> bool:
        return bool(self._eval(_UNLOCK, 1, self._locks + key, token))

    def claim(self, key: str, ttl_s: float) -> tuple[str | None, Any | NoValue, float]:
        token = self._token()
        ttl_ms = max(1, int(ttl_s * 1000))
        reply = self._eval(_CLAIM, 2, self._values + key, self._locks + key, token, ttl_ms)
        if reply[0] == 1:
            # garbage here was counted by the lookup just before: do not count it twice
            value, left = self._decode(key, reply[1], quiet=True)
            if value is not NO_VALUE:
                return None, value, left
            # garbage where the value belongs: create it (if nobody else is) and overwrite it
            return self.try_lock(key, ttl_s), NO_VALUE, 0.0
        return (token if reply[0] == 2 else None), NO_VALUE, 0.0

    def set_and_unlock(self, key: str, value: Any, ttl: float, token: str) -> None:
        data = self._encode(value, ttl)
        if data is None:
            self.unlock(key, token)
            return
        ttl_ms = max(1, int(ttl * 1000))
        # one round trip; the value goes by plain SET, as through a script Redis would copy it
        self._pipeline(
            ("SET", self._values + key, data, "PX", ttl_ms),
            ("EVALSHA", _SCRIPTS[_UNLOCK], 1, self._locks + key, token),
        )

    # -- state ---------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while the breaker is open or probing: the cache is degraded."""
        return self.breaker.state is BreakerState.CLOSED

    def ping(self) -> bool:
        try:
            return bool(self._call("PING"))
        except CacheUnavailable:
            return False

    def status(self) -> L2Status:
        return L2Status(
            target=redact(self.url),
            state=self.breaker.state.value,
            times_opened=self.breaker.times_opened,
            last_error=self.breaker.last_error,
            last_error_at=self.breaker.last_error_at,
            timeout_ms=self.timeout_s * 1000,
            reset_s=self.breaker.reset_s,
        )

    def close(self) -> None:
        idle, self._idle = self._idle, deque()
        for connection in idle:
            self._pool.release(connection)
        self._client.close()

    # -- internals -----------------------------------------------------------------------------

    def _token(self) -> str:
        # unique per lock taken: random per backend, the process (forks share the counter), then
        # a counter: no system call per lock, unlike secrets.token_hex
        return f"{self._token_prefix}{os.getpid()}:{next(self._token_counter)}"

    def _decode(self, key: str, raw: Any, *, quiet: bool = False) -> tuple[Any | NoValue, float]:
        try:
            expiry, separator, data = raw.partition(b"|")
            if not separator or not expiry.isdigit():
                raise codec.CodecError("no expiry before the value")
            return codec.loads(data), int(expiry) / 1000 - time.time()
        except codec.CodecError as exc:
            if quiet:
                return NO_VALUE, 0.0
            # Someone wrote something we did not (or an older format): a miss, and the creator's
            # value will overwrite it.
            with self._counts_lock:
                self.decode_errors += 1
            self._event("l2.decode.error", ok=False)
            log.warning("unreadable cache entry %r treated as a miss: %s", key, exc)
            return NO_VALUE, 0.0

    def _encode(self, value: Any, ttl: float) -> bytes | None:
        try:
            return b"%d|" % int((time.time() + ttl) * 1000) + codec.dumps(value)
        except codec.CodecError as exc:
            # A programming error (a service returned a type the codec does not know). The value
            # still lives in L1; say so once per type instead of on every call.
            with self._counts_lock:
                self.encode_errors += 1
            self._event("l2.encode.error", ok=False)
            kind = type(value).__qualname__
            if kind not in self._unencodable_logged:
                self._unencodable_logged.add(kind)
                log.error("a %s cannot be stored in the shared cache: %s", kind, exc)
            return None

    def _run(self, command: Callable[[redis.Redis], T]) -> T:
        """``command`` on redis-py's client (pipelines), through the breaker."""
        if not self.breaker.allow():
            raise CircuitOpen("the shared cache is being skipped after a recent failure")
        try:
            result = command(self._client)
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from exc
        self.breaker.success()
        return result

    def _call(self, *args: Any) -> Any:
        """One command on the fast path, through the breaker."""
        return self._pipeline(args)[0]

    def _eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        return self._call("EVALSHA", _SCRIPTS[script], numkeys, *keys_and_args)

    def _pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Commands sent together on the fast path (one round trip), through the breaker; their
        replies, or the first command's refusal raised once all replies are read. A script
        Redis does not know by its SHA1 (restarted, flushed) is sent once more as text."""
        if not self.breaker.allow():
            raise CircuitOpen("the shared cache is being skipped after a recent failure")
        try:
            replies = self._send(commands)
            for i, reply in enumerate(replies):
                if isinstance(reply, NoScriptError):
                    _, sha, *rest = commands[i]
                    replies[i] = reply = self._send((("EVAL", _SCRIPT_TEXTS[sha], *rest),))[0]
                if isinstance(reply, redis.ResponseError):
                    raise reply
        except (redis.RedisError, OSError) as exc:
            raise self._failed(exc) from exc
        self.breaker.success()
        return replies

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

    def _failed(self, exc: BaseException) -> CacheUnavailable:
        if isinstance(exc, redis.ResponseError):
            # Redis answered, so it is up; the command was refused (wrong type, out of memory…).
            self.breaker.success()
            if str(exc).startswith("WRONGTYPE"):
                return _WrongType(str(exc))
            return CacheUnavailable(f"Redis refused the command: {exc}")
        self.breaker.failure(exc)
        if isinstance(exc, _OUTAGES):  # Redis failing to answer (down, hung, too slow…)
            return CacheUnavailable(f"Redis did not answer: {type(exc).__name__}: {exc}")
        # a garbled reply and the like: treat as an outage
        return CacheUnavailable(f"Redis failed: {type(exc).__name__}: {exc}")

    def _breaker_changed(self, before: BreakerState, after: BreakerState) -> None:
        if after is BreakerState.OPEN:
            log.warning(
                "shared cache unavailable (%s); using the database directly for %g s",
                self.breaker.last_error,
                self.breaker.reset_s,
            )
        elif after is BreakerState.CLOSED:
            log.info("shared cache is answering again")
        self._event(f"breaker.{after.value.replace('-', '_')}", ok=after is not BreakerState.OPEN)

    def _event(self, name: str, *, ok: bool) -> None:
        if self.observer is not None:
            self.observer.record("cache", name, 0.0, ok=ok)


class _WrongType(CacheUnavailable):
    """The key holds something other than a string: garbage, read as a miss."""


def _now_ms() -> int:
    return int(time.time() * 1000)
