"""The replicas the scaling engine counts as running now: the app replicas reporting fresh samples
in the shared metrics, not the commands that read them (``ebaydash recommend`` runs outside the
app), unless the count is given (``--replicas``) or EBAYDASH_REPLICAS is set."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash import cli, ui
from ebaydash.monitor import shared as shared_metrics
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.shared import SharedMetrics
from ebaydash.monitor.state import replica_id
from ebaydash.services import scaling as scaling_service
from ebaydash.settings import Settings
from tests.conftest import ROOT
from tests.test_shared_metrics import delete_shared_metrics

# the field a replica's EBAYDASH_REPLICA_NAME is published in, spelled out: replicas of other
# versions read it
NAME = "replica_name"


# -- which samples are replicas, and which count wins (no Redis) --------------------------------


def test_samples_under_one_replica_name_are_one_replica_the_newest() -> None:
    samples = {
        "host:1": {"at": 100.0, NAME: "r1"},
        "host:2": {"at": 110.0, NAME: "r1"},  # r1 restarted in its slot: a new pid
        "host:3": {"at": 105.0, NAME: "r2"},
        "host:4": {"at": 90.0, NAME: ""},  # started without EBAYDASH_REPLICA_NAME
        "host:5": {"at": 95.0},  # an older ebaydash, which did not publish the name
    }
    kept = shared_metrics.distinct_replicas(samples)
    assert sorted(kept) == ["host:2", "host:3", "host:4", "host:5"]
    assert kept["host:2"] is samples["host:2"]
    assert shared_metrics.distinct_replicas({}) == {}


@pytest.mark.parametrize(
    ("setting", "reporting", "given", "count", "source", "label"),
    [
        (1, {"a": {}, "b": {}, "c": {}}, None, 3, "reporting", "3 replicas reporting"),
        (1, {"a": {}}, None, 1, "reporting", "1 replica reporting"),
        (1, {}, None, 1, "setting", "EBAYDASH_REPLICAS=1, no replica reporting"),
        (1, None, None, 1, "setting", "EBAYDASH_REPLICAS=1, no replica reporting"),  # not shared
        (2, {"a": {}, "b": {}, "c": {}}, None, 2, "setting", "EBAYDASH_REPLICAS=2"),  # set: it wins
        (2, {"a": {}, "b": {}, "c": {}}, 1, 1, "given", "1 given"),  # --replicas wins over both
    ],
)
def test_the_count_given_then_the_setting_then_the_replicas_reporting(
    setting: int,
    reporting: dict[str, dict[str, object]] | None,
    given: int | None,
    count: int,
    source: str,
    label: str,
) -> None:
    found = scaling_service.replica_count(Settings(replicas=setting), reporting, given=given)
    assert (found.count, found.source, found.label) == (count, source, label)


def test_replicas_set_to_1_in_the_environment_win_over_the_replicas_reporting() -> None:
    """EBAYDASH_REPLICAS=1 said by the deployment is a count, not the default."""
    reporting: dict[str, dict[str, object]] = {"a": {}, "b": {}}
    said = Settings.from_env({"EBAYDASH_REPLICAS": "1"})
    assert scaling_service.replica_count(said, reporting).count == 1
    assert scaling_service.replica_count(Settings.from_env({}), reporting).count == 2


# -- through the shared metrics ---------------------------------------------------------------


@pytest.fixture
def shared_env(redis_url: str, demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The demo database and the test Redis under key prefixes of this test's own (deleted by
    name afterwards, never KEYS); EBAYDASH_REPLICAS unset."""
    prefix = f"ebaydash:test:{uuid.uuid4().hex[:12]}"
    started = int(time.time())
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    monkeypatch.setenv("EBAYDASH_REDIS_URL", redis_url)
    monkeypatch.setenv("EBAYDASH_METRICS_PREFIX", prefix)
    monkeypatch.setenv("EBAYDASH_CACHE_PREFIX", f"ebaydash-test-{uuid.uuid4().hex[:12]}")
    monkeypatch.delenv("EBAYDASH_REPLICAS", raising=False)
    monkeypatch.delenv("EBAYDASH_REPLICA_NAME", raising=False)
    yield prefix
    delete_shared_metrics(redis_url, prefix, started)


def store_for(redis_url: str, prefix: str) -> SharedMetrics:
    return SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=1)


def replicas_report(redis_url: str, prefix: str, names: list[str], *, page_runs: int = 0) -> float:
    """App replicas named ``names`` publish a fresh sample each (as host ``other``, one pid each)
    and served ``page_runs`` fast page runs between them; the cluster's page runs per minute."""
    store = store_for(redis_url, prefix)
    recorder = MetricsRecorder(shared=store)
    for _ in range(page_runs):
        recorder.record("page", "overview", 0.05)
    assert recorder.flush()
    now = time.time()
    for pid, name in enumerate(names, start=1):
        assert store.publish_sample(f"other:{pid}", {"at": now, "system_memory_percent": 50.0, NAME: name})
    pages = MetricsRecorder(shared=store).snapshot(Settings().scale_window_s, traffic="all").pages
    return pages.per_minute


def published(redis_url: str, prefix: str) -> dict[str, dict[str, object]]:
    """Every sample in the shared hash, fresh or not."""
    client = redis.Redis.from_url(redis_url, socket_timeout=1)
    try:
        raw = client.hgetall(f"{prefix}:replicas")
    finally:
        client.close()
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def recommend(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """`ebaydash recommend --json --dry-run ARGS`, run in this process: its decision."""
    cli.main(["recommend", "--json", "--dry-run", *args])
    decision: dict[str, Any] = json.loads(capsys.readouterr().out)
    return decision


@pytest.mark.redis
def test_recommend_counts_the_app_replicas_reporting_and_divides_the_load_by_them(
    shared_env: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bug: three replicas ran, EBAYDASH_REPLICAS was not set, and `recommend` said 1 → 3 and
    judged the cluster's whole request rate as one replica's."""
    # r1 restarted a moment ago: its old process's sample is as fresh as its new one's
    rate = replicas_report(redis_url, shared_env, ["r1", "r2", "r3", "r1"], page_runs=600)
    decision = recommend(capsys)
    assert decision["current_replicas"] == 3
    rules = {r["metric"]: r for r in decision["rules"]}
    assert rules["throughput_per_min"]["observed"] == pytest.approx(rate / 3, rel=0.05)


@pytest.mark.redis
def test_recommend_does_not_count_itself(
    shared_env: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # no replica reports: the command reads this machine's memory itself, for itself only
    assert recommend(capsys)["current_replicas"] == 1
    assert published(redis_url, shared_env) == {}
    replicas_report(redis_url, shared_env, ["r1", "r2"])
    assert recommend(capsys)["current_replicas"] == 2
    assert sorted(published(redis_url, shared_env)) == ["other:1", "other:2"]


@pytest.mark.redis
def test_a_count_given_or_set_wins_over_the_replicas_reporting(
    shared_env: str, redis_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    replicas_report(redis_url, shared_env, ["r1", "r2", "r3"])
    assert recommend(capsys)["current_replicas"] == 3
    assert recommend(capsys, "--replicas", "4")["current_replicas"] == 4
    monkeypatch.setenv("EBAYDASH_REPLICAS", "2")
    assert recommend(capsys)["current_replicas"] == 2
    assert recommend(capsys, "--replicas", "5")["current_replicas"] == 5


@pytest.mark.redis
def test_the_scaling_page_counts_the_replicas_reporting_and_says_so(
    shared_env: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EBAYDASH_REPLICA_NAME", "r0")
    monkeypatch.setenv("EBAYDASH_RESOURCE_INTERVAL_S", "3600")  # one sample at start-up
    replicas_report(redis_url, shared_env, ["r1", "r2"])
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        assert not at.exception
        # the app serves, so it reports itself, under its name (its sampler's first sample)
        deadline = time.monotonic() + 10
        while replica_id() not in published(redis_url, shared_env):
            assert time.monotonic() < deadline, "the app never published its sample"
            time.sleep(0.05)
        assert published(redis_url, shared_env)[replica_id()][NAME] == "r0"
        assert ui._context().sampler.running
        at.switch_page("pages/scaling.py").run()
        assert not at.exception and not at.error
        assert {m.label: m.value for m in at.metric}["Replicas"].startswith("3 → ")
        assert "**Replicas now:** 3 replicas reporting" in " ".join(c.value for c in at.caption)
        # the what-if starts from the same count
        assert next(n for n in at.number_input if n.label == "Replicas now").value == 3
    finally:
        st.cache_resource.clear()
