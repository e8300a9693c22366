"""The overview's parts run side by side (EBAYDASH_OVERVIEW_PARALLELISM), on SQLite and Postgres:
they overlap in time, give the figures one-after-another gives, carry the caller's traffic kind
and database scope into their threads, and a failing part fails the overview."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ebaydash.context import Context, build_context
from ebaydash.db import rollup_reads, scope
from ebaydash.db.engine import Database
from ebaydash.errors import DatabaseUnavailable
from ebaydash.models import Window
from ebaydash.monitor.metrics import simulated_traffic
from ebaydash.services import sellers
from ebaydash.settings import Settings
from tests.conftest import OPERATOR
from tests.test_analytics import FIRST, LAST, NOW, NY, edge_case_shop


def _context(settings: Settings, parallelism: int) -> Context:
    return build_context(dataclasses.replace(settings, overview_parallelism=parallelism), start_sampler=False)


@pytest.fixture
def loaded(db: Database, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sellers, "_now", lambda: NOW)
    shop, busy, _ = edge_case_shop()
    shop.load(db)
    return busy


@pytest.fixture
def contexts(settings: Settings) -> Iterator[Callable[[int], Context]]:
    made: list[Context] = []

    def make(parallelism: int) -> Context:
        made.append(_context(settings, parallelism))
        return made[-1]

    yield make
    for ctx in made:
        ctx.close()


WINDOW = Window.for_dates(FIRST, LAST, NY)


def _meeting(monkeypatch: pytest.MonkeyPatch, names: tuple[tuple[Any, str], ...]) -> None:
    """Make each of ``names`` ((module, function)) wait until all of them are running: they can
    only finish if they overlap in time."""
    barrier = threading.Barrier(len(names), timeout=5)
    for module, name in names:
        original = getattr(module, name)

        def meet(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            barrier.wait()
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, meet)


@pytest.mark.parametrize("parallelism", [3, 1])
def test_cold_parts_overlap_in_time(
    loaded: int, contexts: Callable[[int], Context], monkeypatch: pytest.MonkeyPatch, parallelism: int
) -> None:
    # the KPIs (in the caller's thread) and the top buyers (in a pool thread) must meet
    # (whole days: the KPIs read the rollups)
    _meeting(monkeypatch, ((rollup_reads, "account_kpis"), (rollup_reads, "top_buyers")))
    ctx = contexts(parallelism)
    if parallelism == 1:  # the negative control: one after another, the first waits in vain
        with pytest.raises(threading.BrokenBarrierError):
            sellers.overview(ctx, OPERATOR, loaded, WINDOW)
        return
    view = sellers.overview(ctx, OPERATOR, loaded, WINDOW)
    assert view.kpis.orders.current > 0 and view.top_buyers


def test_side_by_side_gives_the_same_overview(loaded: int, contexts: Callable[[int], Context]) -> None:
    together = sellers.overview(contexts(4), OPERATOR, loaded, WINDOW)
    one_by_one = sellers.overview(contexts(1), OPERATOR, loaded, WINDOW)
    assert dataclasses.replace(together, kpis=dataclasses.replace(together.kpis, as_of=NOW)) == (
        dataclasses.replace(one_by_one, kpis=dataclasses.replace(one_by_one.kpis, as_of=NOW))
    )
    assert together.top_by_revenue and together.status_mix


def test_parts_carry_the_traffic_kind_and_the_scope(
    loaded: int, contexts: Callable[[int], Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    original = rollup_reads.top_buyers

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen["thread"] = threading.current_thread().name
        seen["scope"] = scope.current()
        return original(*args, **kwargs)

    monkeypatch.setattr(rollup_reads, "top_buyers", spy)
    ctx = contexts(3)
    with simulated_traffic():
        sellers.overview(ctx, OPERATOR, loaded, WINDOW)
    assert seen["thread"].startswith("ebaydash-overview")  # it did run in a pool thread
    assert seen["scope"] is not None  # @for_account's scope, entered in that thread
    # the service call was timed in that thread, as simulated traffic
    assert ctx.recorder.snapshot(60, traffic="simulated").count("service", "top_buyers") == 1
    assert ctx.recorder.snapshot(60).count("service", "top_buyers") == 0


def test_a_failing_part_fails_the_overview_and_the_pool_recovers(
    loaded: int, contexts: Callable[[int], Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = rollup_reads.top_buyers

    def down(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseUnavailable("The database is not answering.")

    monkeypatch.setattr(rollup_reads, "top_buyers", down)
    ctx = contexts(3)
    with pytest.raises(DatabaseUnavailable):
        sellers.overview(ctx, OPERATOR, loaded, WINDOW)
    monkeypatch.setattr(rollup_reads, "top_buyers", original)
    assert sellers.overview(ctx, OPERATOR, loaded, WINDOW).top_buyers


def test_parts_the_pool_drops_on_close_run_in_the_caller(
    loaded: int, contexts: Callable[[int], Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A context closing while an overview runs (a refresh-ahead at shutdown): the parts still
    queued are run by the caller, the overview is whole, nothing fails."""
    ctx = contexts(2)  # one pool thread: the trend runs there, the rest waits in the queue
    side = ctx.part(sellers._SideBySide)
    release = threading.Event()
    closers: list[threading.Thread] = []
    kpis, trend = rollup_reads.account_kpis, rollup_reads.revenue_trend

    def held_trend(*args: Any, **kwargs: Any) -> Any:
        release.wait(5)
        return trend(*args, **kwargs)

    def close_then_kpis(*args: Any, **kwargs: Any) -> Any:
        closers.append(threading.Thread(target=side.close))
        closers[0].start()  # cancels the queued parts, waits for the trend
        time.sleep(0.3)
        release.set()
        closers[0].join(5)
        return kpis(*args, **kwargs)

    monkeypatch.setattr(rollup_reads, "revenue_trend", held_trend)
    monkeypatch.setattr(rollup_reads, "account_kpis", close_then_kpis)
    view = sellers.overview(ctx, OPERATOR, loaded, WINDOW)
    assert not closers[0].is_alive()
    monkeypatch.setattr(rollup_reads, "account_kpis", kpis)
    monkeypatch.setattr(rollup_reads, "revenue_trend", trend)
    alone = sellers.overview(contexts(1), OPERATOR, loaded, WINDOW)
    assert view.top_buyers == alone.top_buyers and view.status_mix == alone.status_mix
    assert view.trend == alone.trend and view.top_by_units == alone.top_by_units
    # and after the close, overviews run one after another in the caller's thread
    assert sellers.overview(ctx, OPERATOR, loaded, WINDOW, fresh=True).top_buyers == alone.top_buyers
