"""The overview while the database is down: figures the cache still holds are shown under the
banner the other pages stop with, saying since when the database cannot be used and that the
figures are the cache's. The signal costs no round trip: the engine's own events, fed by the
statements the cache runs anyway (:class:`ebaydash.db.reach.DatabaseReach`).

The page test stops a private Postgres cluster of its own (tests/pg_cluster.py), never the shared
server; the watcher's own tests use SQLite files that stop opening.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from playwright.sync_api import Browser, expect
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from ebaydash import ui
from ebaydash.db import migrations
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.reach import DatabaseReach
from ebaydash.errors import DatabaseError, DatabaseUnavailable
from ebaydash.settings import Settings
from tests.conftest import ROOT, require
from tests.pg_cluster import PrivateCluster, can_run_private_cluster
from tests.servers import running_app
from tests.test_overview_money_columns import small_shop

HEADING = "**The database cannot be reached** right now ("
SINCE = re.compile(r"Unavailable since (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\.")


# -- the watcher --------------------------------------------------------------------------------


def select_one(db: Database) -> None:
    with db.connect() as conn:
        conn.execute(text("SELECT 1"))


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "shop.sqlite3"
    db = Database(make_engine(Settings(database_url=f"sqlite:///{path}")), timeout_ms=5000)
    yield db, path
    db.dispose()


def unopenable(db: Database, path: Path) -> None:
    """The file gone and a folder in its place (a volume not mounted): SQLite cannot open it."""
    db.dispose()  # pooled connections would still read the old file
    path.unlink(missing_ok=True)
    path.mkdir()


def openable(db: Database, path: Path) -> None:
    db.dispose()
    path.rmdir()


def test_an_outage_runs_from_the_first_failed_try_to_the_next_statement_that_works(
    sqlite_db: tuple[Database, Path],
) -> None:
    db, path = sqlite_db
    reach = DatabaseReach()
    reach.watch(db)
    try:
        select_one(db)
        assert reach.outage() is None

        unopenable(db, path)
        before = time.time()
        with pytest.raises(DatabaseUnavailable):
            select_one(db)
        outage = reach.outage()
        assert outage is not None and isinstance(outage.error, DatabaseUnavailable)
        assert outage.since is not None and before <= outage.since <= time.time()
        with pytest.raises(DatabaseUnavailable):
            select_one(db)
        again = reach.outage()
        assert again is not None and again.since == outage.since  # the same outage goes on

        openable(db, path)
        select_one(db)
        assert reach.outage() is None
    finally:
        reach.close()


def test_an_outage_before_the_database_ever_answered_has_no_known_start(
    sqlite_db: tuple[Database, Path],
) -> None:
    db, path = sqlite_db
    unopenable(db, path)
    reach = DatabaseReach()
    reach.watch(db)
    try:
        with pytest.raises(DatabaseUnavailable):
            select_one(db)
        outage = reach.outage()
        assert outage is not None and outage.since is None
    finally:
        reach.close()


def test_a_failing_statement_on_a_database_that_answers_is_no_outage(
    sqlite_db: tuple[Database, Path],
) -> None:
    db, _ = sqlite_db
    reach = DatabaseReach()
    reach.watch(db)
    try:
        with pytest.raises(DatabaseError), db.connect() as conn:  # a missing table: SchemaMissing
            conn.execute(text("SELECT * FROM no_such_table"))
        assert reach.outage() is None
    finally:
        reach.close()


# -- the page, against a private Postgres that stops ------------------------------------------


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateCluster]:
    require(can_run_private_cluster(), "Postgres server binaries and a postgres user for a private cluster")
    server = PrivateCluster().start()
    try:
        db = Database(make_engine(Settings(database_url=server.url)), timeout_ms=10_000)
        migrations.upgrade(db)
        small_shop().load(db)
        db.dispose()
        monkeypatch.setenv("EBAYDASH_DATABASE_URL", server.url)
        monkeypatch.setenv("EBAYDASH_STATEMENT_TIMEOUT_MS", "3000")
        st.cache_resource.clear()
        yield server
    finally:
        st.cache_resource.clear()
        server.stop()


def pg_ctl(server: PrivateCluster, *args: str) -> None:
    """Stop or start the cluster and keep its data (``PrivateCluster.stop`` removes it)."""
    log = str(server.work / "server.log")
    extra = ["-l", log] if args[0] == "start" else ["-m", "fast"]
    server._run("pg_ctl", "-D", str(server.data), *extra, "-w", "-t", "60", *args)


def run_until(at: AppTest, done: Callable[[AppTest], object], seconds: float = 15) -> AppTest:
    """Rerun the page until ``done(at)``: the cache re-reads the data versions (the statement
    that meets the outage or its end) at most every 1-2 s."""
    deadline = time.monotonic() + seconds
    while True:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return at
        assert time.monotonic() < deadline, [e.value for e in at.error]
        time.sleep(0.5)


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.slow
def test_the_overview_says_its_figures_are_from_the_cache_while_the_database_is_down(
    cluster: PrivateCluster,
) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = tiles(at)
    assert shown["Orders"] == "4"

    stopped_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pg_ctl(cluster, "stop")
    run_until(at, lambda at: at.error)
    assert tiles(at) == shown  # the cache's figures, still on the page
    (banner,) = at.error
    assert banner.icon == "⚠️"
    assert banner.value.startswith(HEADING), banner.value
    assert "The figures below are from the cache, as of " in banner.value
    since = SINCE.search(banner.value)
    assert since is not None, banner.value
    moment = dt.datetime.strptime(since.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    assert stopped_at <= moment <= dt.datetime.now(dt.UTC)

    # the banner another page stops with opens the same way
    at.switch_page("pages/orders.py").run()
    assert [e.value[: len(HEADING)] for e in at.error] == [HEADING]
    assert at.error[0].icon == banner.icon

    # back: the next data-version read works, and the banner goes by itself
    pg_ctl(cluster, "start")
    at.switch_page("pages/overview.py")
    run_until(at, lambda at: not at.error)
    assert tiles(at) == shown


@pytest.mark.slow
def test_an_open_page_recovers_by_itself_when_the_database_is_back(
    cluster: PrivateCluster, tmp_path: Path, browser: Browser
) -> None:
    """Nobody reloads: the banner of a database that cannot be reached goes by itself once it
    answers again (the page asks every ui.RECOVERY_CHECK_S seconds while the banner shows)."""
    env = {"EBAYDASH_DATABASE_URL": cluster.url, "EBAYDASH_STATEMENT_TIMEOUT_MS": "3000"}
    with running_app(tmp_path, env) as base:
        page = browser.new_page()
        page.goto(f"{base}/orders")
        expect(page.get_by_text("matching order", exact=False).first).to_be_visible(timeout=30_000)
        pg_ctl(cluster, "stop")
        # a search no page has run yet: the listing is not in the cache, the page needs the database
        page.goto(f"{base}/orders?q=SKU-B")
        main = page.locator('[data-testid="stMain"]')
        banner = main.get_by_text("The database cannot be reached", exact=False)
        expect(banner).to_be_visible(timeout=60_000)
        pg_ctl(cluster, "start")
        # no reload, no click: the next check finds it back and the page draws its orders again
        expect(banner).to_be_hidden(timeout=ui.RECOVERY_CHECK_S * 1000 + 20_000)
        expect(main.get_by_text("1 matching order", exact=False).first).to_be_visible(timeout=10_000)
        page.close()
