"""``TieredCache.get_or_create``: L1 → L2 → creator, one creator per key, namespaces by version.

Keys are scoped by a namespace such as ``acct:42``. Each namespace has a version counter; the
version is part of every key, so bumping it (``invalidate``) makes the old keys unreachable and
they age out by TTL. No key scan is ever needed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from ebaydash.cache.api import NO_VALUE, CacheBackend, CacheUnavailable, NoValue
from ebaydash.cache.memory import MemoryBackend

T = TypeVar("T")
P = ParamSpec("P")


class CacheObserver(Protocol):
    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None: ...


class TieredCache:
    def __init__(
        self,
        l1: MemoryBackend,
        l2: CacheBackend | None = None,
        *,
        default_ttl: float = 300.0,
        l1_ttl: float = 1.0,
        observer: CacheObserver | None = None,
    ) -> None:
        self.l1 = l1
        self.l2 = l2
        self.default_ttl = default_ttl
        self.l1_ttl = min(l1_ttl, default_ttl)
        self.observer = observer
        self._versions: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- the API pages rely on -----------------------------------------------------------------

    def get_or_create(
        self,
        key: str,
        creator: Callable[[], T],
        ttl: float | None = None,
        *,
        refresh: bool = False,
    ) -> T:
        """The cached value of ``key``, or ``creator()``'s result, stored in every level.

        ``refresh=True`` skips the lookup and repopulates the cache (the page's refresh button).
        Concurrent callers for one cold key in this process wait for a single creator call.
        """
        ttl = self.default_ttl if ttl is None else ttl
        if not refresh:
            value = self._lookup(key)
            if value is not NO_VALUE:
                return cast(T, value)
        with self._lock_for(key):
            if not refresh:
                value = self._lookup(key)  # another thread may have created it while we waited
                if value is not NO_VALUE:
                    return cast(T, value)
            started = time.perf_counter()
            created = creator()
            self._observe("miss", started)
            self.set(key, created, ttl)
            return created

    def get(self, key: str) -> Any | NoValue:
        return self._lookup(key)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        ttl = self.default_ttl if ttl is None else ttl
        self.l1.set(key, value, min(ttl, self.l1_ttl))
        if self.l2 is not None:
            try:
                self.l2.set(key, value, ttl)
            except CacheUnavailable:
                self._observe("l2.error", time.perf_counter(), ok=False)

    def scoped(self, namespace: str, key: str) -> str:
        """``key`` inside ``namespace`` at its current version, e.g. ``acct:42:v3:kpis:…``."""
        return f"{namespace}:v{self.version(namespace)}:{key}"

    def version(self, namespace: str) -> int:
        return self._versions.get(namespace, 0)

    def invalidate(self, namespace: str) -> None:
        """Make every key of ``namespace`` stale at once."""
        self._versions[namespace] = self.version(namespace) + 1

    @property
    def degraded(self) -> bool:
        """True while a configured L2 is not answering."""
        return False

    # -- internals -----------------------------------------------------------------------------

    def _lookup(self, key: str) -> Any | NoValue:
        started = time.perf_counter()
        value = self.l1.get(key)
        if value is not NO_VALUE:
            self._observe("l1.hit", started)
            return value
        if self.l2 is None:
            return NO_VALUE
        try:
            value = self.l2.get(key)
        except CacheUnavailable:
            self._observe("l2.error", started, ok=False)
            return NO_VALUE
        if value is not NO_VALUE:
            self._observe("l2.hit", started)
            self.l1.set(key, value, self.l1_ttl)
        return value

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                if len(self._locks) > 10_000:  # keep the lock table bounded
                    self._locks = {k: v for k, v in self._locks.items() if v.locked()}
                lock = self._locks[key] = threading.Lock()
            return lock

    def _observe(self, event: str, started: float, *, ok: bool = True) -> None:
        if self.observer is not None:
            self.observer.record("cache", event, time.perf_counter() - started, ok=ok)


# -- @cacheable ---------------------------------------------------------------------------------


class HasCache(Protocol):
    cache: TieredCache


def _normalise(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _normalise(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_normalise(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in sorted(value.items())}
    return value


def argument_hash(arguments: dict[str, Any]) -> str:
    """A short stable hash of normalised arguments, for cache keys."""
    payload = json.dumps(_normalise(arguments), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(payload.encode(), digest_size=10).hexdigest()


def cacheable(
    name: str, *, namespace: str, ttl: float | None = None
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Cache a service function ``fn(ctx, ...)`` in ``ctx.cache``.

    ``namespace`` is a template over the function's arguments, e.g. ``"acct:{account_id}"``; the
    key is ``name`` plus a hash of the other arguments. Callers may pass ``fresh=True`` to bypass
    the cache and repopulate it.
    """

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            fresh = bool(kwargs.pop("fresh", False))
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            ctx = cast(HasCache, bound.args[0])
            arguments = dict(list(bound.arguments.items())[1:])
            scope = namespace.format(**arguments)
            key = ctx.cache.scoped(scope, f"{name}:{argument_hash(arguments)}")
            return ctx.cache.get_or_create(key, lambda: fn(*args, **kwargs), ttl, refresh=fresh)

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper

    return decorate
