"""Prometheus exposition: the recorder's events reach one registry per process through the fold,
the names follow Prometheus' conventions, and the endpoint's text parses with the client's parser."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ebaydash import exposition
from ebaydash.context import Context, build_context
from ebaydash.models import Window
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.prometheus import MAX_LABEL_VALUES, PrometheusBridge
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, free_port


def samples(bridge: PrometheusBridge) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(bridge.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_folded_events_become_histograms_counters_and_errors() -> None:
    recorder = MetricsRecorder()
    bridge = PrometheusBridge(shared_cache=True)
    recorder.add_sink(bridge.on_events)
    for seconds in (0.004, 0.02, 0.3, 7.0):
        recorder.record("page", "overview", seconds)
    recorder.record("page", "orders", 0.05, ok=False)
    recorder.record("sql", "select", 0.0003)
    recorder.record("query", "account_kpis", 0.002, rows=1)
    recorder.record("service", "kpis", 0.01)
    for name in ("l1.hit", "l1.hit", "l2.hit", "miss", "stale.hit", "l2.error"):
        recorder.record("cache", name, 0.00001)
    # nothing reaches the registry until the fold (the hot path only queues)
    assert samples(bridge).get(("ebaydash_page_duration_seconds_count", (("page", "overview"),))) is None
    recorder.fold()
    got = samples(bridge)
    page = (("page", "overview"),)
    assert got[("ebaydash_page_duration_seconds_count", page)] == 4
    assert got[("ebaydash_page_duration_seconds_sum", page)] == pytest.approx(7.324)
    assert got[("ebaydash_page_duration_seconds_bucket", (("le", "0.005"), ("page", "overview")))] == 1
    assert got[("ebaydash_page_duration_seconds_bucket", (("le", "0.5"), ("page", "overview")))] == 3
    assert got[("ebaydash_page_duration_seconds_bucket", (("le", "+Inf"), ("page", "overview")))] == 4
    assert got[("ebaydash_errors_total", (("kind", "page"),))] == 1
    assert got[("ebaydash_sql_statement_duration_seconds_count", (("verb", "select"),))] == 1
    assert got[("ebaydash_query_duration_seconds_count", (("query", "account_kpis"),))] == 1
    assert got[("ebaydash_service_duration_seconds_count", (("service", "kpis"),))] == 1
    assert got[("ebaydash_cache_hits_total", (("level", "l1"),))] == 2
    assert got[("ebaydash_cache_hits_total", (("level", "l2"),))] == 1
    assert got[("ebaydash_cache_hits_total", (("level", "stale"),))] == 1
    # l1 missed 3 lookups (l2 hit, stale copy, miss); l2 missed 2 of those
    assert got[("ebaydash_cache_misses_total", (("level", "l1"),))] == 3
    assert got[("ebaydash_cache_misses_total", (("level", "l2"),))] == 2
    assert got[("ebaydash_cache_errors_total", (("event", "l2.error"),))] == 1


def test_without_a_shared_cache_there_are_no_l2_misses() -> None:
    bridge = PrometheusBridge(shared_cache=False)
    bridge.on_events([(0.0, "cache", "miss", 0.0, True, None)])
    got = samples(bridge)
    assert got[("ebaydash_cache_misses_total", (("level", "l1"),))] == 1
    assert ("ebaydash_cache_misses_total", (("level", "l2"),)) not in got


def test_names_follow_prometheus_conventions() -> None:
    bridge = PrometheusBridge()
    bridge.on_events(
        [(0.0, kind, "x", 0.01, False, None) for kind in ("page", "service", "query", "sql")]
        + [(0.0, "cache", name, 0.0, True, None) for name in ("l1.hit", "miss", "l2.error")]
    )
    text = generate_latest(bridge.registry).decode()
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("ebaydash_"), family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name


def test_label_values_are_capped() -> None:
    bridge = PrometheusBridge()
    bridge.on_events([(0.0, "page", f"p{i}", 0.01, True, None) for i in range(MAX_LABEL_VALUES + 50)])
    pages = {labels for (name, labels) in samples(bridge) if name == "ebaydash_page_duration_seconds_count"}
    assert len(pages) == MAX_LABEL_VALUES + 1
    assert (("page", "(other)"),) in pages


def test_a_failing_sink_does_not_stop_the_fold() -> None:
    recorder = MetricsRecorder()

    def broken(events: object) -> None:
        raise RuntimeError("boom")

    recorder.add_sink(broken)
    recorder.record("page", "overview", 0.01)
    recorder.fold()
    assert recorder.snapshot(60, scope="process").pages.count == 1


@pytest.fixture
def metrics_context(tmp_path: Path, demo_template: Path) -> Iterator[Context]:
    import shutil

    shutil.copyfile(demo_template, tmp_path / "demo.sqlite3")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", metrics_port=free_port(), replicas=2
    )
    ctx = build_context(settings, start_sampler=False)
    try:
        yield ctx
    finally:
        ctx.close()


def test_the_endpoint_serves_the_registry_and_the_scaling_recommendation(metrics_context: Context) -> None:
    ctx = metrics_context
    port = exposition.attach(ctx, live_sessions=lambda: 4)
    assert port is not None
    from ebaydash import services

    account = services.default_account(services.accounts(ctx, OPERATOR))
    services.kpis(ctx, OPERATOR, account.id, Window.last_days(30, account.timezone))
    ctx.recorder.record("page", "overview", 0.02)
    ctx.recorder.fold()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert got[("ebaydash_live_sessions", ())] == 4
    assert got[("ebaydash_page_duration_seconds_count", (("page", "overview"),))] >= 1
    assert got[("ebaydash_query_duration_seconds_count", (("query", "account_kpis"),))] >= 1
    # the process's own metrics are younger than a minute: the engine holds, for 2 replicas
    assert got[("ebaydash_scaling_current_replicas", ())] == 2
    assert got[("ebaydash_scaling_desired_replicas", ())] == 2
    actions = {
        labels[0][1]: v for (name, labels), v in got.items() if name == "ebaydash_scaling_recommendation"
    }
    assert actions == {"scale_up": 0.0, "scale_down": 0.0, "hold": 1.0}
