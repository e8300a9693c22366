"""Cluster: page views per second and p95 through HAProxy with 1, 2 and 3 replicas under the same
browser-free load, and the time from ``kill -9`` of a replica to the survivors serving its sessions.

The load: ``USERS`` simulated tabs (threads), each a real Streamlit session through the balancer
(``_streamlit_client``), asking for overview page views back to back. Same load for every
replica count, on the benchmark database; the machine's cores bound what more replicas can add.
"""

from __future__ import annotations

import os
import signal
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench import BenchEnv, Measurement
from bench._streamlit_client import SessionLost, StreamlitSession
from ebaydash.cluster import Cluster, ClusterSpec
from ebaydash.cluster.processes import free_port
from ebaydash.monitor.metrics import percentile

SECTION = "cluster"
USERS = 6


def _environment(env: BenchEnv) -> dict[str, str]:
    if env.redis_url is None:
        raise RuntimeError("the cluster benchmark needs Redis (--redis-url)")
    tag = uuid.uuid4().hex[:8]
    return {
        "EBAYDASH_DATABASE_URL": env.settings.database_url,
        "EBAYDASH_REDIS_URL": env.redis_url,
        "EBAYDASH_METRICS_PREFIX": f"ebaydash:bench:cluster:{tag}",
        "EBAYDASH_CACHE_PREFIX": f"ebaydash-bench-cluster-{tag}",
        "EBAYDASH_LOG_LEVEL": "WARNING",
        "EBAYDASH_RESOURCE_INTERVAL_S": "1",
    }


def _start(run_dir: Path, replicas: int, environ: dict[str, str]) -> Cluster:
    from ebaydash.settings import Settings

    spec = ClusterSpec(run_dir=run_dir, replicas=replicas, port=free_port(), slots=3, log_level="warning")
    return Cluster.start(spec, Settings.from_env(environ), environ)


def _load(base: str, seconds: float) -> tuple[float, list[float], int]:
    """Page views per second, their durations and the errors, for ``USERS`` tabs over ``seconds``."""
    sessions = [StreamlitSession(base).open() for _ in range(USERS)]
    for session in sessions:  # warm up: every replica has run the page and filled its caches
        session.view()
    durations: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def user(session: StreamlitSession) -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            try:
                took = session.view()
            except SessionLost:
                with lock:
                    errors += 1
                return
            with lock:
                durations.append(took)

    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    for session in sessions:
        session.close()
    return len(durations) / elapsed, durations, errors


def _failover(cluster: Cluster) -> list[float]:
    """Seconds from kill -9 of the replica holding the first session to each of its sessions'
    next page view finishing on a survivor (the session reconnects with its old cookie, as a tab
    does; HAProxy redispatches it)."""
    sessions = [StreamlitSession(cluster.spec.url).open() for _ in range(USERS)]
    for session in sessions:
        session.view()
    victim = sessions[0].affinity
    assert victim is not None
    lost = [s for s in sessions if s.affinity == victim]
    killed = time.monotonic()
    os.kill(cluster.replicas[victim].pid, signal.SIGKILL)
    times = []
    for session in lost:
        while True:  # as the frontend does: reconnect until a replica answers, then rerun
            try:
                session.connect()
                session.view()
                break
            except SessionLost:
                if time.monotonic() - killed > 60:
                    raise RuntimeError("the lost sessions were not served again within 60 s") from None
                time.sleep(0.05)
        assert session.affinity != victim
        times.append(time.monotonic() - killed)
    for session in sessions:
        session.close()
    return times


def run(env: BenchEnv) -> list[Measurement]:
    environ = _environment(env)
    seconds = 8.0 if env.quick else 20.0
    results: dict[int, tuple[float, float, int]] = {}
    out: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="ebaydash-bench-cluster-") as tmp:
        for replicas in (1, 2, 3):
            cluster = _start(Path(tmp) / f"c{replicas}", replicas, environ)
            try:
                rate, durations, errors = _load(cluster.spec.url, seconds)
            finally:
                cluster.stop()
            p95 = percentile(sorted(durations), 95) * 1000
            results[replicas] = (rate, p95, errors)
            out.append(
                Measurement(
                    SECTION,
                    f"page views/s through HAProxy, {replicas} replica{'s' if replicas > 1 else ''}",
                    rate,
                    "views/s",
                    note=f"p95 {p95:,.0f} ms, median {statistics.median(durations) * 1000:,.0f} ms; "
                    f"{len(durations):,} views by {USERS} sessions in {seconds:g} s; {errors} errors; "
                    f"load average {os.getloadavg()[0]:.1f}",
                )
            )
            out.append(Measurement(SECTION, f"page view p95, {replicas} replica(s)", p95, "ms"))
        base_rate, base_p95, _ = results[1]
        for replicas in (2, 3):
            rate, p95, _ = results[replicas]
            out.append(
                Measurement(
                    SECTION,
                    f"throughput {replicas} / 1 replica",
                    rate / base_rate,
                    "×",
                    note=f"p95 {p95 / base_p95:.2f}× of 1 replica's; {os.cpu_count()} cores bound the gain",
                )
            )
        cluster = _start(Path(tmp) / "failover", 3, environ)
        try:
            times = _failover(cluster)
        finally:
            cluster.stop()
    out.append(
        Measurement(
            SECTION,
            "kill -9 of a replica → its sessions served by a survivor (slowest)",
            max(times) * 1000,
            "ms",
            target="<= 10000 ms",
            ok=max(times) <= 10,
            note=f"{len(times)} lost session(s), fastest {min(times) * 1000:,.0f} ms; "
            "a new session each (state from the URL), HAProxy redispatch 1, checks every 1 s",
        )
    )
    return out
