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

import pytest

from ebaydash import cli
from ebaydash.cluster import Cluster, ClusterSpec, Replica
from ebaydash.cluster.commands import EXIT_NOT_ALL_HEALTHY
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
    assert " healthy," in lines[1] and "NOT healthy" in lines[2] and "NOT healthy" in lines[3]
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
