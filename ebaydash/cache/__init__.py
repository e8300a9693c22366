"""The cached query layer: in-process L1, optional Redis L2, one ``get_or_create`` API."""

from ebaydash.cache.api import NO_VALUE, CacheBackend, CacheUnavailable, CircuitOpen, NoValue
from ebaydash.cache.decorator import cacheable, key_for
from ebaydash.cache.status import CacheStatus, L2Status
from ebaydash.cache.tiered import TieredCache

__all__ = [
    "NO_VALUE",
    "CacheBackend",
    "CacheStatus",
    "CacheUnavailable",
    "CircuitOpen",
    "L2Status",
    "NoValue",
    "TieredCache",
    "cacheable",
    "key_for",
]
