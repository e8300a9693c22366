"""This process's Prometheus endpoint (``EBAYDASH_METRICS_PORT``): one registry, one HTTP server.

:func:`attach` is called with the process's :class:`~ebaydash.context.Context` (by ``ui`` when it
builds it). The first call starts ``prometheus_client``'s HTTP server on
``EBAYDASH_METRICS_HOST:EBAYDASH_METRICS_PORT`` (``/metrics``, in a daemon thread); a later
context (the app's resource cache was cleared) takes the place of the earlier one in the same
registry, so a process never binds its port twice. The metrics are listed in
:mod:`ebaydash.monitor.prometheus` and README.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import start_http_server

from ebaydash import services
from ebaydash.context import Context
from ebaydash.monitor.prometheus import GaugeCallback, PrometheusBridge, ScalingCollector
from ebaydash.monitor.scaling import Decision

log = logging.getLogger(__name__)


@dataclass
class _Endpoint:
    bridge: PrometheusBridge
    server: Any
    port: int
    ctx: Context | None = None


_lock = threading.Lock()
_endpoint: _Endpoint | None = None


def scaling_preview(ctx: Context) -> Decision:
    """The recommendation for the replicas running now (counted as
    :func:`ebaydash.services.scaling.replica_count` does), evaluated against the shared state
    without claiming or remembering anything."""
    return services.what_if(ctx, services.Viewer.operator("metrics"), {})


def attach(ctx: Context, *, live_sessions: Callable[[], int | None] | None = None) -> int | None:
    """Expose ``ctx``'s metrics on its configured port; the port, or None when it is 0 (off).

    Raises OSError when the port cannot be bound (another process holds it)."""
    global _endpoint
    port = ctx.settings.metrics_port
    if not port:
        return None
    with _lock:
        if _endpoint is None:
            bridge = PrometheusBridge(shared_cache=ctx.cache.l2 is not None)
            host = ctx.settings.metrics_host
            server, _thread = start_http_server(port, addr=host, registry=bridge.registry)
            _endpoint = _Endpoint(bridge, server, port)
            log.info("Prometheus metrics at http://%s:%d/metrics", ctx.settings.metrics_host, port)
        endpoint = _endpoint
        if endpoint.ctx is not None:
            endpoint.ctx.recorder.remove_sink(endpoint.bridge.on_events)
        endpoint.bridge.remove_collectors()
        endpoint.ctx = ctx
        ctx.recorder.add_sink(endpoint.bridge.on_events)
        endpoint.bridge.add_collector(ScalingCollector(lambda: scaling_preview(ctx)))
        if live_sessions is not None:
            endpoint.bridge.add_collector(
                GaugeCallback(
                    "ebaydash_live_sessions", "Browser sessions connected to this process.", live_sessions
                )
            )
        return endpoint.port
