"""Helpers for the cache tests: a private redis-server to break on purpose, and a fake clock.

The shared Redis at 127.0.0.1:6379 is never stopped, paused or flushed: fault tests start their
own server on a free port with :class:`RedisServer` (shared with the benchmark).
"""

from __future__ import annotations

import uuid

from tests.redis_server import RedisServer

__all__ = ["FakeClock", "RedisServer", "unique_prefix"]


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def unique_prefix() -> str:
    return f"ebaydash-test-{uuid.uuid4().hex[:12]}"
