"""The cached query layer: in-process L1, optional Redis L2, one ``get_or_create`` API."""

from ebaydash.cache.api import NO_VALUE, CacheBackend, CacheUnavailable, NoValue
from ebaydash.cache.tiered import TieredCache, cacheable

__all__ = ["NO_VALUE", "CacheBackend", "CacheUnavailable", "NoValue", "TieredCache", "cacheable"]
