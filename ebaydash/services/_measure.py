"""Service-call timing, recorded for the performance page."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ebaydash.context import Context

P = ParamSpec("P")
T = TypeVar("T")


def measured(name: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Record the duration and outcome of a service call under ``name``."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            ctx = args[0]
            assert isinstance(ctx, Context)
            started = time.perf_counter()
            ok = False
            try:
                result = fn(*args, **kwargs)
                ok = True
                return result
            finally:
                ctx.recorder.record("service", name, time.perf_counter() - started, ok=ok)

        return wrapper

    return decorate
