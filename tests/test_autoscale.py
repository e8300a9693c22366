"""`ebaydash autoscale` on a real cluster under `ebaydash loadgen`: 1 → more replicas while the
load lasts, back to 1 after the stabilisation window, within min/max, every step recorded and on
the scaling page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash.cluster import Cluster
from ebaydash.db.engine import Database, make_engine
from ebaydash.monitor.state import ScalingStateStore
from ebaydash.settings import Settings
from tests.cluster_support import cluster_env, demo_database, running_cluster
from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

# short windows, so a test sees a whole episode: judge the last 20 s, hold scale-downs for 20 s
POLICY = {
    "EBAYDASH_MIN_REPLICAS": "1",
    "EBAYDASH_MAX_REPLICAS": "3",
    "EBAYDASH_SCALE_UP_THROUGHPUT_PER_MIN": "600",
    "EBAYDASH_SCALE_DOWN_THROUGHPUT_PER_MIN": "60",
    "EBAYDASH_SCALE_UP_MEMORY": "0.99",  # the machine's memory must not decide either way
    "EBAYDASH_SCALE_DOWN_MEMORY": "0.95",
    "EBAYDASH_SCALE_COOLDOWN_S": "4",
    "EBAYDASH_SCALE_STABILISATION_S": "20",
    "EBAYDASH_SCALE_WINDOW_S": "20",
    "EBAYDASH_SCALE_MAX_DATA_AGE_S": "30",
}


@pytest.fixture
def environment(postgres_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    with demo_database() as url:
        yield cluster_env(url, redis_url, **POLICY)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ebaydash.cli", *args]


def test_autoscale_follows_the_load_up_and_back_down(
    tmp_path: Path, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBAYDASH_")} | environment
    with running_cluster(tmp_path / "run", environment, replicas=1, slots=4) as cluster:
        steps: list[dict[str, object]] = []
        scaler = subprocess.Popen(
            command(
                "autoscale",
                "--run-dir",
                str(cluster.spec.run_dir),
                "--interval",
                "1",
                "--drain-timeout",
                "5",
                "--json",
            ),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def read() -> None:
            assert scaler.stdout is not None
            for line in scaler.stdout:
                steps.append(json.loads(line))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            load = subprocess.run(
                command("loadgen", "--seconds", "25", "--requests", "1000000", "--workers", "2", "--quiet"),
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert load.returncode == 0, load.stderr
            loaded_until = time.monotonic()
            assert max(int(s["after"]) for s in steps) >= 2, steps
            # the load is over: after the window empties and the stabilisation window passes, back to 1
            deadline = loaded_until + 120
            while not (steps and steps[-1]["after"] == 1 and any(s["action"] == "scale_down" for s in steps)):
                assert time.monotonic() < deadline, steps[-5:]
                assert scaler.poll() is None, scaler.stderr.read() if scaler.stderr else ""
                time.sleep(1)
        finally:
            scaler.send_signal(signal.SIGTERM)
            scaler.wait(timeout=60)
        assert scaler.returncode == 0

        counts = [int(s["before"]) for s in steps] + [int(s["after"]) for s in steps]
        assert min(counts) >= 1 and max(counts) <= 3, counts
        ups = [s for s in steps if s["action"] == "scale_up"]
        downs = [s for s in steps if s["action"] == "scale_down"]
        assert ups and downs
        assert all(not s["problems"] for s in steps), [s for s in steps if s["problems"]]
        # the low load was held back by the stabilisation window before the first scale-down
        first_down = steps.index(downs[0])
        assert any(s["rule"] == "stabilisation" for s in steps[:first_down]), steps[:first_down]
        started = [name for s in ups for name in s["started"]]  # type: ignore[attr-defined]
        stopped = [name for s in downs for name in s["stopped"]]  # type: ignore[attr-defined]
        assert sorted(started) == sorted(stopped)
        final = Cluster.open(cluster.spec.run_dir)
        assert len(final.serving()) == 1
        assert [r.healthy for r in final.status().replicas] == [True]

        # every step is in scaling_actions …
        db = Database(
            make_engine(Settings(database_url=environment["EBAYDASH_DATABASE_URL"])), timeout_ms=5000
        )
        try:
            actions = ScalingStateStore(db).actions(limit=200)
        finally:
            db.dispose()
        kinds = [a.action for a in actions]
        assert kinds.count("scale_up") == len(ups) and kinds.count("scale_down") == len(downs)
        assert kinds.count("replica_started") == len(started)
        assert kinds.count("replica_stopped") == len(stopped)
        for a in actions:
            assert 1 <= a.from_replicas <= 3 and 1 <= a.to_replicas <= 3, a

        # … and on the scaling page
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        st.cache_resource.clear()
        try:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
            at.run()
            at.switch_page("pages/scaling.py").run()
            assert not at.exception
            tables = [frame.value for frame in at.dataframe]
            history = next(t for t in tables if "Action" in t.columns)
        finally:
            st.cache_resource.clear()
        shown = list(history["Action"])
        assert shown == [a.action.replace("_", " ") for a in actions], shown
        for name in started:
            assert any(f"Started {name}" in reason for reason in history["Reason"]), name
        for name in stopped:
            assert any(f"Drained {name}" in reason for reason in history["Reason"]), name
