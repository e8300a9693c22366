"""L1: an in-process cache bounded by entries and bytes, with TTL and LRU eviction. Thread-safe."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from decimal import Decimal
from itertools import islice
from typing import Any, NamedTuple

import pandas as pd

from ebaydash.cache.api import NO_VALUE, NoValue


class _Entry(NamedTuple):
    value: Any
    expires_at: float
    size: int


_SAMPLE = 4  # containers longer than this are estimated from this many of their items


def approx_size(value: Any, _depth: int = 0) -> int:
    """A cheap estimate of the bytes a value holds, good enough to bound the cache.

    Long containers are measured on a sample of their items (rows of a page are alike): walking
    all 50 rows of a page took over a millisecond, more than reading the page from Redis."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=True).sum())
    size = sys.getsizeof(value)
    if _depth > 4:
        return size
    if isinstance(value, dict):
        return size + _items_size(value.keys(), _depth) + _items_size(value.values(), _depth)
    if isinstance(value, list | tuple | set | frozenset):
        return size + _items_size(value, _depth)
    fields = getattr(type(value), "__dataclass_fields__", None)
    if fields is not None:
        inner = getattr(value, "__dict__", None)
        size += sys.getsizeof(inner) if inner is not None else 0
        for name in fields:
            field = getattr(value, name)
            size += sys.getsizeof(field) if type(field) in _FLAT else approx_size(field, _depth + 1)
    return size


# values with nothing inside worth walking into
_FLAT = frozenset((int, float, str, bool, type(None), bytes, Decimal, dt.datetime, dt.date))


def _items_size(items: Collection[Any], depth: int) -> int:
    count = len(items)
    if count <= _SAMPLE:
        return sum(approx_size(item, depth + 1) for item in items)
    sample = list(islice(items, 0, None, count // _SAMPLE))[:_SAMPLE]
    return sum(approx_size(item, depth + 1) for item in sample) * count // len(sample)


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
        # the L1 hit path: kept apart from get_with_ttl to save a call and a tuple
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return NO_VALUE
            now = self._clock()
            if entry.expires_at <= now:
                if entry.expires_at + self.stale_s <= now:
                    self._remove(key)
                return NO_VALUE
            self._data.move_to_end(key)
            return entry.value

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
