"""`ebaydash recommend` (exit codes, JSON, shared claim), `ebaydash loadgen`, alerts and health."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
import uuid

import pytest

from ebaydash import cli, services
from ebaydash.context import build_context
from ebaydash.errors import InvalidInput
from ebaydash.monitor.alerts import AlertMonitor, Limits, check
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSample
from ebaydash.monitor.shared import SharedMetrics
from ebaydash.services import health, loadgen
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, free_port


@pytest.fixture
def shared_env(redis_url: str, demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    prefix = f"ebaydash:test:{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    monkeypatch.setenv("EBAYDASH_REDIS_URL", redis_url)
    monkeypatch.setenv("EBAYDASH_METRICS_PREFIX", prefix)
    return prefix


def replica_traffic(redis_url: str, prefix: str, *, seconds: float, count: int) -> None:
    """Another replica served ``count`` page runs of ``seconds`` each and reports its memory."""
    store = SharedMetrics.connect(redis_url, timeout_ms=500, prefix=prefix, breaker_reset_s=1)
    recorder = MetricsRecorder(shared=store)
    for _ in range(count):
        recorder.record("page", "overview", seconds)
    assert recorder.flush()
    assert store.publish_sample("other:1", {"at": time.time(), "system_memory_percent": 50.0})


@pytest.mark.redis
def test_recommend_exits_10_on_scale_up_and_the_second_run_holds(
    shared_env: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    replica_traffic(redis_url, shared_env, seconds=4.5, count=50)
    assert cli.main(["recommend", "--json", "--replicas", "2"]) == cli.EXIT_SCALE_UP
    first = json.loads(capsys.readouterr().out)
    assert (first["action"], first["current_replicas"], first["desired_replicas"]) == ("scale_up", 2, 3)
    assert first["rule"] == "avg_response_ms" and first["exit_code"] == 10
    assert {r["metric"]: r["verdict"] for r in first["rules"]}["avg_response_ms"] == "up"
    # readings rounded: a sum of fractions printed 0.07400000000000001
    observed = [r["observed"] for r in first["rules"] if isinstance(r["observed"], float)]
    assert observed and all(o == round(o, 6) for o in observed)
    assert cli._rounded({"a": [0.07400000000000001, 2], "b": 1 / 3}) == {"a": [0.074, 2], "b": 0.333333}
    # another replica's cron job a moment later: the episode was claimed, so it holds
    assert cli.main(["recommend", "--replicas", "2"]) == cli.EXIT_HOLD
    out = capsys.readouterr().out
    assert out.startswith("Hold: 2 -> 2 replicas\n")
    assert "cooldown left" in out


@pytest.mark.redis
def test_recommend_dry_run_claims_nothing(
    shared_env: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    replica_traffic(redis_url, shared_env, seconds=4.5, count=50)
    assert cli.main(["recommend", "--dry-run", "--replicas", "2"]) == cli.EXIT_SCALE_UP
    assert cli.main(["recommend", "--dry-run", "--replicas", "2"]) == cli.EXIT_SCALE_UP
    capsys.readouterr()


@pytest.mark.redis
def test_recommend_holds_when_only_some_metrics_are_low(
    shared_env: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    replica_traffic(redis_url, shared_env, seconds=0.05, count=10)
    code = cli.main(["recommend", "--json", "--replicas", "4"])
    decision = json.loads(capsys.readouterr().out)
    # 10 fast page runs in 5 minutes, 50 % memory: memory is inside its band, so no scale-down
    assert (code, decision["rule"]) == (cli.EXIT_HOLD, "within_limits")


@pytest.mark.redis
def test_recommend_scale_down_when_every_metric_is_low(
    shared_env: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SharedMetrics.connect(redis_url, timeout_ms=500, prefix=shared_env, breaker_reset_s=1)
    recorder = MetricsRecorder(shared=store)
    for _ in range(10):
        recorder.record("page", "overview", 0.05)
    assert recorder.flush()
    assert store.publish_sample("other:1", {"at": time.time(), "system_memory_percent": 5.0})
    assert cli.main(["recommend", "--replicas", "4"]) == cli.EXIT_SCALE_DOWN
    out = capsys.readouterr().out
    assert out.startswith("Scale down: 4 -> 1 replica\n")
    # each reading in its unit: memory as a percentage (not 0.05), response time in ms
    assert "  Memory use: 5% (down:" in out
    assert "  Average response time: 50 ms (down:" in out


def test_recommend_without_redis_says_why_it_holds(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    monkeypatch.delenv("EBAYDASH_REDIS_URL", raising=False)
    assert cli.main(["recommend"]) == cli.EXIT_HOLD
    captured = capsys.readouterr()
    assert "EBAYDASH_REDIS_URL is not set" in captured.err
    # the command's own process serves no page: waiting would not help, so it says what would
    assert "(not shared: EBAYDASH_REDIS_URL is not set)" in captured.out
    assert "collecting" not in captured.out


def test_recommend_with_redis_down_holds_quickly(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    monkeypatch.setenv("EBAYDASH_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    started = time.perf_counter()
    assert cli.main(["recommend", "--replicas", "3"]) == cli.EXIT_HOLD
    assert time.perf_counter() - started < 5
    assert "shared metrics unavailable" in capsys.readouterr().out


def test_recommend_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (["--replicas", "0"], ["--bogus"]):
        with pytest.raises(SystemExit) as stopped:
            cli.main(["recommend", *bad])
        assert stopped.value.code == 2
    assert "argument --replicas: must be a whole number from 1 to 1000, not 0" in capsys.readouterr().err


def test_recommend_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["recommend", "--help"])
    text = capsys.readouterr().out
    assert "0 hold, 10 scale up, 11 scale down" in text


# -- loadgen ------------------------------------------------------------------------------------


def test_loadgen_drives_real_service_calls_and_stops_by_count(demo_url: str) -> None:
    ctx = build_context(Settings(database_url=demo_url), start_sampler=False)
    try:
        result = loadgen.run(ctx, seconds=60, requests=40, workers=3, fresh=0.5, seed=3)
        snap = ctx.recorder.snapshot(60, traffic="simulated")
        real = ctx.recorder.snapshot(60)
    finally:
        ctx.close()
    assert result.requests == 40 and result.errors == 0
    assert result.stopped_by == "requests"
    assert sum(result.by_page.values()) == 40
    assert snap.pages.count == 40  # every simulated page view recorded
    assert snap.services.count > 40  # …through the real services
    assert snap.count("service", "kpis") > 0 and snap.statements.count > 0
    # kept apart: no real visitor's page run or service call; the only real statements are the
    # process's own background reads of the accounts' data versions (no visitor's)
    assert real.pages.count == real.services.count == 0
    assert real.statements.count < snap.statements.count


def test_loadgen_stops_by_time(demo_url: str) -> None:
    ctx = build_context(Settings(database_url=demo_url), start_sampler=False)
    try:
        result = loadgen.run(ctx, seconds=0.5, requests=1_000_000, workers=2, seed=1)
    finally:
        ctx.close()
    assert result.stopped_by == "time"
    assert result.seconds < 5
    assert 0 < result.requests < 1_000_000


@pytest.mark.parametrize(
    "limits",
    [
        {"seconds": 0},
        {"seconds": 4000},
        {"requests": 0},
        {"requests": 2_000_000},
        {"workers": 0},
        {"workers": 64},
        {"fresh": 1.5},
    ],
)
def test_loadgen_refuses_unbounded_runs(limits: dict[str, float]) -> None:
    args = {"seconds": 10.0, "requests": 10, "workers": 1, "fresh": 0.1, **limits}
    with pytest.raises(InvalidInput):
        loadgen.check_limits(**args)  # type: ignore[arg-type]


def test_loadgen_command(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    monkeypatch.delenv("EBAYDASH_REDIS_URL", raising=False)
    assert cli.main(["loadgen", "--requests", "20", "--seconds", "30", "--quiet", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("20 page views in") and "stopped by requests" in out
    assert re.search(r"0 errors; p50 [0-9.,]+ (s|ms|µs), p95 [0-9.,]+ (s|ms|µs)\. ", out), out
    with pytest.raises(SystemExit) as stopped:  # a usage error with the range, not a traceback
        cli.main(["loadgen", "--workers", "100"])
    assert stopped.value.code == 2
    assert "argument --workers: must be a whole number from 1 to 32, not 100" in capsys.readouterr().err


# -- alerts -------------------------------------------------------------------------------------


def sample(rss_mb: float = 200.0, cpu: float = 10.0) -> ResourceSample:
    return ResourceSample(time.time(), int(rss_mb * 2**20), cpu, 8, 40.0, 8 * 2**30, 24 * 2**30, 20.0, 0.5)


@pytest.mark.parametrize(
    ("rss_mb", "cpu", "page_s", "failures", "keys"),
    [
        (1023.0, 79.0, 1.9, 0, []),
        (1024.0, 80.0, 2.0, 1, []),  # at each limit: not over it (1 of 20 = 5 %)
        (1025.0, 80.5, 2.1, 2, ["rss", "cpu", "response", "errors"]),  # just over each
    ],
)
def test_alert_limits(rss_mb: float, cpu: float, page_s: float, failures: int, keys: list[str]) -> None:
    recorder = MetricsRecorder()
    recorder.record("page", "overview", page_s)
    for i in range(20):
        recorder.record("service", "kpis", 0.01, ok=i >= failures)
    alerts = check(sample(rss_mb, cpu), recorder.snapshot(60), Limits())
    assert [a.key for a in alerts] == keys


def test_alerts_are_logged_when_they_start_and_clear(caplog: pytest.LogCaptureFixture) -> None:
    recorder = MetricsRecorder()
    limits = Limits(rss_mb=500)
    monitor = AlertMonitor(recorder, limits)
    caplog.set_level(logging.INFO, logger="ebaydash.alerts")
    start = time.time()

    def at(seconds: float, rss_mb: float, cpu: float = 10.0) -> None:
        reading = sample(rss_mb=rss_mb, cpu=cpu)
        monitor.on_sample(dataclasses.replace(reading, at=start + seconds))

    at(0, 900, cpu=99)  # first sample: CPU since start-up is ignored
    at(5, 900)
    at(10, 900)
    assert monitor.active() == []  # over the limit for 10 s: not yet
    at(15, 900)
    assert [a.key for a in monitor.active()] == ["rss"]
    at(20, 100)
    at(45, 100)
    assert [a.key for a in monitor.active()] == ["rss"]  # under the clear line for 25 s: not yet
    at(50, 100)
    assert monitor.active() == []
    messages = [r.getMessage() for r in caplog.records if r.name == "ebaydash.alerts"]
    assert messages == [
        "alert: Process memory is 900 MiB, over the 500 MiB limit.",
        "alert cleared: Cleared: process memory is 100 MiB, under 450 MiB for 30 s; the limit is 500 MiB.",
    ]
    assert [e.raised for e in monitor.events()] == [True, False]


# -- health -------------------------------------------------------------------------------------


def test_health_checks_without_redis(demo_url: str) -> None:
    ctx = build_context(Settings(database_url=demo_url), start_sampler=False)
    try:
        checks = {c.name: c for c in health.health_checks(ctx, OPERATOR)}
    finally:
        ctx.close()
    db = checks["Database (sqlite)"]
    assert db.status == "ok" and "round trip" in db.detail and "pool" in db.detail
    assert checks["Redis"].status == "off"
    assert checks["Cache"].status == "off" and "in-process cache" in checks["Cache"].detail


def test_health_checks_with_redis_down(demo_url: str) -> None:
    settings = Settings(database_url=demo_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    ctx = build_context(settings, start_sampler=False)
    try:
        assert services.accounts(ctx, OPERATOR)  # served by the database while the shared cache fails
        started = time.perf_counter()
        checks = {c.name: c for c in health.health_checks(ctx, OPERATOR)}
        assert time.perf_counter() - started < 2
    finally:
        ctx.close()
    assert checks["Redis"].status == "down"
    assert checks["Database (sqlite)"].status == "ok"
    assert checks["Cache"].status == "degraded" and "from the database" in checks["Cache"].detail


@pytest.mark.redis
def test_health_checks_with_redis(demo_url: str, redis_url: str) -> None:
    ctx = build_context(Settings(database_url=demo_url, redis_url=redis_url), start_sampler=False)
    try:
        checks = {c.name: c for c in health.health_checks(ctx, OPERATOR)}
    finally:
        ctx.close()
    assert checks["Redis"].status == "ok" and "round trip" in checks["Redis"].detail
    assert checks["Cache"].status == "ok" and "breaker closed" in checks["Cache"].detail


def test_health_of_an_unreachable_database() -> None:
    settings = Settings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    ctx = build_context(settings, start_sampler=False)
    try:
        (db, *_rest) = health.health_checks(ctx, OPERATOR)
    finally:
        ctx.close()
    assert db.status == "down" and "cannot be reached" in db.detail
