"""The cache as a user meets it: the overview with Redis up, stopped, hung and back, and the
refresh button. Assertions are on what the page shows and on how long the page took."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from ebaydash import ui
from ebaydash.db import queries
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import orders
from ebaydash.settings import Settings
from tests.cache_support import RedisServer
from tests.conftest import ROOT

pytestmark = pytest.mark.redis

TIMEOUT_S = 0.25
SLACK_S = 0.4  # scheduling noise on a shared two-core machine
DEGRADED = "Cache degraded"


@pytest.fixture
def app_env(own_redis: RedisServer, demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    monkeypatch.setenv("EBAYDASH_REDIS_URL", own_redis.url)
    monkeypatch.setenv("EBAYDASH_BREAKER_RESET_S", "0.5")
    st.cache_resource.clear()
    yield own_redis
    ui._context().close()
    st.cache_resource.clear()


def run(at: AppTest | None = None) -> AppTest:
    at = at or AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def tiles(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.sidebar.warning)


def last_page_seconds() -> float:
    """How long the last page run took inside the app (sidebar, services, rendering)."""
    seconds = ui._context().recorder.last_duration("page")
    assert seconds is not None
    return seconds


def fresh_process() -> None:
    """Drop the process objects, as a new replica would start: empty L1, new breaker."""
    ui._context().close()
    st.cache_resource.clear()


def test_the_overview_shows_the_same_figures_with_redis_up_stopped_hung_and_back(
    app_env: RedisServer,
) -> None:
    server = app_env
    run()  # the first run in a process imports and warms up everything: not a fair baseline
    fresh_process()
    up = run()
    expected = tiles(up)
    assert int(expected["Orders"].replace(",", "")) > 0 and DEGRADED not in warnings(up)
    cold_up = last_page_seconds()

    # stopped, in a new process: figures straight from the database, and the page says so
    server.stop()
    fresh_process()
    down = run()
    assert tiles(down) == expected
    assert DEGRADED in warnings(down)
    assert last_page_seconds() < cold_up + TIMEOUT_S + SLACK_S

    # hung (SIGSTOP: connections hang instead of being refused), in a new process
    server.start()
    fresh_process()
    run()  # warm the connection pool so that the hang hits reads, the harder case
    server.freeze()
    try:
        fresh_l1 = ui._context().cache
        fresh_l1.l1.clear()
        hung = run()
        assert tiles(hung) == expected
        assert DEGRADED in warnings(hung)
        assert last_page_seconds() < cold_up + TIMEOUT_S + SLACK_S
        # the breaker is open: the next run does not wait on Redis at all
        fresh_l1.l1.clear()
        again = run(hung)
        assert tiles(again) == expected
        assert last_page_seconds() < cold_up + SLACK_S
    finally:
        server.thaw()

    # back: after the breaker's reset time the warning goes away by itself
    time.sleep(0.6)
    ui._context().cache.l1.clear()
    run(hung)  # this run's first Redis call is the probe that closes the breaker
    back = run(hung)
    assert tiles(back) == expected
    assert DEGRADED not in warnings(back)


def test_refresh_reads_again_from_the_database(app_env: RedisServer, demo_url: str) -> None:
    at = run()
    before = tiles(at)["Orders"]
    # change the data behind the cache's back (through the database layer, which keeps the rollups
    # with the orders, not the service, which would invalidate the cache)
    db = Database(make_engine(Settings(database_url=demo_url)), timeout_ms=5000)
    try:
        account_id = at.sidebar.selectbox(key="account_id").value
        with db.transaction() as conn:
            newest = conn.execute(
                select(orders.c.id)
                .where(orders.c.account_id == account_id, orders.c.status != "cancelled")
                .order_by(orders.c.order_date.desc())
                .limit(1)
            ).scalar_one()
        assert queries.update_order_status(db, account_id, newest, "cancelled", dt.datetime.now(dt.UTC))
    finally:
        db.dispose()
    assert tiles(run(at))["Orders"] == before  # still the cached figure
    at.sidebar.button[0].click()
    refreshed = run(at)
    assert int(tiles(refreshed)["Orders"].replace(",", "")) == int(before.replace(",", "")) - 1
    # and the refresh repopulated the cache: the next plain run shows the new figure too
    ui._context().cache.l1.clear()
    assert tiles(run(refreshed))["Orders"] == tiles(refreshed)["Orders"]
