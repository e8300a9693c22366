"""Prometheus exposition of what the metrics recorder sees, with ``prometheus_client``.

One :class:`PrometheusBridge` per process owns one registry. It is fed by the recorder's *fold*
(:meth:`MetricsRecorder.add_sink`): the background flusher hands over each batch of queued
events once a second, so the request threads' hot path (``record``, about 1 µs) is untouched.
Scrape-time values — live sessions and the scaling recommendation — come from callbacks.

Simulated visitors' events (kinds prefixed ``sim:``, see :mod:`.metrics`) are left out: every
series here is of real traffic.

Names follow Prometheus' conventions (``ebaydash_`` prefix, base units, ``_seconds``,
``_total`` for counters):

- ``ebaydash_page_duration_seconds{page}`` (histogram): page runs (script runs), timed by
  ``ui.run_page``
- ``ebaydash_service_duration_seconds{service}`` (histogram): service calls (``@measured``)
- ``ebaydash_query_duration_seconds{query}`` (histogram): named queries through the gateway
- ``ebaydash_sql_statement_duration_seconds{verb}`` (histogram): every SQL statement, by verb
- ``ebaydash_errors_total{kind}``: failed page runs, service calls, queries and statements
- ``ebaydash_cache_hits_total{level}``: lookups answered by ``l1``, ``l2`` or a ``stale`` copy
- ``ebaydash_cache_misses_total{level}``: lookups ``l1`` could not answer; of those, the ones
  ``l2`` could not answer either (only with a shared cache)
- ``ebaydash_cache_errors_total{event}``: ``l2.error``, ``l2.decode.error``, ``lock.timeout``,
  ``breaker.open``
- ``ebaydash_live_sessions`` (gauge): browser sessions connected to this process
- ``ebaydash_scaling_current_replicas``, ``ebaydash_scaling_desired_replicas`` (gauges): what the
  rules engine counts and recommends now (a preview: nothing is claimed)
- ``ebaydash_scaling_recommendation{action}`` (gauge): 1 for the recommended action
  (``scale_up``, ``scale_down``, ``hold``), 0 for the others
- ``ebaydash_scaling_cooldown_remaining_seconds`` (gauge): until the shared cooldown allows a change
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ebaydash.monitor.metrics import OTHER, RawEvent
from ebaydash.monitor.scaling import ACTION_LABELS, Decision

log = logging.getLogger(__name__)

# Bucket bounds in seconds: a page run takes milliseconds to seconds, a statement far less.
PAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
MAX_LABEL_VALUES = 100  # per metric; further names are counted as "(other)"
CACHE_ERRORS = ("l2.error", "l2.decode.error", "lock.timeout", "breaker.open")


class PrometheusBridge:
    """The process's registry and the recorder sink that fills it. Thread-safe."""

    def __init__(self, *, shared_cache: bool = False) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.shared_cache = shared_cache
        r = self.registry
        self._histograms: dict[str, tuple[Histogram, str]] = {
            "page": (
                Histogram(
                    "ebaydash_page_duration_seconds",
                    "Page runs (Streamlit script runs) by page.",
                    ["page"],
                    buckets=PAGE_BUCKETS,
                    registry=r,
                ),
                "page",
            ),
            "service": (
                Histogram(
                    "ebaydash_service_duration_seconds",
                    "Service calls by service.",
                    ["service"],
                    buckets=PAGE_BUCKETS,
                    registry=r,
                ),
                "service",
            ),
            "query": (
                Histogram(
                    "ebaydash_query_duration_seconds",
                    "Named queries through the database gateway.",
                    ["query"],
                    buckets=FAST_BUCKETS,
                    registry=r,
                ),
                "query",
            ),
            "sql": (
                Histogram(
                    "ebaydash_sql_statement_duration_seconds",
                    "Every SQL statement, by its first keyword.",
                    ["verb"],
                    buckets=FAST_BUCKETS,
                    registry=r,
                ),
                "verb",
            ),
        }
        self._errors = Counter(
            "ebaydash_errors",
            "Failed page runs, service calls, queries and statements.",
            ["kind"],
            registry=r,
        )
        self._hits = Counter(
            "ebaydash_cache_hits", "Cache lookups answered, by level.", ["level"], registry=r
        )
        self._misses = Counter(
            "ebaydash_cache_misses",
            "Cache lookups a level could not answer: every lookup l1 missed; those l2 missed too.",
            ["level"],
            registry=r,
        )
        self._cache_errors = Counter(
            "ebaydash_cache_errors", "Shared-cache failures by event.", ["event"], registry=r
        )
        self._children: dict[tuple[str, str], Any] = {}
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._collectors: list[Collector] = []

    # -- the recorder's sink -------------------------------------------------------------------

    def on_events(self, events: Sequence[RawEvent]) -> None:
        """Add a folded batch of ``(at, kind, name, seconds, ok, rows)`` events."""
        with self._lock:
            for _at, kind, name, seconds, ok, _rows in events:
                entry = self._histograms.get(kind)
                if entry is not None:
                    self._child(kind, name).observe(seconds)
                    if not ok:
                        self._errors.labels(kind).inc()
                elif kind == "cache":
                    self._cache_event(name)

    def _child(self, kind: str, name: str) -> Any:
        child = self._children.get((kind, name))
        if child is None:
            seen = self._seen.setdefault(kind, set())
            if name not in seen and len(seen) >= MAX_LABEL_VALUES:
                name = OTHER
                child = self._children.get((kind, name))
            if child is None:
                seen.add(name)
                child = self._children[(kind, name)] = self._histograms[kind][0].labels(name)
        return child

    def _cache_event(self, name: str) -> None:
        if name == "l1.hit":
            self._hits.labels("l1").inc()
        elif name in ("l2.hit", "stale.hit", "miss"):
            self._misses.labels("l1").inc()
            if name == "l2.hit":
                self._hits.labels("l2").inc()
            else:
                if name == "stale.hit":
                    self._hits.labels("stale").inc()
                if self.shared_cache:
                    self._misses.labels("l2").inc()
        elif name in CACHE_ERRORS:
            self._cache_errors.labels(name).inc()

    # -- scrape-time values --------------------------------------------------------------------

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)
        self._collectors.append(collector)

    def remove_collectors(self) -> None:
        for collector in self._collectors:
            self.registry.unregister(collector)
        self._collectors.clear()


class GaugeCallback(Collector):
    """One gauge read from ``value()`` at scrape time; no sample when it fails or gives None."""

    def __init__(self, name: str, documentation: str, value: Callable[[], float | None]) -> None:
        self.name = name
        self.documentation = documentation
        self.value = value

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [GaugeMetricFamily(self.name, self.documentation)]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            value = self.value()
        except Exception:
            log.exception("reading %s failed", self.name)
            return []
        if value is None:
            return []
        return [GaugeMetricFamily(self.name, self.documentation, value=value)]


class ScalingCollector(Collector):
    """The rules engine's current recommendation, evaluated at scrape time (at most every
    ``min_interval_s``; scrapes in between get the same decision). Nothing is claimed."""

    def __init__(self, decide: Callable[[], Decision], *, min_interval_s: float = 5.0) -> None:
        self.decide = decide
        self.min_interval_s = min_interval_s
        self._cached: tuple[float, Decision] | None = None
        self._lock = threading.Lock()

    def _decision(self) -> Decision | None:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self.min_interval_s:
                try:
                    self._cached = (now, self.decide())
                except Exception:
                    log.exception("the scaling recommendation could not be evaluated for /metrics")
                    return None
            return self._cached[1]

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self._families(None)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        decision = self._decision()
        return self._families(decision) if decision is not None else []

    @staticmethod
    def _families(decision: Decision | None) -> list[GaugeMetricFamily]:
        current = GaugeMetricFamily(
            "ebaydash_scaling_current_replicas", "Replicas the scaling rules engine counted."
        )
        desired = GaugeMetricFamily(
            "ebaydash_scaling_desired_replicas", "Replicas the scaling rules engine recommends now."
        )
        action = GaugeMetricFamily(
            "ebaydash_scaling_recommendation",
            "1 for the action the scaling rules engine recommends now, 0 for the others.",
            labels=["action"],
        )
        cooldown = GaugeMetricFamily(
            "ebaydash_scaling_cooldown_remaining_seconds",
            "Seconds until the shared cooldown allows the next scaling action.",
        )
        if decision is not None:
            current.add_metric([], decision.current_replicas)
            desired.add_metric([], decision.desired_replicas)
            for name in ACTION_LABELS:
                action.add_metric([name], 1.0 if decision.action == name else 0.0)
            cooldown.add_metric([], decision.cooldown_left_s)
        return [current, desired, action, cooldown]
