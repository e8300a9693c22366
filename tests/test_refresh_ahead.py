"""Refresh-ahead: after an import invalidates an account, the standard periods' overview is
recomputed once in the background, so the next viewer's read is a cache hit, in this process and
in another replica sharing Redis; other periods are still computed on demand (negative control)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ebaydash import services
from ebaydash.context import Context, build_context
from ebaydash.db import rollup_reads
from ebaydash.db.engine import Database
from ebaydash.models import Window
from ebaydash.services import ImportFile, sellers
from ebaydash.settings import Settings
from ebaydash.viewer import Viewer
from tests.conftest import OPERATOR
from tests.test_importers import FIXTURES

READS = ("account_kpis", "revenue_trend", "top_products", "status_mix", "top_buyers")  # through the rollups


@pytest.fixture
def count_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Calls of every overview statement, counted."""
    calls = dict.fromkeys(READS, 0)

    def counted(module: Any, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for name in READS:
        counted(rollup_reads, name)
    return calls


def _import(ctx: Context) -> int:
    raw = (FIXTURES / "getorders_page1.json").read_bytes()
    report = services.import_orders(
        ctx, OPERATOR, [ImportFile("getorders_page1.json", raw)], account_name="Retro Records"
    )
    assert report.committed and report.account_id is not None
    return report.account_id


def _join_refresh(ctx: Context, account_id: int) -> None:
    assert sellers.wait_for_refresh(ctx, account_id, 60)
    assert not [t for t in threading.enumerate() if t.name == f"refresh-ahead-{account_id}"]


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def test_after_an_import_the_next_overview_of_a_standard_period_is_a_cache_hit(
    ctx: Context, count_reads: dict[str, int]
) -> None:
    account_id = _import(ctx)
    _join_refresh(ctx, account_id)
    computed = sum(count_reads.values())
    tz = sellers.account(ctx, OPERATOR, account_id).timezone
    windows = sellers.standard_windows(tz)
    # the refresh computed each statement once per standard window (top products twice: by
    # revenue and by units), and nothing else
    # equal windows share a key: on the last day of a 30-day month "this month" is the last 30 days
    distinct = len(set(windows))
    assert count_reads["account_kpis"] == distinct and count_reads["top_products"] == 2 * distinct
    for window in windows:
        sellers.overview(ctx, OPERATOR, account_id, window)
    assert sum(count_reads.values()) == computed  # every figure came from the cache
    # negative control: a period that is not refreshed ahead is computed when it is read (whole
    # days of the account's zone, as the sidebar builds them: all six through the rollups)
    sellers.overview(ctx, OPERATOR, account_id, Window.last_days(14, tz))
    assert sum(count_reads.values()) == computed + 6


def test_refresh_ahead_can_be_switched_off(
    db: Database, settings: Settings, count_reads: dict[str, int]
) -> None:
    context = build_context(settings.replace(refresh_ahead=False), start_sampler=False)
    try:
        account_id = _import(context)
        assert not [t for t in threading.enumerate() if t.name == f"refresh-ahead-{account_id}"]
        assert sum(count_reads.values()) == 0
        window = sellers.standard_windows(sellers.account(context, OPERATOR, account_id).timezone)[1]
        sellers.overview(context, OPERATOR, account_id, window)
        assert sum(count_reads.values()) == 6
    finally:
        context.close()


def test_another_replica_reads_the_refreshed_figures_from_the_shared_cache(
    db: Database, settings: Settings, redis_url: str, count_reads: dict[str, int]
) -> None:
    shared = settings.replace(redis_url=redis_url, cache_prefix=f"test-{uuid.uuid4().hex[:8]}")
    importer = build_context(shared, start_sampler=False)
    viewer = build_context(shared.replace(refresh_ahead=False), start_sampler=False)
    try:
        account_id = _import(importer)
        _join_refresh(importer, account_id)
        computed = sum(count_reads.values())
        assert computed > 0
        tz = sellers.account(viewer, OPERATOR, account_id).timezone
        for window in sellers.standard_windows(tz):
            sellers.overview(viewer, OPERATOR, account_id, window)
        assert sum(count_reads.values()) == computed  # the other replica computed nothing
    finally:
        importer.close()
        viewer.close()


def test_imports_landing_during_a_refresh_run_it_once_more_not_in_parallel(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = _import(ctx)
    _join_refresh(ctx, account_id)
    gate = threading.Event()
    runs: list[Window] = []
    original = sellers.overview

    def slow_overview(context: Context, viewer: Viewer, account: int, window: Window, **kwargs: Any) -> Any:
        runs.append(window)
        gate.wait(30)
        return original(context, viewer, account, window, **kwargs)

    monkeypatch.setattr(sellers, "overview", slow_overview)
    first = sellers.refresh_ahead(ctx, account_id)
    assert first is not None
    assert sellers.refresh_ahead(ctx, account_id) is None  # already running: marked to run again
    assert sellers.refresh_ahead(ctx, account_id) is None  # still once more, not twice
    gate.set()
    first.join(60)
    assert not first.is_alive()
    tz = sellers.account(ctx, OPERATOR, account_id).timezone
    windows = sellers.standard_windows(tz)
    assert runs == windows + windows  # the first pass, then exactly one more
    assert not ctx.part(sellers._RefreshAhead).running(account_id)


def test_closing_the_context_stops_its_refresh_between_windows_and_waits_for_it(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = build_context(settings, start_sampler=False)
    account_id = _import(context)
    _join_refresh(context, account_id)
    entered, gate = threading.Event(), threading.Event()
    runs: list[Window] = []
    original = sellers.overview

    def slow_overview(c: Context, viewer: Viewer, account: int, window: Window, **kwargs: Any) -> Any:
        runs.append(window)
        entered.set()
        gate.wait(30)
        return original(c, viewer, account, window, **kwargs)

    monkeypatch.setattr(sellers, "overview", slow_overview)
    thread = sellers.refresh_ahead(context, account_id)
    assert thread is not None and entered.wait(30)
    closer = threading.Thread(target=context.close)
    closer.start()
    closer.join(0.5)
    assert closer.is_alive()  # close waits for the window being computed
    gate.set()
    closer.join(60)
    assert not closer.is_alive() and not thread.is_alive()  # nothing reads the database after close
    assert len(runs) == 1 < len(sellers.standard_windows("UTC"))  # stopped after the first window
    assert sellers.refresh_ahead(context, account_id) is None  # a closed context starts none
