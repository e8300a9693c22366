"""No hang, ever: a Postgres server that stops answering (SIGSTOP of the postmaster and every
backend: the kernel still acknowledges TCP, so nothing but the client can notice) must not hold a
service call, a page, a pool checkout or the health check longer than the statement limit + 2 s;
after SIGCONT everything recovers by itself.

Runs against a private cluster of its own (tests/pg_cluster.py), never the shared server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest
import streamlit as st
from sqlalchemy import text

from ebaydash import services, ui
from ebaydash.context import Context, build_context
from ebaydash.db import watchdog
from ebaydash.db.engine import Database, make_engine
from ebaydash.errors import DatabaseUnavailable, DatabaseUnresponsive
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, require
from tests.pg_cluster import PrivateCluster, can_run_private_cluster

LIMIT_MS = 3000
BUDGET_S = LIMIT_MS / 1000 + 2  # what the issue allows: the statement limit + 2 s

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    require(can_run_private_cluster(), "Postgres server binaries and a postgres user for a private cluster")
    server = PrivateCluster().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def frozen_later(cluster: PrivateCluster) -> Iterator[PrivateCluster]:
    """The cluster, thawed again whatever the test does."""
    try:
        yield cluster
    finally:
        cluster.thaw()


def settings_for(cluster: PrivateCluster, **changes: object) -> Settings:
    return Settings(database_url=cluster.url, statement_timeout_ms=LIMIT_MS, **changes)  # type: ignore[arg-type]


@pytest.fixture
def shop(frozen_later: PrivateCluster) -> Iterator[Context]:
    """A context on the private cluster (schema made on first use) with one account."""
    ctx = build_context(settings_for(frozen_later), start_sampler=False)
    with ctx.db.transaction() as conn:
        conn.execute(text("DELETE FROM accounts"))
        conn.execute(text("INSERT INTO accounts (name, ebay_user_id) VALUES ('Frozen Shop', 'frozen')"))
    try:
        yield ctx
    finally:
        ctx.close()


def timed(fn: object) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        fn()  # type: ignore[operator]
    except BaseException as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_a_service_call_on_a_frozen_server_gives_a_clear_error_in_time_and_recovers(
    shop: Context, frozen_later: PrivateCluster
) -> None:
    assert [a.name for a in services.accounts(shop, OPERATOR, fresh=True)] == [
        "Frozen Shop"
    ]  # a pooled connection
    frozen_later.freeze()

    seconds, error = timed(lambda: services.accounts(shop, OPERATOR, fresh=True))
    print(f"\nfrozen server, pooled connection: {type(error).__name__} after {seconds:.2f} s")
    assert isinstance(error, DatabaseUnresponsive), error
    assert seconds <= BUDGET_S
    assert "not answering" in str(error) and "recover by itself" in str(error)
    # the banner says its heading once: the message opens with it
    assert ui.banner_text(error).count("not answering") == 1

    # the next call needs a new connection: libpq's connect timeout bounds it
    seconds, error = timed(lambda: services.accounts(shop, OPERATOR, fresh=True))
    print(f"frozen server, new connection: {type(error).__name__} after {seconds:.2f} s")
    assert isinstance(error, DatabaseUnavailable) and seconds <= BUDGET_S, (seconds, error)

    # the health check says so in time too
    started = time.monotonic()
    database_check = services.health_checks(shop, OPERATOR)[0]
    seconds = time.monotonic() - started
    print(f"frozen server, health check: {database_check.status} after {seconds:.2f} s")
    assert database_check.status == "down" and seconds <= BUDGET_S

    frozen_later.thaw()
    started = time.monotonic()
    while True:
        try:
            names = [a.name for a in services.accounts(shop, OPERATOR, fresh=True)]
            break
        except DatabaseUnavailable:
            assert time.monotonic() - started < 15, "did not recover within 15 s of SIGCONT"
            time.sleep(0.2)
    print(f"recovered {time.monotonic() - started:.2f} s after SIGCONT")
    assert names == ["Frozen Shop"]


def test_without_the_watchdog_the_same_call_hangs(
    frozen_later: PrivateCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Negative control: the server-side statement_timeout alone does not end the call."""
    monkeypatch.setattr(watchdog, "install", lambda engine, default_limit_s: watchdog.Watchdog())
    db = Database(make_engine(settings_for(frozen_later)), timeout_ms=LIMIT_MS)
    try:
        db.fetch_all("warm", text("SELECT 1"))
        frozen_later.freeze()
        done = threading.Event()

        def call() -> None:
            _swallow(lambda: db.fetch_all("x", text("SELECT 1")))
            done.set()

        thread = threading.Thread(target=call)
        thread.start()
        assert not done.wait(BUDGET_S + 1), "returned although nothing could end it"
        frozen_later.thaw()
        assert done.wait(30)  # once thawed, the server answers the waiting call
    finally:
        frozen_later.thaw()
        db.dispose()


def _swallow(fn: object) -> None:
    with contextlib.suppress(Exception):
        fn()  # type: ignore[operator]


def test_waiting_for_a_pooled_connection_does_not_hang_either(frozen_later: PrivateCluster) -> None:
    settings = settings_for(frozen_later, pool_size=1, max_overflow=0, pool_timeout_s=1.0)
    db = Database(make_engine(settings), timeout_ms=LIMIT_MS)
    try:
        db.fetch_all("warm", text("SELECT 1"))
        frozen_later.freeze()
        holder: list[tuple[float, BaseException | None]] = []

        def hold() -> None:
            holder.append(timed(lambda: db.fetch_all("a", text("SELECT 1"))))

        thread = threading.Thread(target=hold)
        thread.start()
        time.sleep(0.3)  # the only connection is now stuck on the frozen server
        seconds, error = timed(lambda: db.fetch_all("b", text("SELECT 1")))
        print(f"\nfrozen server, no free connection: {type(error).__name__} after {seconds:.2f} s")
        assert isinstance(error, DatabaseUnavailable) and "no free connection" in str(error)
        assert seconds <= 1.0 + 1.0
        thread.join(BUDGET_S + 1)
        assert holder and isinstance(holder[0][1], DatabaseUnresponsive) and holder[0][0] <= BUDGET_S
    finally:
        frozen_later.thaw()
        db.dispose()


def test_a_page_shows_its_message_within_the_limit_and_recovers(
    frozen_later: PrivateCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_app import app

    settings = settings_for(frozen_later)
    ctx = build_context(settings, start_sampler=False)  # the schema and one account
    with ctx.db.transaction() as conn:
        conn.execute(text("DELETE FROM accounts"))
        conn.execute(text("INSERT INTO accounts (name, ebay_user_id) VALUES ('Frozen Shop', 'frozen')"))
    ctx.close()
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", frozen_later.url)
    monkeypatch.setenv("EBAYDASH_STATEMENT_TIMEOUT_MS", str(LIMIT_MS))
    # figures are not kept, so every run asks the database (as one whose cache has expired)
    monkeypatch.setenv("EBAYDASH_CACHE_TTL_S", "0.001")
    monkeypatch.setenv("EBAYDASH_L1_TTL_S", "0.001")
    st.cache_resource.clear()
    try:
        at = app().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert at.sidebar.selectbox(key="account_id").value is not None
        started = time.monotonic()
        at.run(timeout=60)
        print(f"\nhealthy server, page: {time.monotonic() - started:.2f} s")
        frozen_later.freeze()
        started = time.monotonic()
        at.run(timeout=60)
        seconds = time.monotonic() - started
        banners = " ".join(e.value for e in at.error)
        print(f"frozen server, page: message after {seconds:.2f} s: {banners[:80]}")
        assert not at.exception
        assert "The database is not answering" in banners or "cannot be reached" in banners
        assert seconds <= BUDGET_S
        frozen_later.thaw()
        deadline = time.monotonic() + 20
        while True:
            time.sleep(0.5)
            at.run(timeout=60)
            if not at.error:
                break
            assert time.monotonic() < deadline, [e.value for e in at.error]
        assert at.sidebar.selectbox(key="account_id").value is not None
        assert dt.datetime.now(dt.UTC).year >= 2026
    finally:
        frozen_later.thaw()
        st.cache_resource.clear()
