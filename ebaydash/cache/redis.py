"""L2 on Redis: the cache's keys, values, versions and locks, over the process's one
:class:`~ebaydash.redis_connection.RedisConnection` (time limits, no retries, the circuit breaker),
so a stopped, hung or slow Redis costs at most one time limit before the cache skips it.
Values are encoded by :mod:`ebaydash.cache.codec` (JSON, never pickle); bytes that do not decode
are a miss, counted, and never an exception.

Keys, under a configurable prefix (``ebaydash`` by default):

- ``{prefix}:c{FORMAT}:{key}``  cached values, with the TTL of their namespace; the bytes are
  ``{expiry in ms since 1970}|{digest of the key}|{JSON}``, so a process copying a value into its
  L1 knows how long the original has left and never keeps it longer, and a value copied (or
  written by mistake) under another key, another account's for instance, reads as a miss and is
  overwritten rather than served as this key's
- ``{prefix}:ver:{namespace}``  namespace version counters (INCR), refreshed on each bump
- ``{prefix}:lock:{key}``       creator locks (SET NX PX), released only by their owner's token

No command here scans keys: invalidation is a version bump, old entries age out by TTL.

The commands of a lookup, a claim and a store go over the connection's fast path; scripts go by
their SHA1 (EVALSHA), and a Redis that lost its script cache gets the text once more.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ebaydash.breaker import BreakerState, CircuitBreaker
from ebaydash.cache import codec
from ebaydash.cache.api import NO_VALUE, CacheObserver, CacheUnavailable, CircuitOpen, NoValue
from ebaydash.cache.status import L2Status
from ebaydash.redaction import redact
from ebaydash.redis_connection import (
    Client,
    RedisConnection,
    RedisRefused,
    RedisSkipped,
    RedisUnavailable,
)

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


class RedisBackend:
    """A :class:`~ebaydash.cache.api.CacheBackend` and
    :class:`~ebaydash.cache.api.SharedCoordination` on Redis. Thread-safe; share one per process."""

    name = "l2"

    def __init__(
        self,
        redis: RedisConnection | str,
        *,
        timeout_s: float = 0.25,
        reset_s: float = 10.0,
        prefix: str = "ebaydash",
        version_ttl_s: float = 86_400.0,
        observer: CacheObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Over ``redis``, the process's connection (shared with the metrics); given a URL, over a
        connection of its own with ``timeout_s`` and ``reset_s``, which :meth:`close` closes."""
        self._owns_connection = isinstance(redis, str)
        if isinstance(redis, str):
            redis = RedisConnection(redis, timeout_s=timeout_s, reset_s=reset_s, clock=clock)
        self.redis = redis
        self.observer = observer
        redis.on_breaker_change(self._breaker_changed)
        self._scripts = {script: redis.script(script) for script in (_UNLOCK, _CLAIM)}
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

    @property
    def url(self) -> str:
        return self.redis.url

    @property
    def breaker(self) -> CircuitBreaker:
        return self.redis.breaker

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
        data = self._encode(key, value, ttl)
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

        def bump(c: Client) -> list[Any]:
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
        def restart(c: Client) -> list[Any]:
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
        data = self._encode(key, value, ttl)
        if data is None:
            self.unlock(key, token)
            return
        ttl_ms = max(1, int(ttl * 1000))
        # one round trip; the value goes by plain SET, as through a script Redis would copy it
        self._pipeline(
            ("SET", self._values + key, data, "PX", ttl_ms),
            ("EVALSHA", self._scripts[_UNLOCK], 1, self._locks + key, token),
        )

    # -- state ---------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while the breaker is open or probing: the cache is degraded."""
        return self.redis.available

    def ping(self) -> bool:
        return self.redis.ping().ok

    def status(self) -> L2Status:
        return L2Status(
            target=redact(self.url),
            state=self.breaker.state.value,
            times_opened=self.breaker.times_opened,
            last_error=self.breaker.last_error,
            last_error_at=self.breaker.last_error_at,
            timeout_ms=self.redis.timeout_s * 1000,
            reset_s=self.breaker.reset_s,
        )

    def close(self) -> None:
        """Close the connection if this backend made it (else its owner, the context, does)."""
        if self._owns_connection:
            self.redis.close()

    # -- internals -----------------------------------------------------------------------------

    def _token(self) -> str:
        # unique per lock taken: random per backend, the process (forks share the counter), then
        # a counter: no system call per lock, unlike secrets.token_hex
        return f"{self._token_prefix}{os.getpid()}:{next(self._token_counter)}"

    def _decode(self, key: str, raw: Any, *, quiet: bool = False) -> tuple[Any | NoValue, float]:
        try:
            expiry, separator, rest = raw.partition(b"|")
            if not separator or not expiry.isdigit():
                raise codec.CodecError("no expiry before the value")
            owner, separator, data = rest.partition(b"|")
            if not separator or owner != _key_digest(key):
                raise codec.CodecError("written for another key")
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

    def _encode(self, key: str, value: Any, ttl: float) -> bytes | None:
        """The bytes stored for ``value`` under ``key`` (see the module's docstring), or None
        when the codec cannot encode it."""
        try:
            return b"%d|%s|" % (int((time.time() + ttl) * 1000), _key_digest(key)) + codec.dumps(value)
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

    def _run(self, command: Callable[[Client], T]) -> T:
        """``command`` on redis-py's client (pipelines), as a cache call."""
        try:
            return self.redis.run(command)
        except (RedisUnavailable, RedisRefused) as exc:
            raise _unavailable(exc) from exc

    def _call(self, *args: Any) -> Any:
        """One command on the fast path, as a cache call."""
        return self._pipeline(args)[0]

    def _eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        return self._call("EVALSHA", self._scripts[script], numkeys, *keys_and_args)

    def _pipeline(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Commands sent together on the fast path (one round trip), as a cache call."""
        try:
            return self.redis.execute(*commands)
        except (RedisUnavailable, RedisRefused) as exc:
            raise _unavailable(exc) from exc

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


def _unavailable(exc: RedisUnavailable | RedisRefused) -> CacheUnavailable:
    """The cache's error for a failed Redis call."""
    if isinstance(exc, RedisSkipped):
        return CircuitOpen("the shared cache is being skipped after a recent failure")
    if isinstance(exc, RedisRefused):
        if exc.wrong_type:
            return _WrongType(str(exc))
        return CacheUnavailable(f"Redis refused the command: {exc}")
    return CacheUnavailable(str(exc))


def _key_digest(key: str) -> bytes:
    """Which key a stored value belongs to: 16 hex digits of BLAKE2b over the whole key (namespace,
    account, versions, name and arguments), enough that another key's value never matches."""
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest().encode()


def _now_ms() -> int:
    return int(time.time() * 1000)
