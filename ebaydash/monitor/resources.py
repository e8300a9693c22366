"""ResourceSampler: CPU and memory of this process and the machine, read by one background thread.

One sampler per process (the UI holds it in ``st.cache_resource``), never one per browser session,
so the history survives page switches and costs the same however many people are watching.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import psutil

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResourceSample:
    at: float
    process_rss_bytes: int
    process_cpu_percent: float
    process_threads: int
    system_memory_percent: float
    system_memory_used_bytes: int
    system_memory_total_bytes: int
    system_cpu_percent: float
    load_1m: float


class ResourceSampler:
    def __init__(
        self,
        *,
        interval_s: float = 5.0,
        history: int = 720,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval_s = interval_s
        self._history: deque[ResourceSample] = deque(maxlen=history)
        self._clock = clock
        self._process = psutil.Process(os.getpid())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._listeners: list[Callable[[ResourceSample], None]] = []
        # the first cpu_percent() call has nothing to compare with and returns 0: prime it
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)

    def sample(self) -> ResourceSample:
        """Take one sample now, add it to the history and return it."""
        memory = self._process.memory_info()
        system = psutil.virtual_memory()
        sample = ResourceSample(
            at=self._clock(),
            process_rss_bytes=memory.rss,
            process_cpu_percent=self._process.cpu_percent(None),
            process_threads=self._process.num_threads(),
            system_memory_percent=system.percent,
            system_memory_used_bytes=system.total - system.available,
            system_memory_total_bytes=system.total,
            system_cpu_percent=psutil.cpu_percent(None),
            load_1m=os.getloadavg()[0],
        )
        self._history.append(sample)
        for listener in list(self._listeners):
            try:
                listener(sample)
            except Exception:  # an alert or publish failure must not stop the sampling
                log.exception("resource sample listener failed")
        return sample

    def subscribe(self, listener: Callable[[ResourceSample], None]) -> None:
        """Call ``listener`` with every new sample (alerts, publishing to the other replicas)."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Start the background thread once; later calls do nothing."""
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="ebaydash-resources", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 1)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def history(self) -> list[ResourceSample]:
        return list(self._history)

    def latest(self) -> ResourceSample | None:
        return self._history[-1] if self._history else None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except Exception:  # a failed read must not kill the sampler
                log.exception("resource sample failed")
            self._stop.wait(self.interval_s)
