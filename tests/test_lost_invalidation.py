"""An invalidation is never lost (issue 10): an import made while Redis does not answer shows in
the app within the L1 TTL, and within 5 s of Redis answering again, even though the importing
process ended with its Redis version bump unpublished.

The setting: an app process and an importer process (two contexts, each with its own cache and
its own Redis connection) share a private Redis the test freezes and thaws. Truth is computed with
pandas over the stored rows."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ebaydash import context as context_module
from ebaydash import services
from ebaydash.cache.versions import SourceVersions
from ebaydash.context import Context, build_context, data_version_reader
from ebaydash.db import data_versions
from ebaydash.models import Kpis, OrderFilter, Window
from ebaydash.services import ImportFile
from ebaydash.services.namespaces import GLOBAL, account
from ebaydash.settings import Settings
from tests.conftest import OPERATOR
from tests.redis_server import RedisServer
from tests.test_import_upsert import stored_orders
from tests.test_importers import FIXTURES

WINDOW = Window(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
L1_TTL_S = 1.0


@pytest.fixture
def settings(own_redis: RedisServer, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        data_dir=str(tmp_path),
        redis_url=own_redis.url,
        redis_timeout_ms=100,
        breaker_reset_s=0.5,
        l1_ttl_s=L1_TTL_S,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Context]:
    ctx = build_context(settings, start_sampler=False)
    yield ctx
    ctx.close()


def _import(settings: Settings, name: str) -> int:
    """An import by a process of its own (the CLI), which ends right after."""
    importer = build_context(settings, start_sampler=False)
    try:
        data = (FIXTURES / name).read_bytes()
        report = services.import_orders(importer, OPERATOR, [ImportFile(name, data)], account_name="Shop")
        assert report.committed and report.account_id is not None
        return report.account_id
    finally:
        importer.close()


def _truth(ctx: Context) -> tuple[int, object]:
    frame = stored_orders(ctx.db)
    live = frame[frame.status != "cancelled"]
    return len(live), sum(live.total_amount - live.refunded_amount)


def _shown(kpis: Kpis) -> tuple[int, object]:
    return kpis.orders.current, kpis.revenue.current


def _seconds_until_true(app: Context, account_id: int, deadline_s: float) -> float | None:
    """How long until the app shows the stored truth, polling; None if not within ``deadline_s``."""
    truth = _truth(app)
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if _shown(services.kpis(app, OPERATOR, account_id, WINDOW)) == truth:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def test_an_import_made_while_redis_is_frozen_shows_within_the_l1_ttl_and_after_it_is_back(
    settings: Settings, app: Context, own_redis: RedisServer
) -> None:
    account_id = _import(settings, "getorders_page1.json")
    before = services.kpis(app, OPERATOR, account_id, WINDOW)
    assert _shown(before) == _truth(app)
    time.sleep(L1_TTL_S + 0.1)
    services.kpis(app, OPERATOR, account_id, WINDOW)  # an L2 hit now: the figures live in Redis too

    own_redis.freeze()  # Redis accepts connections but never answers
    assert _import(settings, "getorders_page2.json") == account_id  # its Redis bump is lost
    assert _shown(before) != _truth(app)  # control: the second file did change the figures
    # the L1 TTL, plus the one Redis time-out the app may pay before its breaker opens
    waited = _seconds_until_true(app, account_id, L1_TTL_S + 1.5)
    assert waited is not None, "the app still shows the figures from before the import"

    own_redis.thaw()  # Redis answers again, still holding the old figures and versions
    assert _seconds_until_true(app, account_id, 5.0) == pytest.approx(0, abs=1.0)
    for _ in range(5):  # and keeps showing the new ones as it reads through Redis again
        assert _shown(services.kpis(app, OPERATOR, account_id, WINDOW)) == _truth(app)
        time.sleep(0.3)

    # a process started now reads through Redis at once: it must not find the old figures there
    newcomer = build_context(settings, start_sampler=False)
    try:
        assert _shown(services.kpis(newcomer, OPERATOR, account_id, WINDOW)) == _truth(newcomer)
    finally:
        newcomer.close()


def test_without_the_data_version_the_same_import_is_lost(
    settings: Settings, own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control: the scenario above with keys versioned by Redis alone (the design
    before): after Redis is back, a new process serves the figures from before the import."""
    plain = context_module.build_cache
    monkeypatch.setattr(
        context_module,
        "build_cache",
        lambda settings, recorder=None, redis=None, db=None: plain(settings, recorder, redis),
    )
    app = build_context(settings, start_sampler=False)
    try:
        assert app.cache.source_versions is None
        account_id = _import(settings, "getorders_page1.json")
        before = services.kpis(app, OPERATOR, account_id, WINDOW)
        own_redis.freeze()
        _import(settings, "getorders_page2.json")
        own_redis.thaw()
    finally:
        app.close()
    newcomer = build_context(settings, start_sampler=False)
    try:
        assert (
            _shown(services.kpis(newcomer, OPERATOR, account_id, WINDOW))
            == _shown(before)
            != _truth(newcomer)
        )
    finally:
        newcomer.close()


def test_an_import_shows_within_the_l1_ttl_when_redis_is_down_from_the_start(
    settings: Settings, own_redis: RedisServer
) -> None:
    own_redis.stop()
    app = build_context(settings, start_sampler=False)
    try:
        account_id = _import(settings, "getorders_page1.json")
        assert _shown(services.kpis(app, OPERATOR, account_id, WINDOW)) == _truth(app)
        _import(settings, "getorders_page2.json")
        waited = _seconds_until_true(app, account_id, L1_TTL_S + 1.0)
        assert waited is not None and waited <= L1_TTL_S + 0.5
    finally:
        app.close()


def test_every_write_bumps_the_accounts_data_version(settings: Settings, app: Context) -> None:
    account_id = _import(settings, "getorders_page1.json")
    first = data_versions.read_all(app.db)[account_id]
    _import(settings, "getorders_page1.json")  # nothing changed: nothing written, no bump
    assert data_versions.read_all(app.db)[account_id] == first
    _import(settings, "getorders_page2.json")
    assert data_versions.read_all(app.db)[account_id] == first + 1
    order = services.orders_page(app, OPERATOR, account_id, OrderFilter(window=WINDOW)).rows[0]
    services.update_order_status(app, OPERATOR, account_id, order.id, "shipped")
    assert data_versions.read_all(app.db)[account_id] == first + 2
    with app.db.transaction() as conn:
        data_versions.restart(conn)
    assert data_versions.read_all(app.db)[account_id] > time.time() * 1000 - 60_000


def test_the_reader_names_the_namespaces_the_services_use(settings: Settings, app: Context) -> None:
    account_id = _import(settings, "getorders_page1.json")
    versions = data_version_reader(app.db)()
    assert set(versions) == {account(account_id), GLOBAL}
    _import(settings, "getorders_page2.json")
    after = data_version_reader(app.db)()
    assert after[account(account_id)] != versions[account(account_id)]
    assert after[GLOBAL] != versions[GLOBAL]  # the accounts list changes with any account


def test_source_versions_are_read_at_most_once_per_ttl_and_kept_through_failures() -> None:
    now = [0.0]
    reads: list[float] = []
    answers: list[dict[str, str] | Exception] = [
        {"acct:1": "5"},
        {"acct:1": "6"},
        OSError("down"),
        {"acct:1": "7"},
    ]

    def read() -> dict[str, str]:
        reads.append(now[0])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    versions = SourceVersions(read, ttl_s=1.0, retry_s=3.0, clock=lambda: now[0])
    assert versions.token("acct:1") == "5" and versions.token("acct:2") == "0"
    now[0] = 0.9
    assert versions.token("acct:1") == "5" and len(reads) == 1  # within the TTL: no read
    now[0] = 1.0
    assert versions.token("acct:1") == "6" and len(reads) == 2  # at the TTL: read again
    now[0] = 2.0
    assert versions.token("acct:1") == "6" and versions.failures == 1  # failed: the last ones stay
    now[0] = 4.9
    assert versions.token("acct:1") == "6" and len(reads) == 3  # not retried before retry_s
    now[0] = 5.0
    assert versions.token("acct:1") == "7" and len(reads) == 4


def test_a_first_read_that_fails_does_not_claim_last_ones(caplog: pytest.LogCaptureFixture) -> None:
    """A one-shot command whose first read fails has no last versions to use (the warning said
    it used them)."""

    def down() -> dict[str, str]:
        raise OSError("down")

    versions = SourceVersions(down, ttl_s=1.0, retry_s=3.0, clock=lambda: 0.0)
    with caplog.at_level("WARNING"):
        assert versions.token("acct:1") == "0" and versions.failures == 1
    said = caplog.text
    assert "none read yet, trying again in 3 s" in said and "using the last ones" not in said


def test_a_read_that_hangs_costs_a_caller_at_most_wait_s() -> None:
    """A frozen database must not hold a page on the versions: the read goes on on its own
    thread, and callers go on with the versions they have."""
    release = threading.Event()
    calls = [0]

    def read() -> dict[str, str]:
        calls[0] += 1
        if calls[0] > 1:
            release.wait(10)  # frozen
        return {"acct:1": str(calls[0])}

    versions = SourceVersions(read, ttl_s=0.05, wait_s=0.2)
    assert versions.token("acct:1") == "1"
    time.sleep(0.06)
    started = time.monotonic()
    assert versions.token("acct:1") == "1"  # the old version, after waiting wait_s
    assert versions.token("acct:1") == "1"  # nobody waits again for the same read
    assert time.monotonic() - started < 0.2 + 0.15
    release.set()
    deadline = time.monotonic() + 5
    while versions.token("acct:1") == "1":  # the read lands once the database answers
        assert time.monotonic() < deadline
        time.sleep(0.01)
