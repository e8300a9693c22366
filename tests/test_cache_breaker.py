"""The circuit breaker on a clock the test controls."""

from __future__ import annotations

import threading

import pytest

from ebaydash.breaker import BreakerState, CircuitBreaker
from tests.cache_support import FakeClock


def breaker(clock: FakeClock, **kwargs: object) -> tuple[CircuitBreaker, list[tuple[str, str]]]:
    changes: list[tuple[str, str]] = []
    made = CircuitBreaker(
        reset_s=10, clock=clock, on_change=lambda a, b: changes.append((a.value, b.value)), **kwargs
    )  # type: ignore[arg-type]
    return made, changes


def test_a_failure_opens_it_and_calls_are_refused_until_the_reset_time() -> None:
    clock = FakeClock()
    b, changes = breaker(clock)
    assert b.allow()
    b.failure(TimeoutError("read timed out"))
    assert b.state is BreakerState.OPEN and not b.allow()
    assert b.last_error == "TimeoutError: read timed out" and b.times_opened == 1
    clock.advance(9.9)
    assert not b.allow()
    clock.advance(0.1)
    assert b.allow()  # the probe
    assert b.state is BreakerState.HALF_OPEN
    assert not b.allow()  # only one probe at a time
    b.success()
    assert b.state is BreakerState.CLOSED and b.allow()
    assert changes == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_a_failed_probe_opens_it_for_another_period() -> None:
    clock = FakeClock()
    b, _ = breaker(clock)
    b.failure("down")
    clock.advance(10)
    assert b.allow()
    b.failure("still down")
    assert b.state is BreakerState.OPEN and not b.allow()
    clock.advance(10)
    assert b.allow()
    assert b.times_opened == 1  # re-opening after a probe is the same outage


def test_a_probe_that_never_reports_does_not_wedge_it() -> None:
    clock = FakeClock()
    b, _ = breaker(clock)
    b.failure("down")
    clock.advance(10)
    assert b.allow()  # this probe's thread dies without reporting
    clock.advance(10)
    assert b.allow()


def test_a_threshold_counts_consecutive_failures() -> None:
    clock = FakeClock()
    b, _ = breaker(clock, failure_threshold=3)
    b.failure("1")
    b.failure("2")
    b.success()
    b.failure("1")
    b.failure("2")
    assert b.state is BreakerState.CLOSED
    b.failure("3")
    assert b.state is BreakerState.OPEN


def test_only_one_of_many_threads_probes() -> None:
    clock = FakeClock()
    b, _ = breaker(clock)
    b.failure("down")
    clock.advance(10)
    allowed: list[bool] = []
    threads = [threading.Thread(target=lambda: allowed.append(b.allow())) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 1


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(reset_s=0)
