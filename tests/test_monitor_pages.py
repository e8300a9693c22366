"""AppTest: the performance, resources and scaling pages show the traffic that was recorded."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash import ui
from ebaydash.context import Context
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSample
from ebaydash.monitor.shared import SharedMetrics
from ebaydash.settings import Settings
from tests.conftest import ROOT

PROBE_MS = [4.0, 9.0, 12.0, 15.0, 40.0]
SLOW_SHAPE = "SELECT * FROM orders WHERE account_id = ? AND status IN (...)"


@pytest.fixture
def demo_env(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    url = demo_url
    settings = Settings(database_url=url)
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", url)
    # one sample at start-up, then none: the test decides what the history holds
    monkeypatch.setenv("EBAYDASH_RESOURCE_INTERVAL_S", "3600")
    st.cache_resource.clear()
    yield settings
    st.cache_resource.clear()


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def app_context() -> Context:
    """The process context the app built (a cache_resource singleton shared with the test)."""
    return ui._context()


def record_traffic(recorder: MetricsRecorder) -> None:
    for ms in PROBE_MS:
        recorder.record("query", "probe_query", ms / 1000, rows=10)
    for name, n in (("l1.hit", 6000), ("l2.hit", 2000), ("miss", 2000)):
        for _ in range(n):
            recorder.record("cache", name, 0.00001)
    for i in range(40):
        recorder.record("service", "probe_service", 0.002, ok=i != 0)
    recorder.note_shape("feedbeef0001", SLOW_SHAPE)
    for ms in (300.0, 500.0, 700.0):
        recorder.record("slow", "feedbeef0001", ms / 1000)


def frame_row(at: AppTest, column: str, value: str) -> dict[str, object]:
    for frame in at.dataframe:
        df = frame.value
        if column in df.columns and (df[column] == value).any():
            return dict(df[df[column] == value].iloc[0])
    raise AssertionError(f"no table has {column} = {value!r}")


def test_performance_page_shows_the_recorded_traffic(demo_env: Settings) -> None:
    at = app().run()
    record_traffic(app_context().recorder)
    at.switch_page("pages/performance.py").run()
    assert not at.exception and not at.error
    tiles = {m.label: m.value for m in at.metric}
    # 6000 of ~10,000 lookups (the app's own few lookups do not move the rounding)
    assert tiles["L1 hit rate"] == "60%"
    assert tiles["L2 hit rate"] == "—"  # no Redis here: no L2 level to rate (computed in test_metrics)
    # and no L2 line either: a flat 0 % would say the shared cache never hits
    hits = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Cache hit rate" in c.proto.spec)
    assert [trace["name"] for trace in hits["data"]] == ["L1 hit rate"]
    assert "no shared cache" in hits["layout"]["title"]["text"]
    probe = frame_row(at, "Name", "probe_query")
    assert probe["Count"] == 5
    assert probe["p50 ms"] == pytest.approx(float(np.percentile(PROBE_MS, 50)))
    assert probe["p95 ms"] == pytest.approx(float(np.percentile(PROBE_MS, 95)))
    assert probe["Worst ms"] == pytest.approx(40.0)
    assert probe["Rows per call"] == 10
    slow = frame_row(at, "Statement", SLOW_SHAPE)
    assert (slow["Count"], slow["Mean ms"], slow["Worst ms"]) == (3, 500.0, 700.0)
    services_row = frame_row(at, "What", "Service calls")
    assert services_row["Errors"] == 1
    captions = " ".join(c.value for c in at.caption)
    assert "this process" in captions
    assert "No failed service calls" not in captions  # one failed: its bar is drawn
    badges = " ".join(m.value for m in at.markdown)
    assert "Database (sqlite)" in badges and "Redis" in badges


def test_performance_window_choice_changes_the_window(demo_env: Settings) -> None:
    at = app().run()
    at.switch_page("pages/performance.py").run()
    at.segmented_control(key="performance_window").set_value(900).run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "Last 15 min" in captions
    # the app's own runs failed nowhere: the empty error chart says why it is empty
    assert "No failed service calls in this window" in captions


@pytest.mark.redis
def test_performance_page_merges_other_replicas_through_redis(
    demo_env: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"ebaydash:test:{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("EBAYDASH_REDIS_URL", redis_url)
    monkeypatch.setenv("EBAYDASH_METRICS_PREFIX", prefix)
    other = MetricsRecorder(
        shared=SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=1)
    )
    for ms in PROBE_MS:
        other.record("query", "probe_query", ms / 1000)
    assert other.flush()
    at = app().run()
    at.switch_page("pages/performance.py").run()
    assert not at.exception and not at.error
    assert "all replicas" in " ".join(c.value for c in at.caption)
    probe = frame_row(at, "Name", "probe_query")
    assert probe["Count"] == 5
    truth = float(np.percentile(PROBE_MS, 50, method="inverted_cdf"))
    assert abs(float(probe["p50 ms"]) - truth) <= truth * 0.12  # from the shared histogram
    badges = " ".join(m.value for m in at.markdown)
    assert "reachable" in badges
    # with a shared cache its level has a line (the control for the page test without Redis)
    hits = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Cache hit rate" in c.proto.spec)
    assert [trace["name"] for trace in hits["data"]] == ["L1 hit rate", "L2 hit rate"]


def test_resources_page_shows_samples_and_alert_lines(demo_env: Settings) -> None:
    at = app().run()
    ctx = app_context()
    heavy = ResourceSample(
        at=time.time(),
        process_rss_bytes=1500 * 2**20,
        process_cpu_percent=12.0,
        process_threads=17,
        system_memory_percent=41.0,
        system_memory_used_bytes=10 * 2**30,
        system_memory_total_bytes=24 * 2**30,
        system_cpu_percent=33.0,
        load_1m=1.25,
    )
    ctx.sampler._history.append(heavy)
    assert ctx.alerts is not None
    ctx.alerts.on_sample(heavy)
    ctx.alerts.on_sample(dataclasses.replace(heavy, at=heavy.at + ctx.alerts.limits.raise_after_s))
    at.switch_page("pages/resources.py").run()
    assert not at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Process memory"] == "1,500 MiB"
    assert tiles["Threads"] == "17"
    assert tiles["System CPU"] == "33%"  # one way to write a percentage, as on every page
    assert tiles["Load (1 min)"] == "1.25"
    alerts = " ".join(e.value for e in at.error)
    assert "Process memory is 1,500 MiB, over the 1,024 MiB limit." in alerts
    assert "2 samples kept" in " ".join(c.value for c in at.caption)
    # on the viewer's clock (the zone the sidebar names), never raw UTC
    zone = at.session_state["_selection"].account.timezone
    replicas = at.dataframe[0].value
    expected = dt.datetime.fromtimestamp(heavy.at, ZoneInfo(zone)).strftime("%H:%M:%S %Z")
    assert list(replicas["Seen"]) == [expected]
    assert zone != "UTC" and "UTC" not in expected and "+00:00" not in expected


def test_scaling_page_recommends_from_the_recorded_response_times(
    demo_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EBAYDASH_REPLICAS", "2")
    at = app().run()
    ctx = app_context()
    ctx.recorder.started_at -= 600  # as if it had been collecting for ten minutes
    ctx.sampler.sample()  # fresh memory reading
    for _ in range(200):
        ctx.recorder.record("page", "overview", 4.5)
    at.switch_page("pages/scaling.py").run()
    assert not at.exception and not at.error
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Recommendation"] == "Scale up"
    assert tiles["Replicas"] == "2 → 3"
    # a caption, not a tile: long rule names wrap instead of being cut off
    assert "Deciding rule" not in tiles
    assert "**Deciding rule:** avg response ms" in " ".join(c.value for c in at.caption)
    rule = frame_row(at, "Metric", "Average response time")
    assert rule["Verdict"] == "⬆ scale up" and rule["Asks for"] == "3"
    assert "add replicas (2 → 3)" in " ".join(w.value for w in at.warning)

    # what if the maximum were 2?
    maximum = next(n for n in at.number_input if n.label == "Max replicas")
    maximum.set_value(2)
    next(b for b in at.button if b.label == "Try these values").click().run()
    assert not at.exception
    outcome = {m.label: m.value for m in at.metric}["Would recommend"]
    assert outcome == "Hold: 2 → 2"
    assert any("already the maximum of 2" in i.value for i in at.info)


def test_the_cooldown_is_unknown_while_the_shared_state_cannot_be_read(
    demo_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ebaydash.errors import DatabaseUnavailable
    from ebaydash.services import scaling as scaling_service

    # the control first: with the state readable, an empty history says so
    at = app().run()
    at.switch_page("pages/scaling.py").run()
    captions = [c.value for c in at.caption]
    assert not at.warning and "No scaling action taken yet." in captions

    def unreadable(*_args: object, **_kwargs: object) -> None:
        raise DatabaseUnavailable(
            "The database cannot be reached right now (connection refused). The dashboard will "
            "recover by itself once it is back; please try again in a moment."
        )

    monkeypatch.setattr(scaling_service, "decide", unreadable)
    at = app().run()
    at.switch_page("pages/scaling.py").run()
    assert not at.exception
    [warning] = [w.value for w in at.warning if "scaling state" in w.value]
    # the reason, then what is unknown: two sentences, no reason in parentheses inside another
    assert warning == (
        "The database cannot be reached right now (connection refused). The dashboard will recover "
        "by itself once it is back; please try again in a moment. The shared scaling state could not "
        "be read, so the cooldown and the history are unknown."
    )
    assert {m.label: m.value for m in at.metric}["Cooldown left"] == "—"  # not "0 s": unknown
    # not "none yet" under it, which would contradict "unknown": one line says it
    captions = [c.value for c in at.caption]
    assert not any(c.startswith(("No recommendation remembered", "No scaling action")) for c in captions)
    assert captions.count("Unknown while the shared scaling state cannot be read.") == 1


def test_what_if_refuses_an_inconsistent_policy_with_a_message(demo_env: Settings) -> None:
    at = app().run()
    at.switch_page("pages/scaling.py").run()
    lowest = next(n for n in at.number_input if n.label == "Scale up above (ms)")
    lowest.set_value(100.0)  # below the scale-down limit of 500 ms
    next(b for b in at.button if b.label == "Try these values").click().run()
    assert not at.exception
    assert any("This policy cannot be used" in e.value for e in at.error)


def test_performance_page_notes_a_skipped_read_replica(demo_env: Settings) -> None:
    """The page says why the read replica is skipped and that the primary serves (no note while
    there is none, as in the demo). The routing itself is tested against a real standby in
    tests/test_read_replica.py."""
    from ebaydash.db.replica import ReadReplica
    from ebaydash.errors import DatabaseUnavailable

    at = app().run()
    at.switch_page("pages/performance.py").run()
    assert not any("read replica" in w.value for w in at.warning)
    ctx = app_context()
    replica = ReadReplica(ctx.db, max_lag_s=5, retry_s=10)
    replica.failed(DatabaseUnavailable("The database server at standby:5432 refused the connection."))
    ctx.db.replica = replica
    try:
        at.run()
        notes = [w.value for w in at.warning if "read replica" in w.value]
        assert len(notes) == 1
        assert "refused the connection" in notes[0] and "primary serves" in notes[0]
        assert "tried again every 10 s" in notes[0]
        badges = " ".join(m.value for m in at.markdown)
        assert "Read replica" in badges
    finally:
        ctx.db.replica = None
