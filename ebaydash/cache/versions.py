"""Namespace versions: the part of every cache key that invalidation changes.

A key looks like ``acct:42:v1764180000123:kpis:…``. Invalidating ``acct:42`` bumps its version, so
every key of that account changes at once and the old entries are never read again (they age out
by TTL). With a shared store (Redis) the counter lives there and each process re-reads it at least
every ``check_every_s``, which bounds how long another process can serve figures from before a
write. Without one, versions are plain in-process counters.

If the shared store is down, a process keeps using the last version it saw, and a bump it cannot
publish is kept as a local suffix (``v17~1``) so this process at least stops serving what it just
changed; the bump is published once the store answers again.

That bump can still be lost (the process that wrote ends before Redis answers again), so a
namespace also carries its data's own version (:class:`SourceVersions`), read from the database
where the write committed it: whatever happens to Redis, a write shows within ``ttl_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from ebaydash.cache.api import CacheUnavailable, SharedCoordination

log = logging.getLogger(__name__)

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


class SourceVersions:
    """The versions of the data behind the namespaces, read from where the data lives (the
    database), remembered for ``ttl_s``.

    A write commits its data and the new version together, so a key made with a version read
    *before* computing the value can never hold data older than its version, and a reader sees a
    write within ``ttl_s`` (plus one read) of its commit, however the writer ended and whether
    Redis answers or not: unlike :class:`NamespaceVersions`, nothing can be lost between the write
    and its invalidation. ``read()`` returns every namespace's version in one call (one statement);
    a namespace it does not name has version ``"0"``.

    The first caller past ``ttl_s`` starts the read on a thread of its own and waits for it up to
    ``wait_s`` (a healthy database answers in milliseconds); past that, callers go on with the
    versions they have while the read finishes. So a database that stops answering costs a page at
    most ``wait_s`` here, on top of its own statements' limits. When the read fails (the database
    is down, so no write can commit there either) the last versions stay in use and it is tried
    again after ``retry_s``.
    """

    def __init__(
        self,
        read: Callable[[], Mapping[str, str]],
        *,
        ttl_s: float = 1.0,
        retry_s: float = 2.0,
        wait_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.ttl_s = ttl_s
        self.retry_s = max(retry_s, ttl_s)
        self.wait_s = wait_s
        self._clock = clock
        self._versions: Mapping[str, str] = {}
        self._next_read = float("-inf")
        self._expired_at = float("-inf")
        self._lock = threading.Lock()
        self._reading: threading.Event | None = None  # set when the read in flight ends
        self._wait_until = 0.0  # callers wait for the read in flight until then
        self.failures = 0  # reads that failed, for tests and the status panel

    def token(self, namespace: str) -> str:
        if self._clock() >= self._next_read:
            self.refresh()
        return self._versions.get(namespace, "0")

    def expire(self) -> None:
        """Forget when the versions were read: the next :meth:`token` reads them again (a write
        of this process has just committed a new version)."""
        with self._lock:
            self._next_read = float("-inf")
            self._expired_at = self._clock()  # a read already in flight may predate the write

    def refresh(self) -> None:
        """Read the versions (or join the read in flight), waiting for it up to ``wait_s``."""
        with self._lock:
            now = self._clock()
            if now < self._next_read:
                return  # read meanwhile
            reading = self._reading
            if reading is None:
                reading = self._reading = threading.Event()
                self._wait_until = now + self.wait_s
                threading.Thread(
                    target=self._read_now, args=(reading, now), name="ebaydash-data-versions", daemon=True
                ).start()
            wait = self._wait_until - now
        if wait > 0:
            reading.wait(wait)

    def _read_now(self, reading: threading.Event, started: float) -> None:
        try:
            versions = dict(self._read())
        except Exception as exc:  # whatever stops the read also stops the page's own query
            with self._lock:
                self.failures += 1
                self._next_read = started + self.retry_s
                known = bool(self._versions)
            # before any read succeeded (a one-shot command) there are no last ones to use
            fallback = "using the last ones" if known else "none read yet"
            log.warning(
                "could not read the data versions (%s); %s, trying again in %g s", exc, fallback, self.retry_s
            )
        else:
            with self._lock:
                self._versions = versions
                stale = self._expired_at >= started  # expired after this read began
                self._next_read = float("-inf") if stale else started + self.ttl_s
        finally:
            with self._lock:
                self._reading = None
            reading.set()
