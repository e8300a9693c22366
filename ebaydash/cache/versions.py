"""Namespace versions: the part of every cache key that invalidation changes.

A key looks like ``acct:42:v1764180000123:kpis:…``. Invalidating ``acct:42`` bumps its version, so
every key of that account changes at once and the old entries are never read again (they age out
by TTL). With a shared store (Redis) the counter lives there and each process re-reads it at least
every ``check_every_s``, which bounds how long another process can serve figures from before a
write. Without one, versions are plain in-process counters.

If the shared store is down, a process keeps using the last version it saw, and a bump it cannot
publish is kept as a local suffix (``v17~1``) so this process at least stops serving what it just
changed; the bump is published once the store answers again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ebaydash.cache.api import CacheUnavailable, SharedCoordination

_MAX_NAMESPACES = 100_000  # bounds the table should something create namespaces without end


class NamespaceVersions:
    def __init__(
        self,
        store: SharedCoordination | None,
        *,
        check_every_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[CacheUnavailable, float], None] | None = None,
    ) -> None:
        self.store = store
        self.check_every_s = check_every_s
        self._clock = clock
        self._on_error = on_error
        self._seen: dict[str, tuple[int, float]] = {}  # namespace → (version, when read)
        self._local: dict[str, int] = {}  # bumps not published to the store (or no store at all)
        self._lock = threading.Lock()

    def token(self, namespace: str) -> str:
        """The version as it goes into keys."""
        if self.store is None:
            return str(self._local.get(namespace, 0))
        seen = self._seen.get(namespace)
        now = self._clock()
        if seen is None or now - seen[1] >= self.check_every_s:
            seen = self._refresh(namespace, seen, now)
        unpublished = self._local.get(namespace)
        return f"{seen[0]}~{unpublished}" if unpublished else str(seen[0])

    def current(self, namespace: str) -> int:
        """The numeric version (the shared one if known), for display and tests."""
        token = self.token(namespace)
        return int(token.split("~", 1)[0])

    def bump(self, namespace: str) -> None:
        if self.store is None:
            with self._lock:
                self._local[namespace] = self._local.get(namespace, 0) + 1
            return
        started = time.perf_counter()
        try:
            version = self.store.bump_version(namespace, 1 + self._local.get(namespace, 0))
        except CacheUnavailable as exc:
            self._error(exc, started)
            with self._lock:
                self._local[namespace] = self._local.get(namespace, 0) + 1
            return
        with self._lock:
            self._local.pop(namespace, None)
            self._remember(namespace, version, self._clock())

    def _refresh(self, namespace: str, seen: tuple[int, float] | None, now: float) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            self._publish_pending()
            version = self.store.get_version(namespace) if self.store is not None else 0
        except CacheUnavailable as exc:
            self._error(exc, started)
            # Keep what we knew, and ask again only after another interval: during an outage
            # every lookup would otherwise pay for a refused call.
            with self._lock:
                return self._remember(namespace, seen[0] if seen is not None else 0, now)
        with self._lock:
            return self._remember(namespace, version, now)

    def _publish_pending(self) -> None:
        if not self._local or self.store is None:
            return
        for namespace, count in list(self._local.items()):
            version = self.store.bump_version(namespace, count)
            with self._lock:
                if self._local.get(namespace) == count:
                    del self._local[namespace]
                else:  # bumped again meanwhile: keep the difference for next time
                    self._local[namespace] = self._local.get(namespace, 0) - count
                self._remember(namespace, version, self._clock())

    def _remember(self, namespace: str, version: int, now: float) -> tuple[int, float]:
        if len(self._seen) >= _MAX_NAMESPACES:
            self._seen.clear()
        entry = (version, now)
        self._seen[namespace] = entry
        return entry

    def _error(self, error: CacheUnavailable, started: float) -> None:
        if self._on_error is not None:
            self._on_error(error, started)
