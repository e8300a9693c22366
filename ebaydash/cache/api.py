"""What every cache level agrees on: the ``NO_VALUE`` sentinel, the backend protocols, the errors."""

from __future__ import annotations

import enum
from typing import Any, Final, Protocol, runtime_checkable


class NoValue(enum.Enum):
    """A miss. A distinct sentinel so that ``0``, ``[]`` and ``None`` are cacheable values."""

    NO_VALUE = "NO_VALUE"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<NO_VALUE>"


NO_VALUE: Final = NoValue.NO_VALUE


class CacheUnavailable(Exception):
    """A cache level could not answer (Redis down, slow or refusing). Never reaches a page:
    the tiered cache catches it and falls through to the next level or the database."""


class CircuitOpen(CacheUnavailable):
    """The level was skipped without trying, because it failed recently (the breaker is open)."""


class CacheObserver(Protocol):
    """Where cache events go (:class:`ebaydash.monitor.metrics.MetricsRecorder` in the app)."""

    def record(
        self, kind: str, name: str, duration_s: float, *, ok: bool = True, rows: int | None = None
    ) -> None: ...


class CacheBackend(Protocol):
    """One cache level. ``ttl`` is in seconds. ``get`` returns ``NO_VALUE`` on a miss, including
    for an entry it cannot read back; it raises :class:`CacheUnavailable` when the level is down."""

    name: str

    def get(self, key: str) -> Any | NoValue: ...

    def get_with_ttl(self, key: str) -> tuple[Any | NoValue, float]:
        """The value and the seconds it has left (so a copy kept elsewhere does not outlive it)."""
        ...

    def set(self, key: str, value: Any, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...


@runtime_checkable
class SharedCoordination(Protocol):
    """What a level shared between processes adds: namespace versions and short-lived locks.

    Every method raises :class:`CacheUnavailable` when the level cannot answer."""

    def get_version(self, namespace: str) -> int: ...

    def bump_version(self, namespace: str, by: int = 1) -> int: ...

    def try_lock(self, key: str, ttl_s: float) -> str | None:
        """A token if this caller now holds the lock on ``key``; ``None`` if someone else does."""
        ...

    def unlock(self, key: str, token: str) -> bool:
        """Release the lock if ``token`` still owns it (it may have expired and moved on)."""
        ...

    def claim(self, key: str, ttl_s: float) -> tuple[str | None, Any | NoValue, float]:
        """In one round trip: ``(None, value, seconds left)`` if ``key`` has a value by now;
        else ``(token, NO_VALUE, 0)`` if this caller got the creator lock, ``(None, NO_VALUE, 0)``
        if another caller holds it."""
        ...

    def set_and_unlock(self, key: str, value: Any, ttl: float, token: str) -> None:
        """Store the created value and release the creator lock, in one round trip."""
        ...
