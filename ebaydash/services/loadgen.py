"""``ebaydash loadgen``: real service calls, as visitors of the seller pages would make them, so the
performance, resources and scaling pages have traffic to show in a demo.

Each simulated page view calls the same services the page does (overview: KPIs and trend; orders:
a page of orders, its total and sometimes the next page; order detail: one order's lines) for a
random account and period, and is recorded as a page run. Everything a simulated visit records
(its page run, service calls, queries, statements, cache lookups) is tagged as simulated traffic
(:func:`ebaydash.monitor.metrics.simulated_traffic`): the system pages show it apart from real
visitors, whose latency its empty renders would otherwise hide. It stops by itself after ``requests``
page views or ``seconds``, whichever comes first; both are capped.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ebaydash.context import Context
from ebaydash.errors import EbaydashError, InvalidInput
from ebaydash.models import Account, OrderFilter, Window
from ebaydash.monitor.metrics import percentile, simulated_traffic
from ebaydash.services import sellers
from ebaydash.viewer import Viewer

MAX_SECONDS = 3600.0
MAX_REQUESTS = 1_000_000
MAX_WORKERS = 32
PAGES: tuple[tuple[str, float], ...] = (("overview", 0.5), ("orders", 0.35), ("order_detail", 0.15))
PERIODS = (7, 30, 90, 365)


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    stopped_by: str = ""  # "requests", "time" or "stopped"
    by_page: dict[str, int] = field(default_factory=dict)
    durations_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def per_minute(self) -> float:
        return self.requests / self.seconds * 60 if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        return percentile(sorted(self.durations_ms), q)


#: Who the simulated visitors are: they run on the server, like the command line, and see every
#: account (they exercise the services, not the grants).
VISITOR = Viewer.operator("load generator")


def check_limits(*, seconds: float, requests: int, workers: int, fresh: float) -> None:
    if not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(f"--seconds must be above 0 and at most {MAX_SECONDS:g}.")
    if not 0 < requests <= MAX_REQUESTS:
        raise InvalidInput(f"--requests must be between 1 and {MAX_REQUESTS:,}.")
    if not 0 < workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}.")
    if not 0 <= fresh <= 1:
        raise InvalidInput("--fresh must be a fraction between 0 and 1.")


def accounts_to_visit(ctx: Context) -> list[Account]:
    accounts = sellers.accounts(ctx, VISITOR)
    if not accounts:
        raise InvalidInput("There are no accounts to visit: load the demo or import orders first.")
    return accounts


def run(
    ctx: Context,
    *,
    seconds: float = 60.0,
    requests: int = 2000,
    workers: int = 4,
    fresh: float = 0.1,
    seed: int | None = None,
    progress: Callable[[LoadResult], None] | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Drive page views until ``requests`` are done, ``seconds`` have passed or ``stop`` is set.

    ``fresh`` is the share of calls that bypass the cache, so SQL runs too, not only cache hits.
    """
    check_limits(seconds=seconds, requests=requests, workers=workers, fresh=fresh)
    with simulated_traffic():
        accounts = accounts_to_visit(ctx)
    result = LoadResult()
    lock = threading.Lock()
    tickets = itertools.count()
    started = time.monotonic()
    deadline = started + seconds
    stopped: list[str] = []

    def worker(number: int) -> None:
        with simulated_traffic():  # this thread's events, and those of the code it calls
            visit_until_done(number)

    def visit_until_done(number: int) -> None:
        rng = random.Random(None if seed is None else seed * 1000 + number)
        while True:
            if stop is not None and stop.is_set():
                stopped.append("stopped")
                return
            if time.monotonic() >= deadline:
                stopped.append("time")
                return
            if next(tickets) >= requests:
                stopped.append("requests")
                return
            page = rng.choices([p for p, _ in PAGES], weights=[w for _, w in PAGES])[0]
            account = rng.choice(accounts)
            begun = time.perf_counter()
            ok = True
            try:
                _visit(ctx, page, account, rng, fresh)
            except EbaydashError:
                ok = False
            elapsed = time.perf_counter() - begun
            ctx.recorder.record("page", page, elapsed, ok=ok)
            with lock:
                result.requests += 1
                result.errors += 0 if ok else 1
                result.by_page[page] = result.by_page.get(page, 0) + 1
                if len(result.durations_ms) < 100_000:
                    result.durations_ms.append(elapsed * 1000)

    threads = [
        threading.Thread(target=worker, args=(i,), name=f"loadgen-{i}", daemon=True) for i in range(workers)
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=1.0)
        if progress is not None:
            with lock:
                result.seconds = time.monotonic() - started
                progress(result)
    result.seconds = time.monotonic() - started
    if "stopped" in stopped:
        result.stopped_by = "stopped"
    else:
        result.stopped_by = "time" if "time" in stopped and result.requests < requests else "requests"
    return result


def _visit(ctx: Context, page: str, account: Account, rng: random.Random, fresh: float) -> None:
    window = Window.last_days(rng.choice(PERIODS), account.timezone)
    bypass = rng.random() < fresh
    if page == "overview":
        sellers.kpis(ctx, VISITOR, account.id, window, fresh=bypass)
        sellers.trend(ctx, VISITOR, account.id, window, fresh=bypass)
        return
    flt = OrderFilter(window=window if rng.random() < 0.5 else None)
    first = sellers.orders_page(ctx, VISITOR, account.id, flt, fresh=bypass)
    if page == "orders":
        sellers.orders_total(ctx, VISITOR, account.id, flt, fresh=bypass)
        if first.next_cursor and rng.random() < 0.3:
            sellers.orders_page(ctx, VISITOR, account.id, flt, cursor=first.next_cursor)
        return
    if first.rows:
        order = rng.choice(first.rows)
        sellers.order_detail(ctx, VISITOR, account.id, order.id, fresh=bypass)
