"""Alert lines: a limit crossed by this process (memory, CPU, response time, error rate).

:func:`check` is pure: the limits a sample and the last minute's statistics are over.
:class:`AlertMonitor` runs after every resource sample (on the sampler's thread) and turns those
readings into alerts that do not flap, as Prometheus' ``for:`` clause and Alertmanager's
resolution do, with a hysteresis band on top:

- an alert is **raised** once its reading has stayed over the limit for ``Limits.raise_after_s``;
- it is **cleared** once the reading has stayed under the *clear line* (``Limits.clear_fraction``
  of the limit, 90 %) for ``Limits.clear_after_s``; between the clear line and the limit an
  active alert stays active, so a reading hovering at the limit does not raise, clear and raise
  again every sample.

Each message says what is true at that moment: a raised alert gives its current reading and the
limit; a cleared one gives the reading it cleared at and the clear line ("Cleared: process CPU is
62 %, under 72 % for 30 s; the limit is 80 %."), never the reading that raised it. The monitor logs
each raise and clear (not every sample) and keeps the active alerts and a short log of changes
for the resources page.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ebaydash.monitor.metrics import MetricsRecorder, Snapshot
from ebaydash.monitor.resources import ResourceSample
from ebaydash.settings import Settings

log = logging.getLogger("ebaydash.alerts")

ALERT_WINDOW_S = 60.0


@dataclass(frozen=True)
class Limits:
    """The alert limits (the defaults are the settings', written once, in ``SETTINGS``), the
    hysteresis and the durations."""

    rss_mb: float = Settings.alert_rss_mb
    cpu_percent: float = Settings.alert_cpu_percent
    response_ms: float = Settings.alert_response_ms
    error_rate: float = Settings.alert_error_rate
    clear_fraction: float = 0.9  # an active alert clears only under this share of its limit
    raise_after_s: float = 15.0  # over the limit this long (three samples at 5 s) before raising
    clear_after_s: float = 30.0  # under the clear line this long before clearing

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            rss_mb=settings.alert_rss_mb,
            cpu_percent=settings.alert_cpu_percent,
            response_ms=settings.alert_response_ms,
            error_rate=settings.alert_error_rate,
        )


@dataclass(frozen=True)
class Reading:
    """One alert's measure now: ``value`` against ``limit`` (over it raises) and ``clear_below``."""

    key: str  # rss | cpu | response | errors
    label: str  # "process memory"
    value: float
    limit: float
    clear_below: float
    over_message: str  # the sentence for a reading over the limit
    show: Callable[[float], str] = field(repr=False, default=str)

    @property
    def over(self) -> bool:
        return self.value > self.limit

    @property
    def clear(self) -> bool:
        return self.value < self.clear_below


def readings(sample: ResourceSample | None, recent: Snapshot | None, limits: Limits) -> dict[str, Reading]:
    """Every measure there is a value for (no page runs: no response time; no service calls: no
    error rate), by key."""
    out: list[Reading] = []
    clear = limits.clear_fraction

    def mib(v: float) -> str:
        return f"{v:,.0f} MiB"

    def pct(v: float) -> str:
        return f"{v:.0f} %"

    def secs(v: float) -> str:
        return f"{v / 1000:,.2f} s"

    def share(v: float) -> str:
        return f"{v:.1%}"

    if sample is not None:
        rss_mb = sample.process_rss_bytes / 2**20
        out.append(
            Reading(
                "rss",
                "process memory",
                rss_mb,
                limits.rss_mb,
                limits.rss_mb * clear,
                f"Process memory is {mib(rss_mb)}, over the {mib(limits.rss_mb)} limit.",
                mib,
            )
        )
        cpu = sample.process_cpu_percent
        out.append(
            Reading(
                "cpu",
                "process CPU",
                cpu,
                limits.cpu_percent,
                limits.cpu_percent * clear,
                f"Process CPU is {pct(cpu)}, over the {pct(limits.cpu_percent)} limit.",
                pct,
            )
        )
    if recent is not None:
        pages = recent.pages
        if pages.count:
            out.append(
                Reading(
                    "response",
                    "the mean page time over the last minute",
                    pages.mean_ms,
                    limits.response_ms,
                    limits.response_ms * clear,
                    f"Pages took {secs(pages.mean_ms)} on average over the last minute, "
                    f"over the {limits.response_ms / 1000:g} s limit.",
                    secs,
                )
            )
        services = recent.services
        if services.count:
            out.append(
                Reading(
                    "errors",
                    "the share of failed service calls over the last minute",
                    services.error_rate,
                    limits.error_rate,
                    limits.error_rate * clear,
                    f"{share(services.error_rate)} of service calls failed over the last minute "
                    f"({services.errors:,} of {services.count:,}), over the {limits.error_rate:.0%} limit.",
                    share,
                )
            )
    return {r.key: r for r in out}


@dataclass(frozen=True)
class Alert:
    key: str  # rss | cpu | response | errors
    message: str


@dataclass(frozen=True)
class AlertEvent:
    at: float
    key: str
    raised: bool  # False: the alert cleared
    message: str


def check(sample: ResourceSample | None, recent: Snapshot | None, limits: Limits) -> list[Alert]:
    """The limits crossed by ``sample`` and the last minute's ``recent`` statistics, now (no
    duration, no hysteresis: that is :class:`AlertMonitor`'s part)."""
    return [Alert(r.key, r.over_message) for r in readings(sample, recent, limits).values() if r.over]


def _cleared_message(r: Reading | None, key: str, held_s: float) -> str:
    if r is None:  # no page runs or service calls any more: nothing over any limit
        return f"Cleared: no {_NAMES[key]} in the last minute for {held_s:.0f} s."
    return (
        f"Cleared: {r.label} is {r.show(r.value)}, under {r.show(r.clear_below)} for {held_s:.0f} s; "
        f"the limit is {r.show(r.limit)}."
    )


def _active_message(r: Reading, limits: Limits, held_s: float) -> str:
    """An active alert's line for its reading now: over the limit, between the limit and the
    clear line, or under the clear line but not yet for long enough."""
    if r.over:
        return r.over_message
    label = f"{r.label[0].upper()}{r.label[1:]}"
    if not r.clear:
        return (
            f"{label} is {r.show(r.value)}: under the {r.show(r.limit)} limit, not yet under "
            f"{r.show(r.clear_below)}, where the alert clears."
        )
    return (
        f"{label} is {r.show(r.value)}, under {r.show(r.clear_below)} for {held_s:.0f} s; the alert "
        f"clears after {limits.clear_after_s:g} s."
    )


KEYS = ("rss", "cpu", "response", "errors")
_NAMES = {"rss": "memory reading", "cpu": "CPU reading", "response": "page runs", "errors": "service calls"}


class AlertMonitor:
    """The alert state machine (see the module's docstring). Thread-safe."""

    def __init__(
        self,
        recorder: MetricsRecorder,
        limits: Limits,
        *,
        history: int = 200,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.recorder = recorder
        self.limits = limits
        self._active: dict[str, Alert] = {}
        self._pending: dict[str, float] = {}  # key → when its reading started to ask for a change
        self._events: deque[AlertEvent] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._clock = clock
        self._samples = 0

    def on_sample(self, sample: ResourceSample) -> None:
        recent = self.recorder.snapshot(ALERT_WINDOW_S, scope="process", exact=False)  # means suffice
        now = self._clock() if self._clock else sample.at
        current = readings(sample, recent, self.limits)
        self._samples += 1
        if self._samples == 1:
            # the first CPU reading covers only the moments since start-up (imports, connections)
            current.pop("cpu", None)
        limits = self.limits
        with self._lock:
            for key in sorted({*current, *self._active, *self._pending}, key=KEYS.index):
                r = current.get(key)
                active = key in self._active
                # what would change this alert's state: over the limit (inactive), or under its
                # clear line or without any reading (active)
                asking = (r is None or r.clear) if active else (r is not None and r.over)
                if not asking:
                    self._pending.pop(key, None)
                    if active and r is not None:
                        self._active[key] = Alert(key, _active_message(r, limits, 0.0))
                    continue
                since = self._pending.setdefault(key, now)
                held = now - since
                if not active and r is not None and held >= limits.raise_after_s:
                    alert = Alert(key, r.over_message)
                    self._active[key] = alert
                    del self._pending[key]
                    log.warning("alert: %s", alert.message)
                    self._events.append(AlertEvent(now, key, True, alert.message))
                elif active and held >= limits.clear_after_s:
                    message = _cleared_message(r, key, held)
                    del self._active[key], self._pending[key]
                    log.info("alert cleared: %s", message)
                    self._events.append(AlertEvent(now, key, False, message))
                elif active and r is not None:
                    self._active[key] = Alert(key, _active_message(r, limits, held))

    def active(self) -> list[Alert]:
        with self._lock:
            return list(self._active.values())

    def events(self) -> list[AlertEvent]:
        with self._lock:
            return list(self._events)
