"""``TieredCache.get_or_create``: L1 → L2 → creator, one creator per key, namespaces by version.

Keys are scoped by a namespace such as ``acct:42``. Each namespace has a version counter
(:mod:`ebaydash.cache.versions`); the version is part of every key, so bumping it
(``invalidate``) makes the old keys unreachable and they age out by TTL. No key scan is needed.

Stampedes: in one process, one thread per key runs the creator while the others wait for its
value, or get the previous value at once if L1 still holds an expired copy (dogpile style).
Across processes sharing Redis, the creator first claims a short lock (``SET NX PX`` with an
owner token, together with a last look at the value, in one round trip); a process that finds the
lock taken polls for the value and, if none comes within ``lock_wait_s``, computes it itself.
Nobody waits forever, and a crashed holder's lock expires after ``lock_ttl_s``. A miss costs three
round trips (read, claim, store-and-release); an L2 hit one.

Failures of the L2 never reach the caller: they are recorded, and the value comes from the
creator instead (see :mod:`ebaydash.cache.redis` for time limits and the circuit breaker).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from ebaydash.cache.api import (
    NO_VALUE,
    CacheBackend,
    CacheObserver,
    CacheUnavailable,
    CircuitOpen,
    NoValue,
    SharedCoordination,
)
from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.status import CacheStatus, EventCounts, L2Status
from ebaydash.cache.versions import NamespaceVersions, SourceVersions

log = logging.getLogger(__name__)

T = TypeVar("T")

_MAX_LOCKS = 10_000


class TieredCache:
    def __init__(
        self,
        l1: MemoryBackend,
        l2: CacheBackend | None = None,
        *,
        default_ttl: float = 300.0,
        l1_ttl: float = 1.0,
        namespace_ttls: Mapping[str, float] | None = None,
        observer: CacheObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        version_check_s: float | None = None,
        lock_ttl_s: float = 10.0,
        lock_wait_s: float | None = None,
        poll_s: float = 0.005,
        source_versions: SourceVersions | None = None,
    ) -> None:
        """
        ``default_ttl`` is the L2 TTL of a namespace not named in ``namespace_ttls`` (keyed by the
        namespace's kind, the part before its first colon: ``{"global": 60, "acct": 300}``).
        L1 keeps a copy for ``l1_ttl`` at most, and never longer than the L2 TTL. A process
        re-reads a namespace's shared version every ``version_check_s`` (half of ``l1_ttl`` by
        default), which bounds how stale it can be after another process writes.
        ``source_versions`` adds the data's own version (kept by the database) to every key, so
        an invalidation whose Redis bump was lost still shows within its ``ttl_s``.
        """
        self.l1 = l1
        self.l2 = l2
        self.default_ttl = default_ttl
        self.l1_ttl = min(l1_ttl, default_ttl)
        self.namespace_ttls = dict(namespace_ttls or {})
        self.observer = observer
        self.lock_ttl_s = lock_ttl_s
        self.lock_wait_s = lock_ttl_s if lock_wait_s is None else lock_wait_s
        self.poll_s = poll_s
        self._shared = l2 if isinstance(l2, SharedCoordination) else None
        self.versions = NamespaceVersions(
            self._shared,
            check_every_s=self.l1_ttl / 2 if version_check_s is None else version_check_s,
            clock=clock,
            on_error=self._l2_failed,
        )
        self.source_versions = source_versions
        self.counts = EventCounts()
        self._locks: dict[str, threading.Lock] = {}
        self._creating: set[str] = set()  # keys whose creator runs now: others may get stale copies
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
        Whatever ``creator`` raises propagates, and nothing is cached for it.
        """
        if not refresh:
            # the L1 hit, inlined: it is most of what a page does, so every call here counts
            started = time.perf_counter()
            value = self.l1.get(key)
            if value is not NO_VALUE:
                self._record("l1.hit", started)
                return cast(T, value)
            # a plain GET: the cheapest way to an L2 hit, which is far more common than a miss
            value = self._lookup_l2(key, started)
            if value is not NO_VALUE:
                return cast(T, value)
        return self._create(key, creator, ttl, refresh)

    def get(self, key: str) -> Any | NoValue:
        return self._lookup(key)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        l2_ttl, l1_ttl = self._ttls(key, ttl)
        self.l1.set(key, value, l1_ttl)
        if self.l2 is not None:
            started = time.perf_counter()
            try:
                self.l2.set(key, value, l2_ttl)
            except CacheUnavailable as exc:
                self._l2_failed(exc, started)

    def delete(self, key: str) -> None:
        self.l1.delete(key)
        if self.l2 is not None:
            started = time.perf_counter()
            try:
                self.l2.delete(key)
            except CacheUnavailable as exc:
                self._l2_failed(exc, started)

    def scoped(self, namespace: str, key: str) -> str:
        """``key`` inside ``namespace`` at its current versions, e.g. ``acct:42:v3.17:kpis:…``
        (the shared counter's, then the data's own when there are source versions)."""
        if self.source_versions is None:
            return f"{namespace}:v{self.versions.token(namespace)}:{key}"
        return f"{namespace}:v{self.versions.token(namespace)}.{self.source_versions.token(namespace)}:{key}"

    def version(self, namespace: str) -> int:
        return self.versions.current(namespace)

    def invalidate(self, namespace: str) -> None:
        """Make every key of ``namespace`` stale at once, in this process and (through Redis)
        in every other within ``version_check_s``."""
        started = time.perf_counter()
        self.versions.bump(namespace)
        if self.source_versions is not None:
            # this process wrote: its next key reads the new data version at once, so what it
            # computes next (refresh-ahead, the importer's own page) is filed under it
            self.source_versions.expire()
        self._record("invalidate", started)

    @property
    def degraded(self) -> bool:
        """True while a configured L2 is not answering (its breaker is open or probing)."""
        return self.l2 is not None and not getattr(self.l2, "available", True)

    def status(self) -> CacheStatus:
        l2_status = getattr(self.l2, "status", None)
        l2: L2Status | None = l2_status() if callable(l2_status) else None
        counts = self.counts.snapshot()
        for name in ("decode_errors", "encode_errors"):
            if self.l2 is not None and hasattr(self.l2, name):
                counts[f"l2.{name.replace('_errors', '')}.error"] = int(getattr(self.l2, name))
        return CacheStatus(
            l1_entries=len(self.l1),
            l1_bytes=self.l1.bytes_used,
            l1_max_entries=self.l1.max_entries,
            l1_max_bytes=self.l1.max_bytes,
            l1_evictions=self.l1.evictions,
            l1_ttl_s=self.l1_ttl,
            l2_ttl_s=self.default_ttl,
            l2=l2,
            degraded=self.degraded,
            counts=counts,
        )

    def close(self) -> None:
        close = getattr(self.l2, "close", None)
        if callable(close):
            close()

    # -- lookup --------------------------------------------------------------------------------

    def _lookup(self, key: str) -> Any | NoValue:
        started = time.perf_counter()
        value = self.l1.get(key)
        if value is not NO_VALUE:
            self._record("l1.hit", started)
            return value
        return self._lookup_l2(key, started)

    def _lookup_l2(self, key: str, started: float) -> Any | NoValue:
        if self.l2 is None:
            return NO_VALUE
        try:
            value, left = self.l2.get_with_ttl(key)
        except CacheUnavailable as exc:
            self._l2_failed(exc, started)
            return NO_VALUE
        if value is not NO_VALUE:
            self._record("l2.hit", started)
            self._copy_to_l1(key, value, left)
        return value

    def _stale(self, key: str) -> Any | NoValue:
        started = time.perf_counter()
        value = self.l1.get_stale(key)
        if value is not NO_VALUE:
            self._record("stale.hit", started)
        return value

    # -- creating ------------------------------------------------------------------------------

    def _create(self, key: str, creator: Callable[[], T], ttl: float | None, refresh: bool) -> T:
        lock = self._lock_for(key)
        if not lock.acquire(blocking=False):
            # Another thread of this process is reading L2 for this key or creating it.
            if not refresh and key in self._creating:
                stale = self._stale(key)
                if stale is not NO_VALUE:
                    return cast(T, stale)
            started = time.perf_counter()
            if not lock.acquire(timeout=self.lock_wait_s):
                self._record("lock.timeout", started, ok=False)
                log.warning(
                    "waited %g s for another thread to create %r; creating it too", self.lock_wait_s, key
                )
                return self._create_unlocked(key, creator, ttl, refresh)
            self._record("lock.wait", started)
        try:
            if not refresh:
                # whoever held the lock has just stored the value (in L1 at least)
                started = time.perf_counter()
                value = self.l1.get(key)
                if value is not NO_VALUE:
                    self._record("l1.hit", started)
                    return cast(T, value)
            return self._create_unlocked(key, creator, ttl, refresh)
        finally:
            lock.release()

    def _create_unlocked(self, key: str, creator: Callable[[], T], ttl: float | None, refresh: bool) -> T:
        """Create ``key`` holding this process's lock (or having given up on it): claim the
        shared lock first, so other processes wait for this value instead of making their own."""
        token: str | None = None
        if self._shared is not None:
            started = time.perf_counter()
            try:
                if refresh:
                    token = self._shared.try_lock(key, self.lock_ttl_s)
                else:
                    token, value, left = self._shared.claim(key, self.lock_ttl_s)
                    if value is not NO_VALUE:
                        self._record("l2.hit", started)
                        self._copy_to_l1(key, value, left)
                        return cast(T, value)
                    if token is None:
                        value = self._stale(key)
                        if value is NO_VALUE:
                            value, token = self._wait_for_peer(key)
                        if value is not NO_VALUE:
                            return cast(T, value)
            except CacheUnavailable as exc:
                self._l2_failed(exc, started)
        started = time.perf_counter()
        self._creating.add(key)
        try:
            value = creator()
        except BaseException:
            if token is not None:
                self._unlock(key, token)
            raise
        finally:
            self._creating.discard(key)
        self._record("miss", started)
        self._store(key, value, ttl, token)
        return value

    def _wait_for_peer(self, key: str) -> tuple[Any | NoValue, str | None]:
        """Poll L2 while another process creates ``key``: its value, or the lock once it is free
        (the holder failed or crashed), or neither after ``lock_wait_s`` (then we create it)."""
        assert self._shared is not None
        started = time.perf_counter()
        deadline = time.monotonic() + self.lock_wait_s
        delay = self.poll_s
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.1)
            token, value, left = self._shared.claim(key, self.lock_ttl_s)
            if value is not NO_VALUE:
                self._record("lock.wait", started)
                self._record("l2.hit", started)
                self._copy_to_l1(key, value, left)
                return value, None
            if token is not None:
                self._record("lock.wait", started)
                return NO_VALUE, token
        self._record("lock.timeout", started, ok=False)
        log.warning("waited %g s for another process to create %r; creating it too", self.lock_wait_s, key)
        return NO_VALUE, None

    def _store(self, key: str, value: Any, ttl: float | None, token: str | None) -> None:
        l2_ttl, l1_ttl = self._ttls(key, ttl)
        self.l1.set(key, value, l1_ttl)
        if self.l2 is None:
            return
        started = time.perf_counter()
        try:
            if token is not None and self._shared is not None:
                self._shared.set_and_unlock(key, value, l2_ttl, token)
            else:
                self.l2.set(key, value, l2_ttl)
        except CacheUnavailable as exc:
            self._l2_failed(exc, started)

    def _unlock(self, key: str, token: str) -> None:
        assert self._shared is not None
        started = time.perf_counter()
        try:
            self._shared.unlock(key, token)
        except CacheUnavailable as exc:
            self._l2_failed(exc, started)  # the lock expires by itself

    # -- internals -----------------------------------------------------------------------------

    def _ttls(self, key: str, ttl: float | None) -> tuple[float, float]:
        """(L2 TTL, L1 TTL) for ``key``: the explicit ``ttl``, else its namespace kind's."""
        if ttl is None:
            ttl = self.namespace_ttls.get(key.partition(":")[0], self.default_ttl)
        return ttl, min(ttl, self.l1_ttl)

    def _copy_to_l1(self, key: str, value: Any, l2_left: float) -> None:
        # never longer than the L2 original has left, so L1 cannot serve it past its TTL
        self.l1.set(key, value, min(self._ttls(key, None)[1], l2_left))

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                if len(self._locks) >= _MAX_LOCKS:  # keep the table bounded
                    self._locks = {k: v for k, v in self._locks.items() if v.locked()}
                lock = self._locks[key] = threading.Lock()
            return lock

    def _l2_failed(self, error: CacheUnavailable, started: float) -> None:
        # A skipped call (breaker open) costs nothing and is no new failure; count it apart.
        if isinstance(error, CircuitOpen):
            self._record("l2.skip", started)
        else:
            self._record("l2.error", started, ok=False)

    def _record(self, event: str, started: float, ok: bool = True) -> None:
        self.counts.add(event)
        observer = self.observer
        if observer is not None:
            observer.record("cache", event, time.perf_counter() - started, ok=ok)
