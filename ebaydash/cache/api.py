"""What every cache level agrees on: the ``NO_VALUE`` sentinel, the backend protocol, the error."""

from __future__ import annotations

import enum
from typing import Any, Final, Protocol


class NoValue(enum.Enum):
    """A miss. A distinct sentinel so that ``0``, ``[]`` and ``None`` are cacheable values."""

    NO_VALUE = "NO_VALUE"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<NO_VALUE>"


NO_VALUE: Final = NoValue.NO_VALUE


class CacheUnavailable(Exception):
    """A cache level could not answer (Redis down, slow or garbled). Never reaches a page:
    the tiered cache catches it and falls through to the next level or the database."""


class CacheBackend(Protocol):
    """One cache level. ``ttl`` is in seconds."""

    name: str

    def get(self, key: str) -> Any | NoValue: ...

    def set(self, key: str, value: Any, ttl: float) -> None: ...

    def delete(self, key: str) -> None: ...
