"""The cluster's configuration and commands without starting replicas: the generated HAProxy
configuration (checked by haproxy itself), the settings cluster mode needs, the runtime API client
against a real HAProxy, and the command's messages."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ebaydash import cli
from ebaydash.cluster import ClusterConfigError, ClusterSpec, RuntimeAPI, check_settings, render
from ebaydash.cluster.config import BACKEND
from ebaydash.cluster.errors import RuntimeAPIError
from ebaydash.settings import Settings
from tests.cluster_support import require_haproxy
from tests.conftest import free_port

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/14"


def spec(tmp_path: Path, **changes: object) -> ClusterSpec:
    return ClusterSpec(run_dir=tmp_path, **{"replicas": 2, "slots": 4, "port": free_port(), **changes})  # type: ignore[arg-type]


def test_the_config_has_affinity_redispatch_health_checks_tunnel_and_spare_slots(tmp_path: Path) -> None:
    text = render(spec(tmp_path), {"r1": "127.0.0.1:9001", "r2": "127.0.0.1:9002"})
    assert "cookie SRV insert indirect nocache" in text
    assert "option redispatch 1" in text
    assert "option httpchk GET /_stcore/health" in text
    assert "timeout tunnel 3600s" in text
    assert f"stats socket {tmp_path / 'haproxy.sock'} mode 600 level admin" in text
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server ")]
    assert [s[1] for s in servers] == ["r1", "r2", "r3", "r4"]
    assert servers[0][2:] == ["127.0.0.1:9001", "cookie", "r1"]
    assert servers[2][-1] == "disabled" and servers[3][3:5] == ["cookie", "r4"]


def test_without_affinity_there_is_no_cookie_anywhere(tmp_path: Path) -> None:
    text = render(spec(tmp_path, affinity=False), {"r1": "127.0.0.1:9001"})
    assert "cookie" not in text.replace("# no affinity", "")


@pytest.mark.parametrize("affinity", [True, False])
def test_haproxy_accepts_the_generated_config(tmp_path: Path, affinity: bool) -> None:
    binary = require_haproxy()
    path = tmp_path / "haproxy.cfg"
    path.write_text(render(spec(tmp_path, affinity=affinity), {"r1": "127.0.0.1:9001"}))
    result = subprocess.run([binary, "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("database_url", "redis_url", "missing"),
    [
        ("", REDIS, ["EBAYDASH_DATABASE_URL"]),
        (PG, None, ["EBAYDASH_REDIS_URL"]),
        ("sqlite:///x.db", None, ["EBAYDASH_DATABASE_URL", "EBAYDASH_REDIS_URL"]),
    ],
)
def test_cluster_mode_needs_postgres_and_redis(
    database_url: str, redis_url: str | None, missing: list[str]
) -> None:
    with pytest.raises(ClusterConfigError) as caught:
        check_settings(Settings(database_url=database_url, redis_url=redis_url))
    message = str(caught.value)
    assert message.startswith("Cluster mode needs Postgres and Redis")
    for name in missing:
        assert name in message
    check_settings(Settings(database_url=PG, redis_url=REDIS))  # both set: fine


def test_make_cluster_without_postgres_exits_2_with_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EBAYDASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("EBAYDASH_REDIS_URL", raising=False)
    code = cli.main(["cluster", "--run-dir", str(tmp_path), "start", "--replicas", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Cluster mode needs Postgres and Redis" in err and "Traceback" not in err
    assert not (tmp_path / "cluster.json").exists()


def test_status_of_no_cluster_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["cluster", "--run-dir", str(tmp_path), "status", "--json"]) == 1
    assert "make cluster" in capsys.readouterr().err
    assert cli.main(["cluster", "--run-dir", str(tmp_path), "stop"]) == 0


@pytest.mark.parametrize("changes", [{"replicas": 0}, {"replicas": 5, "slots": 4}, {"port": 70000}])
def test_impossible_specs_are_refused(tmp_path: Path, changes: dict[str, int]) -> None:
    with pytest.raises(ClusterConfigError):
        spec(tmp_path, **changes)


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[RuntimeAPI]:
    """A real HAProxy with the generated config (its replicas are absent: checks fail, fine)."""
    binary = require_haproxy()
    s = spec(tmp_path)
    path = tmp_path / "haproxy.cfg"
    path.write_text(render(s, {"r1": f"127.0.0.1:{free_port()}", "r2": f"127.0.0.1:{free_port()}"}))
    process = subprocess.Popen(
        [binary, "-db", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    api = RuntimeAPI(s.socket)
    try:
        deadline = time.monotonic() + 10
        while not api.ping():
            assert time.monotonic() < deadline, "haproxy did not open its socket"
            time.sleep(0.05)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_runtime_api_reads_and_changes_server_states(haproxy: RuntimeAPI) -> None:
    servers = haproxy.servers(BACKEND)
    assert sorted(servers) == ["r1", "r2", "r3", "r4"]
    assert (servers["r1"].admin, servers["r3"].admin) == ("ready", "maint")
    port = free_port()
    haproxy.set_address(BACKEND, "r3", "127.0.0.1", port)
    haproxy.set_state(BACKEND, "r3", "ready")
    r3 = haproxy.servers(BACKEND)["r3"]
    assert (r3.admin, r3.address) == ("ready", f"127.0.0.1:{port}")
    haproxy.set_state(BACKEND, "r1", "drain")
    assert haproxy.servers(BACKEND)["r1"].admin == "drain"
    haproxy.set_state(BACKEND, "r1", "maint")
    assert haproxy.servers(BACKEND)["r1"].admin == "maint"
    with pytest.raises(RuntimeAPIError):
        haproxy.set_state(BACKEND, "r99", "ready")
    with pytest.raises(RuntimeAPIError):
        haproxy.command("show info; shutdown sessions")


def test_a_missing_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeAPIError, match="is the cluster running"):
        RuntimeAPI(tmp_path / "nope.sock").servers(BACKEND)


def test_every_cluster_error_is_an_ebaydash_error() -> None:
    # The names themselves are pinned in tests/test_exports.py; this checks the exception tree.
    import ebaydash.cluster as cluster
    from ebaydash.errors import EbaydashError

    for name in cluster.__all__:
        assert getattr(cluster, name) is not None
    errors = [
        getattr(cluster, n)
        for n in cluster.__all__
        if n.endswith(("Error", "Missing", "Running", "Slot", "Failed"))
    ]
    assert all(issubclass(e, cluster.ClusterError) and issubclass(e, EbaydashError) for e in errors)
