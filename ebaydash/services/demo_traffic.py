"""Demo traffic started from the app: one :func:`ebaydash.services.loadgen.run` at a time per
context, in a background thread that a page can start, watch and stop.

A fresh demo has had no visitors, so the performance and scaling pages would have nothing to show;
a manager trying the product presses one button instead of opening a terminal. The traffic goes
through the same services and recorder as real page views, so it shows up exactly as they would.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ebaydash.context import Context
from ebaydash.errors import EbaydashError
from ebaydash.services import loadgen
from ebaydash.services._access import for_managers
from ebaydash.services.loadgen import LoadResult
from ebaydash.viewer import Viewer

DEMO_SECONDS = 60.0
DEMO_WORKERS = 2  # one per core of a small machine: the app itself must stay responsive


@dataclass(frozen=True)
class TrafficStatus:
    running: bool
    page_views: int = 0
    errors: int = 0
    seconds_left: float = 0.0
    last_message: str = ""  # how the previous run ended, or why it could not run


class DemoTraffic:
    """At most one run of simulated visitors in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._live: LoadResult | None = None
        self._ends_at = 0.0
        self._last_message = ""
        self._closed = False

    def start(self, ctx: Context, *, seconds: float = DEMO_SECONDS, workers: int = DEMO_WORKERS) -> bool:
        """Start a run; ``False`` if one is already running (it is not restarted) or the
        context is closing."""
        # checked here, not only in the thread, so the page can say so at once
        loadgen.check_limits(seconds=seconds, requests=loadgen.MAX_REQUESTS, workers=workers, fresh=0.1)
        loadgen.accounts_to_visit(ctx)
        with self._lock:
            if self._closed or (self._thread is not None and self._thread.is_alive()):
                return False
            self._stop.clear()
            self._live = None
            self._ends_at = time.monotonic() + seconds
            self._thread = threading.Thread(
                target=self._run, args=(ctx, seconds, workers), name="demo-traffic", daemon=True
            )
            self._thread.start()
        return True

    def _run(self, ctx: Context, seconds: float, workers: int) -> None:
        def watch(result: LoadResult) -> None:
            self._live = result

        try:
            result = loadgen.run(
                ctx,
                seconds=seconds,
                requests=loadgen.MAX_REQUESTS,
                workers=workers,
                progress=watch,
                stop=self._stop,
            )
        except EbaydashError as exc:
            self._last_message = f"Demo traffic stopped: {exc}"
            return
        self._live = result
        ended = "stopped" if result.stopped_by == "stopped" else "finished"
        self._last_message = (
            f"Demo traffic {ended}: {result.requests:,} page views in {result.seconds:.0f} s, "
            f"{result.errors:,} failed."
        )

    def stop(self, *, wait_s: float = 5.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=wait_s)

    def close(self) -> None:
        """Stop the run; none starts after this (the context is closing)."""
        with self._lock:
            self._closed = True
        self.stop()

    def status(self) -> TrafficStatus:
        thread, live = self._thread, self._live
        running = thread is not None and thread.is_alive()
        return TrafficStatus(
            running=running,
            page_views=live.requests if live is not None else 0,
            errors=live.errors if live is not None else 0,
            seconds_left=max(0.0, self._ends_at - time.monotonic()) if running else 0.0,
            last_message="" if running else self._last_message,
        )


# -- the services the performance page calls -----------------------------------------------------


@for_managers
def start_demo_traffic(ctx: Context, viewer: Viewer) -> bool:
    """Simulated visitors for a minute, in this process; ``False`` if a run is already going."""
    return ctx.part(DemoTraffic).start(ctx)


@for_managers
def stop_demo_traffic(ctx: Context, viewer: Viewer) -> None:
    ctx.part(DemoTraffic).stop()


@for_managers
def demo_traffic(ctx: Context, viewer: Viewer) -> TrafficStatus:
    return ctx.part(DemoTraffic).status()
