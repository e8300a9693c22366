"""What a local cluster is made of, and the HAProxy configuration generated for it.

The configuration comes from ``haproxy.cfg.template`` beside this module. Every replica is a
``server`` line with its own affinity cookie (``cookie SRV insert indirect nocache``); the backend
also declares *spare slots* up to the most replicas the cluster may grow to, as ``disabled``
servers with their own cookie. Scaling out fills a slot through the runtime API (``set server …
addr … port …`` then ``state ready``), so HAProxy never reloads and no session is cut. HAProxy 2.6
refuses ``cookie`` on servers added with ``add server``, which is why slots are declared up front.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template

from ebaydash.cluster.errors import ClusterConfigError, HAProxyMissing
from ebaydash.settings import Settings

BACKEND = "be_ebaydash"
# A slot that holds no replica points here; it is in maintenance, so nothing connects to it.
PARKED_ADDRESS = "127.0.0.1:9"
MAX_SLOTS = 64


def slot_name(index: int) -> str:
    """The server (and cookie) name of slot ``index`` (1-based): ``r1``, ``r2`` …"""
    return f"r{index}"


def find_haproxy(explicit: str | None = None) -> str:
    """The haproxy binary: ``explicit``, else on PATH, else Debian's /usr/sbin/haproxy.

    Raises :class:`HAProxyMissing` when there is none."""
    for candidate in (explicit, shutil.which("haproxy"), "/usr/sbin/haproxy"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise HAProxyMissing(
        "HAProxy is not installed: the cluster balances through it. On Debian or Ubuntu run "
        "`apt-get install haproxy` (version 2.6 or later)."
    )


def check_settings(settings: Settings) -> None:
    """Raise :class:`ClusterConfigError` unless ``settings`` name a shared database and Redis.

    Every replica is its own process: an embedded SQLite file, in-process caches and in-process
    metrics cannot be shared between them, and the autoscaler reads the replicas' metrics from
    Redis."""
    missing = []
    if not settings.database_url.startswith("postgresql"):
        missing.append("EBAYDASH_DATABASE_URL to a postgresql:// URL (the replicas share one database)")
    if not settings.redis_url:
        missing.append("EBAYDASH_REDIS_URL to a redis:// URL (the replicas share cache and metrics)")
    if missing:
        raise ClusterConfigError("Cluster mode needs Postgres and Redis: set " + " and ".join(missing) + ".")


@dataclass(frozen=True)
class ClusterSpec:
    """A cluster to start. ``slots`` is how many replicas it may grow to (spare slots included).

    Times are seconds unless named otherwise."""

    run_dir: Path
    replicas: int = 3
    port: int = 8080
    bind: str = "127.0.0.1"
    slots: int = 10
    affinity: bool = True  # False only to demonstrate what breaks without it (the tests' control)
    app: Path = field(default_factory=lambda: Path(__file__).resolve().parents[2] / "app.py")
    haproxy: str | None = None
    check_inter_ms: int = 1000
    tunnel_timeout_s: int = 3600
    start_timeout_s: float = 90.0
    maxconn: int = 4096
    log_level: str = "info"

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.replicas <= MAX_SLOTS:
            problems.append(f"replicas must be between 1 and {MAX_SLOTS}")
        if not self.replicas <= self.slots <= MAX_SLOTS:
            problems.append(f"slots must be at least the replicas and at most {MAX_SLOTS}")
        if not 1 <= self.port <= 65535:
            problems.append("the port must be between 1 and 65535")
        if self.check_inter_ms < 100:
            problems.append("the health check interval must be at least 100 ms")
        if problems:
            raise ClusterConfigError("This cluster cannot be started: " + "; ".join(problems) + ".")

    @property
    def socket(self) -> Path:
        return self.run_dir / "haproxy.sock"

    @property
    def config_path(self) -> Path:
        return self.run_dir / "haproxy.cfg"

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "*", "") else self.bind
        return f"http://{host}:{self.port}"


def server_line(name: str, address: str | None, *, affinity: bool) -> str:
    """One ``server`` line: a replica at ``address`` (host:port), or a parked, disabled slot."""
    cookie = f" cookie {name}" if affinity else ""
    if address is None:
        return f"    server {name} {PARKED_ADDRESS}{cookie} disabled"
    return f"    server {name} {address}{cookie}"


def render(spec: ClusterSpec, addresses: dict[str, str]) -> str:
    """The HAProxy configuration for ``spec`` with replicas at ``addresses`` (slot name → host:port);
    the other slots up to ``spec.slots`` are parked."""
    template = Template(resources.files("ebaydash.cluster").joinpath("haproxy.cfg.template").read_text())
    servers = [
        server_line(slot_name(i), addresses.get(slot_name(i)), affinity=spec.affinity)
        for i in range(1, spec.slots + 1)
    ]
    affinity = (
        "    # Streamlit keeps a tab's session in one process: send its uploads and reconnects there\n"
        "    cookie SRV insert indirect nocache"
        if spec.affinity
        else "    # no affinity: the negative control only (uploads land on the wrong replica)"
    )
    return template.substitute(
        log_level=spec.log_level,
        socket=spec.socket,
        maxconn=spec.maxconn,
        tunnel_timeout=f"{spec.tunnel_timeout_s}s",
        bind=spec.bind,
        port=spec.port,
        backend=BACKEND,
        affinity=affinity,
        check_inter=f"{spec.check_inter_ms}ms",
        servers="\n".join(servers),
    )
