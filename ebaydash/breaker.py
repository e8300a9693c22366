"""A circuit breaker for Redis: after a failure, skip it for a while instead of waiting on it.

Closed: calls go through. A failure opens it: calls are refused at once (no network, no timeout)
for ``reset_s``. Then one caller is let through as a probe (half-open): success closes the breaker,
failure opens it for another ``reset_s``. So a dead or hung Redis costs one timeout per
``reset_s`` per process, and a recovered one is used again within ``reset_s`` without anyone
having to notice.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        reset_s: float,
        failure_threshold: int = 1,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        if reset_s <= 0 or failure_threshold < 1:
            raise ValueError("reset_s must be > 0 and failure_threshold >= 1")
        self.reset_s = reset_s
        self.failure_threshold = failure_threshold
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_started = 0.0
        self.times_opened = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None  # wall clock, for display

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow(self) -> bool:
        """May a call go to Redis now? While half-open, only the one probe may."""
        if self._state is BreakerState.CLOSED:  # the hot path takes no lock
            return True
        with self._lock:
            now = self._clock()
            if self._state is BreakerState.OPEN and now - self._opened_at >= self.reset_s:
                self._set(BreakerState.HALF_OPEN)
                self._probe_started = now
                return True
            # a probe that never reported back (its thread died) must not wedge the breaker
            if self._state is BreakerState.HALF_OPEN and now - self._probe_started >= self.reset_s:
                self._probe_started = now
                return True
            return self.state is BreakerState.CLOSED  # closed meanwhile by another thread

    def success(self) -> None:
        if self._state is BreakerState.CLOSED and not self._failures:
            return
        with self._lock:
            self._failures = 0
            self._set(BreakerState.CLOSED)

    def failure(self, error: BaseException | str) -> None:
        with self._lock:
            self.last_error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            self.last_error_at = time.time()
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
                if self._state is BreakerState.CLOSED:  # a failed probe is the same outage
                    self.times_opened += 1
                self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        previous, self._state = self._state, state
        if previous is not state and self._on_change is not None:
            self._on_change(previous, state)
