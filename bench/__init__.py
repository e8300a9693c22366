"""Benchmarks: ``make bench`` runs every section and writes ``docs/BENCHMARKS.md``.

A section is a module in this package with ``run(env: BenchEnv) -> list[Measurement]``; the runner
discovers them, so adding a benchmark means adding a module (helpers start with an underscore).
Speed targets live here, never in timed unit tests.

Like ``tests/``, this package drives the app from outside and is not shipped with it: it may import
streamlit (AppTest), build SQL of its own (baselines) and start private servers
(``tests/redis_server.py``). Run it from the repository root: ``python -m bench``.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ebaydash.settings import Settings
from ebaydash.viewer import Viewer

#: who the benchmarks run as: the server itself (they measure the services, not the grants)
VIEWER = Viewer.operator("bench")


@dataclass(frozen=True)
class Measurement:
    section: str
    name: str
    value: float
    unit: str
    target: str = ""  # e.g. "<= 25 ms"
    ok: bool | None = None  # None: informational, no target
    note: str = ""


@dataclass
class BenchEnv:
    """What a section may use. ``settings`` points at the large Postgres benchmark database."""

    settings: Settings
    admin_url: str
    redis_url: str | None
    orders: int
    quick: bool
    facts: dict[str, Any] = field(default_factory=dict)  # shared between sections


def timings(fn: Callable[[], object], *, repeat: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls after ``warmup`` calls, GC paused while timing."""
    for _ in range(warmup):
        fn()
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def check(value: float, *, at_most: float | None = None, at_least: float | None = None) -> bool:
    if at_most is not None and value > at_most:
        return False
    return not (at_least is not None and value < at_least)
