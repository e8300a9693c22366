"""``ebaydash cluster status`` on a cluster whose replicas are stand-ins: this process (alive) with a
health endpoint of its own or none, and a process that has ended. No HAProxy, Postgres or Redis:
the command reads the run directory, the processes and each replica's /_stcore/health."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from ebaydash import cli
from ebaydash.cluster import Cluster, ClusterSpec, Replica, ReplicaStatus
from ebaydash.cluster.autoscale import Step
from ebaydash.cluster.commands import EXIT_NOT_ALL_HEALTHY, replica_condition
from ebaydash.cluster.processes import Proc
from tests.conftest import free_port


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/_stcore/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # quiet in the test output
        pass


@pytest.fixture
def health_port() -> Iterator[int]:
    """A port answering /_stcore/health with 200, as a replica that is up does."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ended() -> Proc:
    """A process that ran and has ended: a replica that died."""
    process = subprocess.Popen(["sleep", "60"])
    proc = Proc.of(process.pid)
    process.kill()
    process.wait()
    return proc


def write_cluster(run_dir: Path, haproxy: Proc, replicas: dict[str, tuple[Proc, int]]) -> Cluster:
    """The run directory of a cluster with ``haproxy`` and ``replicas`` (name → process, port)."""
    spec = ClusterSpec(run_dir=run_dir, replicas=len(replicas), port=free_port(), slots=len(replicas))
    cluster = Cluster(
        spec,
        haproxy,
        {
            name: Replica(name=name, port=port, metrics_port=free_port(), pid=proc.pid, started=proc.started)
            for name, (proc, port) in replicas.items()
        },
    )
    cluster._save()  # the state file `cluster start` writes
    return cluster


def status(run_dir: Path, *extra: str) -> int:
    return cli.main(["cluster", "--run-dir", str(run_dir), "status", *extra])


ME = Proc.of(os.getpid())


def test_a_dead_and_a_hung_replica_exit_3_named_on_stderr_after_the_full_status(
    tmp_path: Path, health_port: int, ended: Proc, capsys: pytest.CaptureFixture[str]
) -> None:
    hung_port = free_port()  # nothing listens there: the process runs but does not answer
    write_cluster(tmp_path, ME, {"r1": (ME, health_port), "r2": (ended, free_port()), "r3": (ME, hung_port)})
    assert status(tmp_path) == EXIT_NOT_ALL_HEALTHY == 3
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("Balancer ") and "running)" in lines[0]
    # the full status still: every replica, the healthy one too
    assert [line.split()[0] for line in lines[1:]] == ["r1", "r2", "r3"]
    assert " healthy, ready, in rotation" not in out  # no HAProxy here: state unknown
    assert " healthy, unknown, out of rotation, 0 sessions" in lines[1]
    # down, and why, without an admin state that reads as the replica's condition
    assert " down (process not running), unknown, out of rotation, 0 sessions" in lines[2]
    assert " down (no answer to its health check), unknown, out of rotation" in lines[3]
    assert "NOT healthy" not in out
    assert f"replica r2 is down: its process (pid {ended.pid}) is not running" in err
    assert f"replica r3 is down: pid {ME.pid} runs but does not answer" in err
    assert f":{hung_port}/_stcore/health" in err
    assert "r1" not in err and "not all healthy (2 down)" in err


def test_the_json_status_holds_every_replica_and_what_is_down(
    tmp_path: Path, health_port: int, ended: Proc, capsys: pytest.CaptureFixture[str]
) -> None:
    write_cluster(tmp_path, ME, {"r1": (ME, health_port), "r2": (ended, free_port())})
    assert status(tmp_path, "--json") == 3
    out, err = capsys.readouterr()
    found = json.loads(out)  # stdout is the JSON alone
    assert [(r["name"], r["healthy"]) for r in found["replicas"]] == [("r1", True), ("r2", False)]
    assert found["balancer"]["running"] is True
    assert found["down"] == [f"replica r2 is down: its process (pid {ended.pid}) is not running"]
    assert found["exit_code"] == 3
    assert "replica r2 is down" in err


def test_a_dead_balancer_is_not_all_healthy_either(
    tmp_path: Path, health_port: int, ended: Proc, capsys: pytest.CaptureFixture[str]
) -> None:
    write_cluster(tmp_path, ended, {"r1": (ME, health_port)})
    assert status(tmp_path) == 3
    out, err = capsys.readouterr()
    assert "NOT running" in out and " healthy," in out
    assert f"the balancer (HAProxy pid {ended.pid}) is not running" in err


def test_everything_up_exits_0_and_says_nothing_on_stderr(
    tmp_path: Path, health_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control of the tests above: the same stand-ins, all up, read as healthy."""
    write_cluster(tmp_path, ME, {"r1": (ME, health_port), "r2": (ME, health_port)})
    assert status(tmp_path) == 0
    out, err = capsys.readouterr()
    assert out.count(" healthy,") == 2 and "NOT" not in out
    assert err == ""
    assert status(tmp_path, "--json") == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["down"], found["exit_code"]) == ([], 0)


def test_no_cluster_at_all_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(tmp_path) == 1
    assert "No cluster runs from" in capsys.readouterr().err


def test_the_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["cluster", "status", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 the balancer and every replica are up" in shown
    assert "3 the cluster runs but the balancer or a replica is down" in shown
    assert "1 no cluster runs from the run directory" in shown


# -- how a replica reads, what `cluster stop` says, counts in words --------------------------------


def _row(*, healthy: bool, running: bool, state: str = "ready") -> ReplicaStatus:
    return ReplicaStatus(
        name="r2",
        url="http://127.0.0.1:1",
        pid=1,
        healthy=healthy,
        metrics_url="http://127.0.0.1:2/metrics",
        state=state,
        in_rotation=healthy and state == "ready",
        sessions=0,
        running=running,
    )


def test_a_dead_replica_reads_down_not_ready() -> None:
    """HAProxy keeps a dead replica's admin state "ready": shown next to "down", it contradicted it."""
    assert replica_condition(_row(healthy=False, running=False)) == "down (process not running)"
    assert replica_condition(_row(healthy=False, running=True)) == "down (no answer to its health check)"
    # an admin state other than ready says something: it stays
    assert replica_condition(_row(healthy=False, running=False, state="drain")) == (
        "down (process not running), drain"
    )
    # the control: a replica that is up keeps its state
    assert replica_condition(_row(healthy=True, running=True)) == "healthy, ready"


def _sleeper() -> Proc:
    process = subprocess.Popen(["sleep", "60"])
    return Proc.of(process.pid)


def stop(run_dir: Path) -> int:
    return cli.main(["cluster", "--run-dir", str(run_dir), "stop"])


def test_stop_says_what_it_stopped_and_what_had_already_exited(
    tmp_path: Path, ended: Proc, capsys: pytest.CaptureFixture[str]
) -> None:
    haproxy, r1 = _sleeper(), _sleeper()  # stand-ins: stopping them is harmless
    write_cluster(tmp_path, haproxy, {"r1": (r1, free_port()), "r2": (ended, free_port())})
    assert stop(tmp_path) == 0
    assert capsys.readouterr().out == "Stopped HAProxy and 1 replica (r2 had already exited).\n"
    assert not haproxy.alive() and not r1.alive()
    assert not (tmp_path / "cluster.json").exists()


def test_stop_after_haproxy_was_killed_does_not_claim_to_stop_it(
    tmp_path: Path, ended: Proc, capsys: pytest.CaptureFixture[str]
) -> None:
    r1, r2 = _sleeper(), _sleeper()
    write_cluster(tmp_path, ended, {"r1": (r1, free_port()), "r2": (r2, free_port())})
    assert stop(tmp_path) == 0
    assert capsys.readouterr().out == "Stopped 2 replicas (HAProxy had already exited).\n"
    assert not r1.alive() and not r2.alive()


def test_stop_with_everything_gone_and_with_everything_up(
    tmp_path: Path, ended: Proc, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gone").mkdir()
    (tmp_path / "up").mkdir()
    write_cluster(tmp_path / "gone", ended, {"r1": (ended, free_port()), "r2": (ended, free_port())})
    assert stop(tmp_path / "gone") == 0
    assert capsys.readouterr().out == "Nothing was left to stop (HAProxy, r1 and r2 had already exited).\n"
    # the control: all running, all stopped, nothing said to be gone
    write_cluster(tmp_path / "up", _sleeper(), {"r1": (_sleeper(), free_port())})
    assert stop(tmp_path / "up") == 0
    assert capsys.readouterr().out == "Stopped HAProxy and 1 replica.\n"


def test_counts_of_one_are_singular() -> None:
    """The autoscaler's line and the status' sessions: "1 serving replica", "1 session"."""
    decision = SimpleNamespace(label="Scale down", rule="all_below", reason="Load is low.")
    down = Step(decision, before=2, after=1, stopped=("r2",))  # type: ignore[arg-type]
    assert down.describe().startswith("Scale down: 2 → 1 serving replica (all below); stopped r2.")
    up = Step(decision, before=1, after=2)  # type: ignore[arg-type]
    assert "1 → 2 serving replicas (" in up.describe()  # the control: more than one


def test_start_says_1_replica(
    tmp_path: Path, health_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cluster start --replicas 1`, its cluster a stand-in (no HAProxy, no Streamlit)."""

    def start(cls: type[Cluster], spec: ClusterSpec, settings: object, environ: object) -> Cluster:
        return write_cluster(
            spec.run_dir, ME, {f"r{i}": (ME, health_port) for i in range(1, spec.replicas + 1)}
        )

    monkeypatch.setattr(Cluster, "start", classmethod(start))
    run = ["cluster", "--run-dir", str(tmp_path), "start", "--port", str(free_port())]
    assert cli.main([*run, "--replicas", "1"]) == 0
    assert ": 1 replica behind HAProxy\n" in capsys.readouterr().out
    assert cli.main([*run, "--replicas", "2"]) == 0  # the control
    assert ": 2 replicas behind HAProxy\n" in capsys.readouterr().out
