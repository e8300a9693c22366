"""Real clusters for tests: a private Postgres database with the demo data, Redis prefixes of
their own, N replicas and HAProxy on free ports. Shared by test_cluster*.py and test_autoscale.py."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ebaydash.cluster import Cluster, ClusterSpec
from ebaydash.cluster.config import find_haproxy
from ebaydash.cluster.errors import HAProxyMissing
from ebaydash.db import migrations
from ebaydash.db.engine import Database, make_engine
from ebaydash.seeding import seed_demo
from ebaydash.settings import Settings
from tests.conftest import SAMPLE_DIR, free_port, new_postgres_database, require


def require_haproxy() -> str:
    try:
        return find_haproxy()
    except HAProxyMissing:
        require(False, "HAProxy (apt-get install haproxy)")
        raise


@contextmanager
def demo_database() -> Iterator[str]:
    """A Postgres database of its own holding the demo data; its URL. Dropped afterwards."""
    with contextmanager(new_postgres_database)() as url:
        db = Database(make_engine(Settings(database_url=url)), timeout_ms=60_000)
        migrations.upgrade(db)  # the schema is Alembic's
        seed_demo(db, SAMPLE_DIR)
        db.dispose()
        yield url


def cluster_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The EBAYDASH_* settings of a test cluster, with Redis key prefixes nobody else uses."""
    tag = uuid.uuid4().hex[:10]
    return {
        "EBAYDASH_DATABASE_URL": database_url,
        "EBAYDASH_REDIS_URL": redis_url,
        "EBAYDASH_METRICS_PREFIX": f"ebaydash:test:cluster:{tag}:m",
        "EBAYDASH_CACHE_PREFIX": f"ebaydash-test-cluster-{tag}",
        "EBAYDASH_RESOURCE_INTERVAL_S": "1",
        "EBAYDASH_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def running_cluster(
    run_dir: Path, env: dict[str, str], *, replicas: int = 3, slots: int = 5, affinity: bool = True
) -> Iterator[Cluster]:
    require_haproxy()
    spec = ClusterSpec(run_dir=run_dir, replicas=replicas, port=free_port(), slots=slots, affinity=affinity)
    cluster = Cluster.start(spec, Settings.from_env(env), env)
    try:
        yield cluster
    finally:
        Cluster.open(run_dir).stop()


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """``/metrics`` parsed by prometheus_client's own parser: sample name → [(labels, value)]."""
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def gauge(url: str, name: str) -> float | None:
    samples = scrape(url).get(name)
    return samples[0][1] if samples else None


def wait_for(predicate, *, timeout_s: float, interval_s: float = 0.25, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s:g} s")
        time.sleep(interval_s)
