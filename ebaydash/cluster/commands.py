"""``ebaydash cluster start|stop|status`` and ``ebaydash autoscale`` (registered by ebaydash.cli).

Exit codes as the rest of the command: 0 success, 1 a failure the message explains, 2 bad usage or
configuration (cluster mode without Postgres and Redis, HAProxy missing); ``cluster status`` also
exits 3 when the cluster runs but its balancer or a replica is down (:data:`EXIT_NOT_ALL_HEALTHY`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ebaydash.errors import ConfigError
from ebaydash.settings import Settings

if TYPE_CHECKING:  # each command imports what it runs, so building the parser (--help) stays light
    from ebaydash.cluster.supervisor import ClusterStatus, ReplicaStatus


def _run_dir(args: argparse.Namespace, settings: Settings) -> Path:
    from ebaydash.cluster.supervisor import default_run_dir

    return Path(args.run_dir) if args.run_dir else default_run_dir(settings)


def cmd_cluster_start(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.cluster import ClusterConfigError, ClusterSpec, HAProxyMissing
    from ebaydash.cluster.supervisor import Cluster

    try:
        spec = ClusterSpec(
            run_dir=_run_dir(args, settings).resolve(),
            replicas=args.replicas,
            port=args.port,
            bind=args.bind,
            slots=max(args.slots or settings.max_replicas, args.replicas),
        )
        cluster = Cluster.start(spec, settings, os.environ)
    except (ClusterConfigError, HAProxyMissing) as exc:
        print(f"ebaydash: {exc}", file=sys.stderr)
        return 2
    from ebaydash.formatting import plural

    status = cluster.status()
    print(f"Cluster up at {status.url}: {plural(len(status.replicas), 'replica')} behind HAProxy")
    for r in status.replicas:
        print(f"  {r.name}  {r.url}  pid {r.pid}  metrics {r.metrics_url}")
    print(f"Run directory {spec.run_dir}; stop it with `make cluster-stop`.")
    return 0


def cmd_cluster_stop(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.cluster import NotRunning
    from ebaydash.cluster.supervisor import Cluster

    try:
        cluster = Cluster.open(_run_dir(args, settings).resolve())
    except NotRunning as exc:
        print(f"ebaydash: {exc}", file=sys.stderr)
        return 0  # stopping what is not running is done
    # what had already exited is said apart: "Stopped HAProxy and 1 replica (r2 had already exited)."
    print(cluster.stop().describe())
    return 0


#: ``cluster status``: the cluster runs, but its balancer or a replica is down. 3 as in LSB's and
#: systemd's ``status`` ("not running"), kept apart from 1 (no cluster at all, or a failure the
#: message explains) so a monitoring script can tell a degraded cluster from a missing one.
EXIT_NOT_ALL_HEALTHY = 3
STATUS_EPILOG = (
    "exit codes: 0 the balancer and every replica are up (a draining replica counts as up), "
    f"{EXIT_NOT_ALL_HEALTHY} the cluster runs but the balancer or a replica is down (each one named "
    "on stderr, after the full status), 1 no cluster runs from the run directory or another failure "
    "the message explains, 2 bad usage"
)


def down_parts(status: ClusterStatus) -> list[str]:
    """What is down in ``status``, one phrase each (the balancer, then each replica whose process
    is gone or does not answer its health check); empty when everything is up."""
    down = []
    if not status.haproxy_running:
        down.append(f"the balancer (HAProxy pid {status.haproxy_pid}) is not running")
    for r in status.replicas:
        if r.healthy:
            continue
        # which of the two it is tells the operator whether to read the replica's log for a crash
        # or look at a process that hangs
        if r.running:
            why = f"pid {r.pid} runs but does not answer {r.url}/_stcore/health"
        else:
            why = f"its process (pid {r.pid}) is not running"
        down.append(f"replica {r.name} is down: {why}")
    return down


def cmd_cluster_status(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.cluster.supervisor import Cluster

    cluster = Cluster.open(_run_dir(args, settings).resolve())
    status = cluster.status()
    down = down_parts(status)
    code = EXIT_NOT_ALL_HEALTHY if down else 0
    if args.json:
        print(json.dumps({**status.as_json(), "down": down, "exit_code": code}, indent=2))
    else:
        _print_status(status)
    # after the full status, on stderr: stdout stays the status alone (and valid JSON)
    for part in down:
        print(f"ebaydash: {part}", file=sys.stderr)
    if down:
        print(
            f"ebaydash: not all healthy ({len(down)} down); exit code {EXIT_NOT_ALL_HEALTHY}",
            file=sys.stderr,
        )
    return code


def replica_condition(r: ReplicaStatus) -> str:
    """How a replica is, for a person: ``healthy, ready`` (its HAProxy admin state after it), or
    ``down (process not running)`` / ``down (no answer to its health check)``. A down replica's
    admin state is shown only when it is not ``ready``: "ready" next to "down" reads as a
    contradiction (it is HAProxy's setting, not the replica's condition)."""
    if r.healthy:
        return f"healthy, {r.state}"
    why = "no answer to its health check" if r.running else "process not running"
    return f"down ({why})" if r.state == "ready" else f"down ({why}), {r.state}"


def _print_status(status: ClusterStatus) -> None:
    """The status for a person: the balancer's line, then one line per replica."""
    from ebaydash.formatting import plural

    running = "running" if status.haproxy_running else "NOT running"
    print(f"Balancer {status.url} (HAProxy pid {status.haproxy_pid}, {running})")
    for r in status.replicas:
        rotation = "in rotation" if r.in_rotation else "out of rotation"
        print(
            f"  {r.name}  {r.url}  pid {r.pid}  {replica_condition(r)}, {rotation}, "
            f"{plural(r.sessions, 'session')}  metrics {r.metrics_url}"
        )


def autoscale_settings(run_dir: Path, environ: Mapping[str, str]) -> Settings:
    """The settings the cluster was started with, overridden by this command's environment (so
    a test or an operator can shorten the cooldown and windows for the autoscaler alone)."""
    stored: dict[str, str] = {}
    path = run_dir / "env.json"
    if path.exists():
        stored = json.loads(path.read_text())
    return Settings.from_env({**stored, **environ})


def cmd_autoscale(args: argparse.Namespace, settings: Settings) -> int:
    from ebaydash.cluster import check_settings
    from ebaydash.cluster.autoscale import Autoscaler, Step
    from ebaydash.cluster.supervisor import Cluster

    if args.interval <= 0 or args.drain_timeout < 0:
        print("ebaydash: --interval must be above 0 and --drain-timeout not negative", file=sys.stderr)
        return 2
    run_dir = _run_dir(args, settings).resolve()
    cluster = Cluster.open(run_dir)
    try:
        merged = autoscale_settings(run_dir, os.environ)
        check_settings(merged)
    except ConfigError as exc:
        print(f"ebaydash: {exc}", file=sys.stderr)
        return 2
    scaler = Autoscaler(cluster, merged, drain_timeout_s=args.drain_timeout)

    def report(step: Step) -> None:
        if args.json:
            payload: dict[str, Any] = {
                "action": step.decision.action,
                "rule": step.decision.rule,
                "before": step.before,
                "after": step.after,
                "started": step.started,
                "stopped": step.stopped,
                "lost": step.lost,
                "problems": step.problems,
                "reason": step.decision.reason,
            }
            print(json.dumps(payload), flush=True)
        else:
            print(step.describe(), flush=True)

    try:
        if args.once:
            step = scaler.tick()
            report(step)
            return 0 if step.ok else 1
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        scaler.run(interval_s=args.interval, stop=stop, report=report)
        return 0
    finally:
        scaler.close()


def add_parsers(sub: Any) -> None:
    """Register ``cluster`` and ``autoscale`` on the ``ebaydash`` command's subparsers."""
    p = sub.add_parser(
        "cluster",
        help="run several replicas behind HAProxy on this machine (needs Postgres and Redis)",
        description="Start, inspect or stop a local cluster: Streamlit replicas on their own ports "
        "with one shared cookie secret, and HAProxy in front (cookie affinity, health checks, "
        "runtime API for scaling without reload).",
    )
    p.add_argument("--run-dir", default=None, help="state, logs and sockets (default DATA_DIR/cluster)")
    cluster_sub = p.add_subparsers(dest="cluster_command", required=True)
    start = cluster_sub.add_parser("start", help="start the replicas and HAProxy")
    start.add_argument("--replicas", type=int, default=3)
    start.add_argument("--port", type=int, default=8080, help="HAProxy's port")
    start.add_argument("--bind", default="127.0.0.1", help="HAProxy's address (0.0.0.0: every interface)")
    start.add_argument(
        "--slots",
        type=int,
        default=None,
        help="most replicas the cluster may grow to (default EBAYDASH_MAX_REPLICAS)",
    )
    start.set_defaults(handler=cmd_cluster_start)
    stop = cluster_sub.add_parser("stop", help="stop HAProxy and every replica")
    stop.set_defaults(handler=cmd_cluster_stop)
    status = cluster_sub.add_parser(
        "status",
        help=f"the balancer and every replica (exit {EXIT_NOT_ALL_HEALTHY} when one is down)",
        description="The balancer's URL and whether it runs; every replica's URL, pid, health, "
        "HAProxy state, rotation, sessions and metrics URL. What is down is named on stderr.",
        epilog=STATUS_EPILOG,
    )
    status.add_argument(
        "--json", action="store_true", help='machine-readable output, with "down" and "exit_code"'
    )
    status.set_defaults(handler=cmd_cluster_status)

    p = sub.add_parser(
        "autoscale",
        help="apply the scaling recommendation to the local cluster",
        description="Each tick, the rules engine decides on the replicas' shared metrics (claiming "
        "the decision in the shared scaling state, as `ebaydash recommend` does) and the decision "
        "is applied: a replica started in a spare slot, or one drained and stopped. Every step is "
        "recorded and shown on the scaling page.",
    )
    p.add_argument("--run-dir", default=None, help="the cluster's run directory (default DATA_DIR/cluster)")
    p.add_argument("--once", action="store_true", help="one tick, then exit (1 if an action failed)")
    p.add_argument("--interval", type=float, default=15.0, help="seconds between ticks (loop mode)")
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for a draining replica's sessions to end before stopping it",
    )
    p.add_argument("--json", action="store_true", help="one JSON line per tick")
    p.set_defaults(handler=cmd_autoscale)
