"""What the cache reports about itself, for the performance page: sizes, breaker, counters."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class L2Status:
    """The shared (Redis) level. ``state`` is the circuit breaker's: closed, open or half-open."""

    target: str  # the Redis URL without credentials
    state: str
    times_opened: int
    last_error: str | None
    last_error_at: float | None  # wall clock (time.time())
    timeout_ms: float
    reset_s: float


@dataclass(frozen=True)
class CacheStatus:
    l1_entries: int
    l1_bytes: int
    l1_max_entries: int
    l1_max_bytes: int
    l1_evictions: int
    l1_ttl_s: float
    l2_ttl_s: float
    l2: L2Status | None  # None: no Redis configured, the in-process cache is all there is
    degraded: bool
    counts: dict[str, int] = field(default_factory=dict)  # events since start, by name

    @property
    def lookups(self) -> int:
        return sum(self.counts.get(n, 0) for n in ("l1.hit", "l2.hit", "stale.hit", "miss"))

    def hit_rate(self, level: str) -> float | None:
        """Share of lookups answered by ``level`` (``l1``, ``l2`` or ``stale``) since start."""
        if not self.lookups:
            return None
        return self.counts.get(f"{level}.hit", 0) / self.lookups


class EventCounts:
    """Thread-safe counters of cache events since the process started (never reset, cheap)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
