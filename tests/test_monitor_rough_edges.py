"""Issue 17's monitoring rough edges: navigation is no failure, simulated visitors stay apart from
real traffic, and alerts neither flap nor contradict themselves."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
import streamlit as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from streamlit.testing.v1 import AppTest

from ebaydash import services, ui
from ebaydash.context import build_context
from ebaydash.errors import DatabaseUnavailable
from ebaydash.monitor.alerts import AlertMonitor, Limits
from ebaydash.monitor.buckets import BUCKET_S
from ebaydash.monitor.metrics import MetricsRecorder, simulated_traffic
from ebaydash.monitor.prometheus import PrometheusBridge
from ebaydash.monitor.resources import ResourceSample
from ebaydash.monitor.shared import SharedMetrics
from ebaydash.services import scaling as scaling_service
from ebaydash.services.performance import ERROR_KIND
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT


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
        report = services.performance_report(ctx, OPERATOR, 300)
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


# -- simulated visitors are kept apart --------------------------------------------------------------

REAL_MS = [320.0, 410.0, 548.0, 332.0, 390.0, 505.0, 460.0, 350.0, 420.0, 480.0]


def record_both(recorder: MetricsRecorder) -> None:
    """Ten slow real page runs and two hundred near-instant simulated ones, interleaved."""
    for i, ms in enumerate(REAL_MS):
        recorder.record("page", "overview", ms / 1000)
        recorder.record("service", "kpis", ms / 2000, ok=i != 0)
        with simulated_traffic():
            for _ in range(20):
                recorder.record("page", "overview", 0.0105)
                recorder.record("service", "kpis", 0.005, ok=False)


def test_percentiles_of_real_traffic_leave_simulated_visits_out() -> None:
    recorder = MetricsRecorder()
    record_both(recorder)
    real = recorder.snapshot(60)
    simulated = recorder.snapshot(60, traffic="simulated")
    truth = np.percentile(REAL_MS, [50, 95, 99])
    assert real.traffic == "real" and real.pages.count == 10 and real.pages.exact
    assert [real.pages.p50_ms, real.pages.p95_ms, real.pages.p99_ms] == pytest.approx(truth)
    assert real.services.errors == 1 and real.services.count == 10
    assert simulated.pages.count == 200 and simulated.pages.p95_ms == pytest.approx(10.5)
    assert simulated.services.error_rate == 1.0


def test_mixing_them_is_what_hid_the_real_latency() -> None:
    """Negative control: the same events recorded without the tag give a p95 far from the truth."""
    recorder = MetricsRecorder()
    for ms in REAL_MS:
        recorder.record("page", "overview", ms / 1000)
        for _ in range(20):
            recorder.record("page", "overview", 0.0105)
    mixed = recorder.snapshot(60).pages.p95_ms
    assert mixed < float(np.percentile(REAL_MS, 5))


@pytest.mark.redis
def test_replicas_share_the_two_traffics_apart(redis_url: str) -> None:
    prefix = f"test-traffic-{uuid.uuid4().hex[:8]}"
    writer = MetricsRecorder(
        shared=SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=10.0)
    )
    reader = MetricsRecorder(
        shared=SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=10.0)
    )
    record_both(writer)
    assert writer.flush()
    real = reader.snapshot(60)
    simulated = reader.snapshot(60, traffic="simulated")
    assert real.scope == simulated.scope == "cluster"
    assert (real.pages.count, simulated.pages.count) == (10, 200)
    truth = float(np.percentile(REAL_MS, 95))
    assert abs(real.pages.p95_ms - truth) <= truth * 0.12  # from the shared histograms
    assert simulated.pages.p95_ms < 20


def test_loadgen_traffic_stays_out_of_the_real_figures(demo_url: str) -> None:
    ctx = build_context(Settings(database_url=demo_url), start_sampler=False)
    try:
        for ms in REAL_MS:
            ctx.recorder.record("page", "orders", ms / 1000)
        result = services.loadgen.run(ctx, seconds=60, requests=30, workers=2, seed=5)
        real = services.performance_report(ctx, OPERATOR, 300)
        simulated = services.performance_report(ctx, OPERATOR, 300, "simulated")
    finally:
        ctx.close()
    assert result.requests == 30
    assert real.snapshot.pages.count == 10 and real.snapshot.services.count == 0
    assert real.snapshot.pages.p95_ms == pytest.approx(float(np.percentile(REAL_MS, 95)))
    assert simulated.snapshot.pages.count == 30 and simulated.snapshot.services.count > 30
    # the charts too: each traffic's throughput chart adds up to its own page runs
    for report, runs in ((real, 10), (simulated, 30)):
        taken = report.snapshot.taken_at
        shown = sum(
            rate / 60 * min(BUCKET_S, max(taken - row.timestamp(), 1.0))
            for row, rate in zip(report.timeline["time"], report.timeline["Page runs/min"], strict=True)
        )
        assert shown == pytest.approx(runs)


def test_the_performance_page_shows_real_visitors_unless_asked(demo_app: Settings) -> None:
    at = app().run()
    ctx = ui._context()
    record_both(ctx.recorder)
    at.switch_page("pages/performance.py").run()
    assert not at.exception and not at.error
    assert at.segmented_control(key="performance_traffic").value == "real"

    def pages_row() -> dict[str, object]:
        table = next(f.value for f in at.dataframe if "What" in f.value.columns)
        return dict(table[table["What"] == "Page runs"].iloc[0])

    assert pages_row()["Count"] == 10 + 1  # the overview's own run, a real one, too
    assert "real visitors" in " ".join(c.value for c in at.caption)
    at.segmented_control(key="performance_traffic").set_value("simulated").run()
    assert not at.exception and not at.error
    assert pages_row()["Count"] == 200
    assert "simulated visitors" in " ".join(c.value for c in at.caption)


def test_scaling_times_real_visitors_and_counts_all_load(sqlite_settings: Settings) -> None:
    ctx = build_context(sqlite_settings, start_sampler=False)
    try:
        ctx.recorder.started_at -= 600  # as if it had been collecting for ten minutes
        with simulated_traffic():
            ctx.recorder.record("page", "overview", 0.010)
        only_simulated = scaling_service.observe(ctx)
        record_both(ctx.recorder)
        both = scaling_service.observe(ctx)
        window = ctx.settings.scale_window_s
        all_runs = ctx.recorder.snapshot(window, traffic="all").pages
    finally:
        ctx.close()
    # no real visitor yet: the simulated one's time is all there is
    assert only_simulated.avg_response_ms.value == pytest.approx(10.0)
    # with real visitors, their time alone; the load counts every visit, simulated or not
    assert both.avg_response_ms.value == pytest.approx(sum(REAL_MS) / len(REAL_MS))
    assert all_runs.count == 1 + 10 + 200
    assert both.throughput_per_min.value == pytest.approx(all_runs.per_minute, rel=0.01)  # moments apart


def test_metrics_endpoint_counts_real_visitors_only() -> None:
    recorder = MetricsRecorder()
    bridge = PrometheusBridge(shared_cache=False)
    recorder.add_sink(bridge.on_events)
    recorder.record("page", "overview", 0.4)
    with simulated_traffic():
        for _ in range(5):
            recorder.record("page", "overview", 0.01, ok=False)
            recorder.record("cache", "l1.hit", 0.00001)
    recorder.fold()
    text = generate_latest(bridge.registry).decode()
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert values[("ebaydash_page_duration_seconds_count", (("page", "overview"),))] == 1
    assert ("ebaydash_errors_total", (("kind", "page"),)) not in values
    assert ("ebaydash_cache_hits_total", (("level", "l1"),)) not in values
    assert not any("sim" in str(key) for key in values)
