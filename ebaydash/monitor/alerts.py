"""Alert lines: a limit crossed by this process (memory, CPU, response time, error rate).

:func:`check` is pure. :class:`AlertMonitor` runs it after every resource sample (on the
sampler's thread), logs each alert when it starts and when it clears — not on every sample — and
keeps the active alerts and a short log of changes for the resources page.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ebaydash.monitor.metrics import MetricsRecorder, Snapshot
from ebaydash.monitor.resources import ResourceSample
from ebaydash.settings import Settings

log = logging.getLogger("ebaydash.alerts")

ALERT_WINDOW_S = 60.0


@dataclass(frozen=True)
class Limits:
    """The alert limits; the defaults are the settings' (written once, in ``SETTINGS``)."""

    rss_mb: float = Settings.alert_rss_mb
    cpu_percent: float = Settings.alert_cpu_percent
    response_ms: float = Settings.alert_response_ms
    error_rate: float = Settings.alert_error_rate

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            rss_mb=settings.alert_rss_mb,
            cpu_percent=settings.alert_cpu_percent,
            response_ms=settings.alert_response_ms,
            error_rate=settings.alert_error_rate,
        )


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
    """The limits crossed by ``sample`` and the last minute's ``recent`` statistics."""
    alerts = []
    if sample is not None:
        rss_mb = sample.process_rss_bytes / 2**20
        if rss_mb > limits.rss_mb:
            alerts.append(
                Alert("rss", f"Process memory is {rss_mb:,.0f} MiB, over the {limits.rss_mb:,.0f} MiB limit.")
            )
        if sample.process_cpu_percent > limits.cpu_percent:
            alerts.append(
                Alert(
                    "cpu",
                    f"Process CPU is {sample.process_cpu_percent:.0f} %, over the "
                    f"{limits.cpu_percent:.0f} % limit.",
                )
            )
    if recent is not None:
        pages = recent.pages
        if pages.count and pages.mean_ms > limits.response_ms:
            alerts.append(
                Alert(
                    "response",
                    f"Pages took {pages.mean_ms / 1000:,.2f} s on average over the last minute, "
                    f"over the {limits.response_ms / 1000:g} s limit.",
                )
            )
        services = recent.services
        if services.count and services.error_rate > limits.error_rate:
            alerts.append(
                Alert(
                    "errors",
                    f"{services.error_rate:.1%} of service calls failed over the last minute "
                    f"({services.errors:,} of {services.count:,}), over the {limits.error_rate:.0%} limit.",
                )
            )
    return alerts


class AlertMonitor:
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
        self._events: deque[AlertEvent] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._clock = clock
        self._samples = 0

    def on_sample(self, sample: ResourceSample) -> None:
        recent = self.recorder.snapshot(ALERT_WINDOW_S, scope="process", exact=False)  # means suffice
        now = self._clock() if self._clock else sample.at
        current = {a.key: a for a in check(sample, recent, self.limits)}
        self._samples += 1
        if self._samples == 1:
            # the first CPU reading covers only the moments since start-up (imports, connections)
            current.pop("cpu", None)
        with self._lock:
            for key, alert in current.items():
                if key not in self._active:
                    log.warning("alert: %s", alert.message)
                    self._events.append(AlertEvent(now, key, True, alert.message))
            for key, alert in self._active.items():
                if key not in current:
                    log.info("alert cleared: %s", alert.message)
                    self._events.append(AlertEvent(now, key, False, f"Cleared: {alert.message}"))
            self._active = current

    def active(self) -> list[Alert]:
        with self._lock:
            return list(self._active.values())

    def events(self) -> list[AlertEvent]:
        with self._lock:
            return list(self._events)
