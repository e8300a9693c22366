"""Issue 17's monitoring rough edges: navigation is no failure, simulated visitors stay apart from
real traffic, and alerts neither flap nor contradict themselves."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash import services, ui
from ebaydash.context import build_context
from ebaydash.errors import DatabaseUnavailable
from ebaydash.monitor.alerts import AlertMonitor, Limits
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSample
from ebaydash.services.performance import ERROR_KIND
from ebaydash.settings import Settings
from tests.conftest import ROOT


@pytest.fixture
def demo_app(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    monkeypatch.setenv("EBAYDASH_RESOURCE_INTERVAL_S", "3600")
    st.cache_resource.clear()
    yield Settings(database_url=demo_url)
    st.cache_resource.clear()


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def page_runs(name: str) -> tuple[int, int]:
    """(runs, failed runs) of page ``name`` this process recorded in the last 5 minutes."""
    snap = ui._context().recorder.snapshot(300, scope="process")
    summary = snap.series.get(("page", name))
    return (summary.count, summary.errors) if summary else (0, 0)


# -- control flow is not failure ------------------------------------------------------------------


def test_next_and_previous_are_not_recorded_as_errors(demo_app: Settings) -> None:
    at = app().run()
    at.switch_page("pages/orders.py").run()
    assert not at.exception
    for key in ("orders_next", "orders_next", "orders_prev"):
        at.button(key=key).click().run()  # each click ends its run in st.rerun()
        assert not at.exception
    runs, failed = page_runs("orders")
    assert runs >= 7  # the switch, and each click's run plus the rerun it asked for
    assert failed == 0
    snap = ui._context().recorder.snapshot(300, scope="process")
    assert snap.pages.errors == 0


def test_a_page_stopped_by_a_failure_still_counts_as_failed(
    demo_app: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control: st.stop() after an error banner is a failed run, not navigation."""
    at = app().run()
    assert page_runs("overview") == (1, 0)

    def unreachable(*args: object, **kwargs: object) -> None:
        raise DatabaseUnavailable("The database at db.example:5432 cannot be reached.")

    monkeypatch.setattr(services, "overview", unreachable)
    at.run()
    assert any("cannot be reached" in e.value for e in at.error)
    assert page_runs("overview") == (2, 1)


def test_the_error_chart_and_the_error_tile_read_the_same_calls(sqlite_settings: Settings) -> None:
    ctx = build_context(sqlite_settings, start_sampler=False)
    try:
        for i in range(10):
            ctx.recorder.record("service", "kpis", 0.01, ok=i >= 2)  # 2 of 10 service calls fail
        for _ in range(3):
            ctx.recorder.record("page", "orders", 0.05, ok=False)  # counted as page runs only
            ctx.recorder.record("sql", "SELECT", 0.001, ok=False)  # surfaced as the failed calls
        report = services.performance_report(ctx, 300)
    finally:
        ctx.close()
    assert ERROR_KIND == "service"
    assert report.error_rate == pytest.approx(0.2)
    rates = [r for r in report.timeline["Error rate"] if r is not None and not math.isnan(r)]
    assert rates == [pytest.approx(0.2)]  # every event of this test is in the current bucket


# -- alerts that do not flap ------------------------------------------------------------------------


def cpu_sample(at: float, cpu: float) -> ResourceSample:
    return ResourceSample(at, 200 * 2**20, cpu, 8, 40.0, 8 * 2**30, 24 * 2**30, 20.0, 0.5)


def run_cpu(monitor: AlertMonitor, readings: list[float], *, every_s: float = 5.0) -> list[list[str]]:
    """Feed one CPU reading per ``every_s`` (after a first, ignored, start-up sample); the active
    alert messages after each."""
    monitor.on_sample(cpu_sample(0.0, 0.0))
    shown = []
    for i, cpu in enumerate(readings, start=1):
        monitor.on_sample(cpu_sample(i * every_s, cpu))
        shown.append([a.message for a in monitor.active()])
    return shown


def test_a_short_spike_raises_nothing() -> None:
    monitor = AlertMonitor(MetricsRecorder(), Limits())
    run_cpu(monitor, [94, 94, 94, 10, 94, 10, 94, 94, 10])  # never over for 15 s on end
    assert monitor.events() == []


def test_a_reading_hovering_at_the_limit_raises_once_and_does_not_flap() -> None:
    monitor = AlertMonitor(MetricsRecorder(), Limits())
    hovering = [79, 81, 78, 94, 76, 83, 74, 79] * 3  # between the 72 % clear line and far over
    shown = run_cpu(monitor, [94, 94, 94, 94, *hovering])
    assert [(e.key, e.raised) for e in monitor.events()] == [("cpu", True)]
    assert monitor.events()[0].message == "Process CPU is 94 %, over the 80 % limit."
    # while active, the line says where the reading is now
    assert shown[-1] == [
        "Process CPU is 79 %: under the 80 % limit, not yet under 72 %, where the alert clears."
    ]
    assert shown[-3] == ["Process CPU is 83 %, over the 80 % limit."]


def test_an_alert_clears_under_the_clear_line_after_its_duration_with_a_message_that_matches() -> None:
    monitor = AlertMonitor(MetricsRecorder(), Limits())
    shown = run_cpu(monitor, [94, 94, 94, 94, 60, 60, 60, 60, 60, 60, 62])
    assert shown[4] == ["Process CPU is 60 %, under 72 % for 0 s; the alert clears after 30 s."]
    assert shown[9] == ["Process CPU is 60 %, under 72 % for 25 s; the alert clears after 30 s."]
    assert shown[10] == []
    raised, cleared = monitor.events()
    assert raised.raised and not cleared.raised
    assert cleared.message == "Cleared: process CPU is 62 %, under 72 % for 30 s; the limit is 80 %."
    assert "over" not in cleared.message and cleared.at - raised.at == 35.0


def test_the_old_rule_would_have_flapped() -> None:
    """Negative control: with no hysteresis and no duration the same readings raise and clear
    over and over, which is what the tests above rule out."""
    monitor = AlertMonitor(MetricsRecorder(), Limits(clear_fraction=1.0, raise_after_s=0, clear_after_s=0))
    run_cpu(monitor, [94, 79, 94, 79, 94])
    assert [e.raised for e in monitor.events()] == [True, False, True, False, True]
