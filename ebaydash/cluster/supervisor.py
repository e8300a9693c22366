"""The local cluster: N Streamlit replicas behind one HAProxy, remembered in a run directory.

Run directory layout (``.data/cluster`` by default, mode 700):

- ``cluster.json``   the spec, HAProxy's and every replica's pid, ports and start time
- ``env.json``       the ``EBAYDASH_*`` settings the cluster was started with (replicas added later
  by the autoscaler get the same ones); mode 600, it may hold a database password
- ``cookie_secret``  the one Streamlit cookie secret every replica shares (mode 600)
- ``haproxy.cfg``, ``haproxy.sock``, ``haproxy.log``, ``<replica>.log``
- ``lock``           serialises changes (start, stop, scale) between commands

The cluster is started by ``ebaydash cluster start`` (``make cluster``), changed by ``ebaydash
autoscale`` through HAProxy's runtime API, and stopped by ``ebaydash cluster stop``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ebaydash.cluster import processes
from ebaydash.cluster.config import BACKEND, ClusterSpec, check_settings, find_haproxy, render, slot_name
from ebaydash.cluster.errors import (
    AlreadyRunning,
    ClusterError,
    HAProxyMissing,
    NoSpareSlot,
    NotRunning,
    ReplicaStartFailed,
    RuntimeAPIError,
)
from ebaydash.cluster.processes import Proc
from ebaydash.cluster.runtime import RuntimeAPI, ServerState
from ebaydash.formatting import and_list, plural
from ebaydash.settings import Settings

STATE_FILE = "cluster.json"
REPLICA_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Replica:
    name: str  # the HAProxy server (slot) name, also its affinity cookie value
    port: int
    metrics_port: int
    pid: int
    started: float

    @property
    def proc(self) -> Proc:
        return Proc(self.pid, self.started)

    @property
    def url(self) -> str:
        return f"http://{REPLICA_HOST}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{REPLICA_HOST}:{self.metrics_port}/metrics"


@dataclass(frozen=True)
class ReplicaStatus:
    name: str
    url: str
    pid: int
    healthy: bool  # the process runs and answers /_stcore/health
    metrics_url: str
    state: str  # HAProxy's admin state: ready, drain, maint (or "unknown" without HAProxy)
    in_rotation: bool  # HAProxy sends new sessions to it: ready and its health check passes
    sessions: int  # HAProxy's current sessions to it (open tabs' WebSockets, requests)
    running: bool = True  # its process runs (not healthy but running: it does not answer)


@dataclass(frozen=True)
class Stopped:
    """What :meth:`Cluster.stop` stopped, and what had already exited before it came."""

    haproxy: bool  # HAProxy ran and was stopped
    replicas: tuple[str, ...]  # replicas that ran and were stopped
    gone: tuple[str, ...]  # "HAProxy" and replica names whose process had already exited

    def describe(self) -> str:
        """``Stopped HAProxy and 1 replica (r2 had already exited).``"""
        stopped = (["HAProxy"] if self.haproxy else []) + (
            [plural(len(self.replicas), "replica")] if self.replicas else []
        )
        gone = f" ({and_list(self.gone)} had already exited)" if self.gone else ""
        if not stopped:
            return f"Nothing was left to stop{gone}."
        return f"Stopped {' and '.join(stopped)}{gone}."


@dataclass(frozen=True)
class ClusterStatus:
    url: str
    haproxy_pid: int
    haproxy_running: bool
    replicas: tuple[ReplicaStatus, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        """``{"balancer": {"url", …}, "replicas": [{"name", "url", "pid", "healthy", "metrics_url", …}]}``"""
        return {
            "balancer": {"url": self.url, "pid": self.haproxy_pid, "running": self.haproxy_running},
            "replicas": [asdict(r) for r in self.replicas],
        }


@dataclass(frozen=True)
class DrainResult:
    name: str
    sessions_left: int  # still open when the replica was stopped (0: every session ended)
    waited_s: float


def default_run_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "cluster"


class Cluster:
    """A running cluster, read from its run directory. Build one with :meth:`start` or :meth:`open`."""

    def __init__(self, spec: ClusterSpec, haproxy: Proc, replicas: Mapping[str, Replica]) -> None:
        self.spec = spec
        self.haproxy = haproxy
        self.replicas: dict[str, Replica] = dict(replicas)
        self.api = RuntimeAPI(spec.socket)

    # -- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def start(cls, spec: ClusterSpec, settings: Settings, environ: Mapping[str, str]) -> Cluster:
        """Start ``spec.replicas`` replicas and HAProxy in front of them; returns once HAProxy
        sends traffic to every replica. Raises :class:`ClusterError` subclasses with the reason;
        whatever was started is stopped again on failure."""
        check_settings(settings)
        haproxy_binary = find_haproxy(spec.haproxy)
        if not spec.app.is_file():
            raise ClusterError(f"The app to run is not there: {spec.app}.")
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        spec.run_dir.chmod(0o700)
        with _locked(spec.run_dir):
            existing = _read_state(spec.run_dir)
            if existing is not None and existing.haproxy.alive():
                raise AlreadyRunning(
                    f"A cluster already runs from {spec.run_dir} ({existing.spec.url}); stop it first "
                    "with `ebaydash cluster stop` (make cluster-stop)."
                )
            _write_private(spec.run_dir / "env.json", json.dumps(_settings_env(environ)))
            secret = environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_urlsafe(32)
            _write_private(spec.run_dir / "cookie_secret", secret)
            pending: list[Replica] = []
            started: list[Replica] = []
            haproxy: Proc | None = None
            try:
                for i in range(1, spec.replicas + 1):  # all at once: they boot in parallel
                    pending.append(_spawn_replica(spec, slot_name(i)))
                for replica in pending:
                    _wait_replica(spec, replica)
                    started.append(replica)
                addresses = {r.name: f"{REPLICA_HOST}:{r.port}" for r in started}
                spec.config_path.write_text(render(spec, addresses))
                _check_config(haproxy_binary, spec.config_path)
                spec.socket.unlink(missing_ok=True)
                haproxy = processes.spawn(
                    [haproxy_binary, "-db", "-f", str(spec.config_path)],
                    env=os.environ,
                    cwd=spec.run_dir,
                    log_path=spec.run_dir / "haproxy.log",
                )
                cluster = cls(spec, haproxy, {r.name: r for r in started})
                cluster._save()
                cluster._wait_in_rotation([r.name for r in started], timeout_s=30.0)
                return cluster
            except BaseException:
                if haproxy is not None:
                    haproxy.stop()
                for replica in pending:
                    replica.proc.stop()
                (spec.run_dir / STATE_FILE).unlink(missing_ok=True)
                raise

    @classmethod
    def open(cls, run_dir: Path) -> Cluster:
        """The cluster started from ``run_dir``; :class:`NotRunning` when there is none."""
        state = _read_state(run_dir)
        if state is None:
            raise NotRunning(f"No cluster runs from {run_dir}; start one with `make cluster`.")
        return state

    def stop(self) -> Stopped:
        """Stop HAProxy, then every replica (SIGTERM, SIGKILL after 10 s); what was stopped and
        what had already exited. Logs stay."""
        with _locked(self.spec.run_dir):
            haproxy = self.haproxy.alive()
            self.haproxy.stop()
            names = sorted(self.replicas, key=_slot_number)
            # all signalled first, so they shut down in parallel; False: it had already exited
            signalled = {name: self.replicas[name].proc.signal(15) for name in names}
            for name in names:
                self.replicas[name].proc.stop()
            (self.spec.run_dir / STATE_FILE).unlink(missing_ok=True)
            self.spec.socket.unlink(missing_ok=True)
        return Stopped(
            haproxy=haproxy,
            replicas=tuple(name for name in names if signalled[name]),
            gone=tuple((["HAProxy"] if not haproxy else []) + [n for n in names if not signalled[n]]),
        )

    # -- reading -------------------------------------------------------------------------------

    def servers(self) -> dict[str, ServerState]:
        return self.api.servers(BACKEND)

    def status(self) -> ClusterStatus:
        try:
            servers: dict[str, ServerState] | None = self.servers()
        except RuntimeAPIError:
            servers = None
        rows = []
        for name in sorted(self.replicas, key=_slot_number):
            replica = self.replicas[name]
            server = servers.get(name) if servers is not None else None
            running = replica.proc.alive()
            rows.append(
                ReplicaStatus(
                    name=name,
                    url=replica.url,
                    pid=replica.pid,
                    healthy=running and processes.healthy(f"{replica.url}/_stcore/health"),
                    metrics_url=replica.metrics_url,
                    state=server.admin if server else "unknown",
                    in_rotation=bool(server and server.admin == "ready" and server.up),
                    sessions=server.sessions if server else 0,
                    running=running,
                )
            )
        return ClusterStatus(self.spec.url, self.haproxy.pid, self.haproxy.alive(), tuple(rows))

    def serving(self) -> list[str]:
        """Replicas HAProxy may send new sessions to (ready, not draining), whose process lives."""
        servers = self.servers()
        return [
            name
            for name, replica in self.replicas.items()
            if name in servers and servers[name].admin == "ready" and replica.proc.alive()
        ]

    # -- scaling -------------------------------------------------------------------------------

    def add_replica(self) -> Replica:
        """Start a replica in a free slot and put it into rotation through the runtime API (no
        reload: live sessions on the others are untouched). Raises :class:`NoSpareSlot` when
        every slot is in use, :class:`ReplicaStartFailed` when it does not come up."""
        with _locked(self.spec.run_dir):
            self._reload_replicas()
            servers = self.servers()
            free = [
                slot_name(i)
                for i in range(1, self.spec.slots + 1)
                if slot_name(i) not in self.replicas and servers.get(slot_name(i), _PARKED).admin == "maint"
            ]
            if not free:
                raise NoSpareSlot(
                    f"Every server slot is in use ({plural(self.spec.slots, 'slot')}); start the "
                    "cluster with more slots."
                )
            replica = _spawn_replica(self.spec, free[0])
            try:
                _wait_replica(self.spec, replica)
                self.api.set_address(BACKEND, replica.name, REPLICA_HOST, replica.port)
                self.api.set_state(BACKEND, replica.name, "ready")
            except BaseException:
                replica.proc.stop()
                with contextlib.suppress(RuntimeAPIError):
                    self.api.set_state(BACKEND, replica.name, "maint")
                raise
            self.replicas[replica.name] = replica
            self._save()
        self._wait_in_rotation([replica.name], timeout_s=15.0)
        return replica

    def drain(self, name: str, *, timeout_s: float, poll_s: float = 0.5) -> DrainResult:
        """Stop sending new sessions to ``name`` (cookie holders still reach it), wait until its
        sessions end or ``timeout_s`` passes, then stop it and park its slot (maintenance)."""
        if name not in self.replicas:
            raise ClusterError(f"There is no replica {name!r} in this cluster.")
        self.api.set_state(BACKEND, name, "drain")
        started = time.monotonic()
        left = self.servers()[name].sessions
        while left > 0 and time.monotonic() - started < timeout_s:
            time.sleep(poll_s)
            left = self.servers()[name].sessions
        waited = time.monotonic() - started
        self.remove_replica(name)
        return DrainResult(name, left, waited)

    def remove_replica(self, name: str) -> None:
        """Park ``name``'s slot (maintenance: no traffic at all) and stop its process."""
        with _locked(self.spec.run_dir):
            self._reload_replicas()
            replica = self.replicas.get(name)
            self.api.set_state(BACKEND, name, "maint")
            if replica is not None:
                replica.proc.stop()
                del self.replicas[name]
            self._save()

    def pick_for_removal(self) -> str:
        """The serving replica whose removal disturbs fewest sessions (the newest on a tie)."""
        servers = self.servers()
        serving = self.serving()
        if not serving:
            raise ClusterError("No replica is serving.")
        return min(serving, key=lambda n: (servers[n].sessions, -_slot_number(n)))

    # -- internals -----------------------------------------------------------------------------

    def _wait_in_rotation(self, names: list[str], *, timeout_s: float) -> None:
        """Wait until HAProxy's health checks pass for ``names`` (rise 2 × the check interval)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                servers = self.servers()
                if all(n in servers and servers[n].up for n in names):
                    return
            except RuntimeAPIError:
                if not self.haproxy.alive():
                    raise ClusterError(
                        "HAProxy stopped right after starting:\n"
                        + processes.tail(self.spec.run_dir / "haproxy.log")
                    ) from None
            if time.monotonic() > deadline:
                raise ReplicaStartFailed(
                    f"HAProxy did not see {', '.join(names)} as healthy within {timeout_s:g} s."
                )
            time.sleep(0.2)

    def _reload_replicas(self) -> None:
        state = _read_state(self.spec.run_dir)
        if state is not None:
            self.replicas = state.replicas

    def _save(self) -> None:
        spec = {f.name: getattr(self.spec, f.name) for f in fields(self.spec)}
        payload = {
            "spec": {k: str(v) if isinstance(v, Path) else v for k, v in spec.items()},
            "haproxy": {"pid": self.haproxy.pid, "started": self.haproxy.started},
            "replicas": {name: asdict(r) for name, r in self.replicas.items()},
        }
        path = self.spec.run_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        tmp.replace(path)


_PARKED = ServerState("", "", "maint", False, 0, "MAINT")


def _slot_number(name: str) -> int:
    return int(name.removeprefix("r")) if name.removeprefix("r").isdigit() else 0


def _settings_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith("EBAYDASH_")}


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state(run_dir: Path) -> Cluster | None:
    path = run_dir / STATE_FILE
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ClusterError(f"The cluster state {path} cannot be read ({exc}).") from exc
    raw = dict(payload["spec"])
    raw["run_dir"] = Path(raw["run_dir"])
    raw["app"] = Path(raw["app"])
    spec = ClusterSpec(**raw)
    haproxy = Proc(int(payload["haproxy"]["pid"]), float(payload["haproxy"]["started"]))
    replicas = {name: Replica(**r) for name, r in payload["replicas"].items()}
    return Cluster(spec, haproxy, replicas)


def _replica_env(spec: ClusterSpec, name: str, metrics_port: int) -> dict[str, str]:
    stored = json.loads((spec.run_dir / "env.json").read_text())
    secret = (spec.run_dir / "cookie_secret").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EBAYDASH_", "STREAMLIT_"))}
    env.update(stored)
    env.update(
        {
            # one secret for all: a tab's signed cookies (XSRF, uploads) stay valid on any replica
            "STREAMLIT_SERVER_COOKIE_SECRET": secret,
            "STREAMLIT_SERVER_HEADLESS": "true",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
            "EBAYDASH_REPLICA_NAME": name,
            "EBAYDASH_METRICS_PORT": str(metrics_port),
            "EBAYDASH_METRICS_HOST": REPLICA_HOST,
        }
    )
    return env


def _spawn_replica(spec: ClusterSpec, name: str) -> Replica:
    port = processes.free_port(REPLICA_HOST)
    metrics_port = processes.free_port(REPLICA_HOST)
    while metrics_port == port:
        metrics_port = processes.free_port(REPLICA_HOST)
    command = [
        sys.executable,
        "-m",
        "ebaydash.serve",  # streamlit run, with the context (and /metrics) up before any visitor
        str(spec.app),
        "--server.port",
        str(port),
        "--server.address",
        REPLICA_HOST,
    ]
    proc = processes.spawn(
        command,
        env=_replica_env(spec, name, metrics_port),
        cwd=spec.app.parent,
        log_path=spec.run_dir / f"{name}.log",
    )
    return Replica(name, port, metrics_port, proc.pid, proc.started)


def _wait_replica(spec: ClusterSpec, replica: Replica) -> None:
    if not processes.wait_healthy(
        f"{replica.url}/_stcore/health", replica.proc, timeout_s=spec.start_timeout_s
    ):
        replica.proc.stop()
        raise ReplicaStartFailed(
            f"Replica {replica.name} did not answer on port {replica.port} within "
            f"{spec.start_timeout_s:g} s. Its log ({spec.run_dir / (replica.name + '.log')}) ends:\n"
            + processes.tail(spec.run_dir / f"{replica.name}.log")
        )


def _check_config(binary: str, path: Path) -> None:
    try:
        result = subprocess.run(
            [binary, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise HAProxyMissing(f"HAProxy could not be run ({exc}).") from exc
    if result.returncode != 0:
        raise ClusterError(f"HAProxy rejected the generated configuration {path}:\n{result.stderr.strip()}")
