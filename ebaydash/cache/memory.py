"""L1: an in-process cache bounded by entries and bytes, with TTL and LRU eviction. Thread-safe."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import pandas as pd

from ebaydash.cache.api import NO_VALUE, NoValue


class _Entry(NamedTuple):
    value: Any
    expires_at: float
    size: int


def approx_size(value: Any, _depth: int = 0) -> int:
    """A cheap estimate of the bytes a value holds, good enough to bound the cache."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=True).sum())
    size = sys.getsizeof(value)
    if _depth > 4:
        return size
    if isinstance(value, dict):
        return size + sum(approx_size(k, _depth + 1) + approx_size(v, _depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(approx_size(v, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return size + sum(approx_size(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value))
    return size


class MemoryBackend:
    """LRU with per-entry expiry, bounded by entries and by (estimated) bytes.

    ``get`` of an expired entry is a miss. With ``stale_s > 0`` an expired entry is kept that much
    longer for :meth:`get_stale` (serving the old value while one caller makes a new one); it
    still counts against the bounds and is the first to go under LRU.
    """

    name = "l1"

    def __init__(
        self,
        *,
        max_entries: int = 4096,
        max_bytes: int = 64 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
        sizeof: Callable[[Any], int] = approx_size,
        stale_s: float = 0.0,
    ) -> None:
        self.max_entries = max_entries
        self.stale_s = stale_s
        self.max_bytes = max_bytes
        self._clock = clock
        self._sizeof = sizeof
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.evictions = 0

    def get(self, key: str) -> Any | NoValue:
        return self.get_with_ttl(key)[0]

    def get_with_ttl(self, key: str) -> tuple[Any | NoValue, float]:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return NO_VALUE, 0.0
            now = self._clock()
            if entry.expires_at <= now:
                if entry.expires_at + self.stale_s <= now:
                    self._remove(key)
                return NO_VALUE, 0.0
            self._data.move_to_end(key)
            return entry.value, entry.expires_at - now

    def get_stale(self, key: str) -> Any | NoValue:
        """The value of ``key`` even if it expired less than ``stale_s`` ago."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return NO_VALUE
            if entry.expires_at + self.stale_s <= self._clock():
                self._remove(key)
                return NO_VALUE
            return entry.value

    def set(self, key: str, value: Any, ttl: float) -> None:
        size = self._sizeof(value)
        if size > self.max_bytes or ttl <= 0:
            self.delete(key)
            return
        with self._lock:
            if key in self._data:
                self._remove(key)
            self._data[key] = _Entry(value, self._clock() + ttl, size)
            self._bytes += size
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                oldest = next(iter(self._data))
                self._remove(oldest)
                self.evictions += 1

    def delete(self, key: str) -> None:
        with self._lock:
            if key in self._data:
                self._remove(key)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def _remove(self, key: str) -> None:
        entry = self._data.pop(key)
        self._bytes -= entry.size
