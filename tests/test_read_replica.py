"""The read replica (issue 16) against a real streaming standby: a private primary and a standby made
with ``pg_basebackup -R``, each on its own port (tests/pg_cluster.py). The dashboard's reads go to
the standby; writes and unmarked reads to the primary; a standby that lags past the bound or stops
is skipped with a note and the primary answers, without an error to the caller; it comes back by
itself. Fails (not skips) under CI=true when the Postgres server binaries are missing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from ebaydash import services
from ebaydash.context import build_context, open_database
from ebaydash.db import queries
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.replica import ReadReplica, parse_lsn
from ebaydash.errors import DatabaseUnavailable
from ebaydash.models import OrderFilter
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, require
from tests.migration_support import insert
from tests.pg_cluster import StandbyPair, can_run_private_cluster

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
IN_RECOVERY = select(func.pg_is_in_recovery())


@pytest.fixture(scope="module")
def pair() -> Iterator[StandbyPair]:
    require(can_run_private_cluster(), "Postgres server binaries and a postgres user for a private cluster")
    servers = StandbyPair().start()
    try:
        owner = Database(make_engine(Settings(database_url=servers.primary_url)), timeout_ms=30_000)
        from ebaydash.db import migrations

        migrations.upgrade(owner)
        insert(owner, "accounts", [{"name": "Shop", "ebay_user_id": "shop"}])
        with owner.connect() as conn:
            account_id = conn.execute(text("SELECT id FROM accounts")).scalar_one()
        insert(owner, "orders", [_order(account_id, i) for i in range(20)])
        owner.dispose()
        yield servers
    finally:
        servers.stop()


def _order(account_id: int, i: int) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "ebay_order_id": f"o-{i}-{time.monotonic_ns()}",
        "status": "paid",
        "total_amount": Decimal("12.50"),
        "currency": "USD",
        "order_date": T0,
        "updated_at": T0,
    }


def settings_for(pair: StandbyPair, **changes: Any) -> Settings:
    return Settings(
        database_url=pair.primary_url,
        database_read_url=pair.standby_url,
        read_replica_max_lag_s=1.0,
        read_replica_retry_s=1.0,
    ).replace(**changes)


def superuser(url: str) -> Any:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def on_standby(db: Database) -> bool:
    """Where a replica-eligible read ran: pg_is_in_recovery() is true only on the standby."""
    row = db.fetch_one("where", IN_RECOVERY, replica_ok=True)
    assert row is not None
    return bool(row[0])


def caught_up(pair: StandbyPair) -> bool:
    primary, standby = superuser(pair.primary_url), superuser(pair.standby_url)
    try:
        with primary.connect() as p, standby.connect() as s:
            target = p.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
            replayed = s.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar_one()
        return parse_lsn(replayed) >= parse_lsn(target)
    except Exception:
        return False
    finally:
        primary.dispose()
        standby.dispose()


# -- routing ------------------------------------------------------------------------------------------


def test_the_dashboards_reads_go_to_the_standby_and_writes_to_the_primary(pair: StandbyPair) -> None:
    db = open_database(settings_for(pair))
    try:
        wait_for(lambda: caught_up(pair), what="the standby to catch up")
        wait_for(lambda: on_standby(db), what="reads on the standby")
        # unmarked reads (scaling state, imports' lookups, migrations) stay on the primary
        assert db.fetch_one("where", IN_RECOVERY) == (False,)
        account_id = queries.list_accounts(db)[0].id
        assert queries.orders_count(db, account_id, OrderFilter()) == 20
        served = db.replica.status() if db.replica else None
        assert served is not None and served.state == "serving" and served.standby_reads >= 2
        # a write goes to the primary (the standby would refuse it) and the next read sees it:
        # reads wait for the standby to replay this process's commit
        order_id = queries.orders_page(
            db, account_id, OrderFilter(), "newest", after=None, before=None, limit=1
        )[0].id
        for status in ("shipped", "delivered", "refunded", "paid") * 5:
            assert queries.update_order_status(db, account_id, order_id, status, T0)
            detail = queries.order_detail(db, account_id, order_id)
            assert detail is not None and detail.status == status
    finally:
        db.dispose()


def test_the_performance_page_has_no_note_while_the_standby_serves(pair: StandbyPair) -> None:
    ctx = build_context(settings_for(pair), start_sampler=False)
    try:
        wait_for(lambda: caught_up(pair), what="the standby to catch up")
        wait_for(lambda: on_standby(ctx.db), what="reads on the standby")
        assert len(services.accounts(ctx, OPERATOR)) == 1
        report = services.performance_report(ctx, OPERATOR)
        assert report.replica is not None and report.replica.state == "serving"
        from ebaydash import ui

        assert ui.replica_note(report.replica) is None
        assert any(
            c.name == "Read replica" and c.status == "ok" for c in services.health_checks(ctx, OPERATOR)
        )
    finally:
        ctx.close()


# -- lag ---------------------------------------------------------------------------------------------


def test_a_standby_behind_by_more_than_the_bound_is_skipped_with_a_note_and_comes_back(
    pair: StandbyPair,
) -> None:
    from ebaydash import ui

    db = open_database(settings_for(pair, read_replica_max_lag_s=1.0))
    other_process = Database(make_engine(Settings(database_url=pair.primary_url)), timeout_ms=10_000)
    standby = superuser(pair.standby_url)
    try:
        wait_for(lambda: caught_up(pair), what="the standby to catch up")
        wait_for(lambda: on_standby(db), what="reads on the standby")
        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
            wait_for(
                lambda: conn.execute(text("SELECT pg_get_wal_replay_pause_state()")).scalar() == "paused",
                what="replay to pause",
            )
        account_id = queries.list_accounts(db)[0].id
        # another process writes; this one's reads only know the bound
        insert(other_process, "orders", [_order(account_id, 100)])
        time.sleep(2.5)
        assert not on_standby(db)  # the primary answers
        status = db.replica.status() if db.replica else None
        assert status is not None and status.state == "lagging"
        assert status.lag_s is not None and status.lag_s > 1.0
        note = ui.replica_note(status)
        assert note is not None and "behind" in note and "primary serves" in note
        assert queries.orders_count(db, account_id, OrderFilter()) == 21  # the primary's truth

        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        wait_for(lambda: on_standby(db), what="the standby to be used again after catching up")
        back = db.replica.status() if db.replica else None
        assert back is not None and back.state == "serving" and ui.replica_note(back) is None
    finally:
        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        standby.dispose()
        other_process.dispose()
        db.dispose()


# -- failover -----------------------------------------------------------------------------------------


def test_a_stopped_standby_is_skipped_without_an_error_and_used_again_once_back(pair: StandbyPair) -> None:
    from ebaydash import ui

    db = open_database(settings_for(pair, read_replica_retry_s=1.0))
    try:
        wait_for(lambda: caught_up(pair), what="the standby to catch up")
        wait_for(lambda: on_standby(db), what="reads on the standby")
        account_id = queries.list_accounts(db)[0].id  # a pooled connection to the standby now
        pair.stop_standby()
        try:
            # the pooled connection is dead and new ones are refused: the caller notices nothing
            assert queries.orders_count(db, account_id, OrderFilter()) >= 20
            assert not on_standby(db)
            status = db.replica.status() if db.replica else None
            assert status is not None and status.state == "down" and status.reason
            note = ui.replica_note(status)
            assert note is not None and "tried again" in note
        finally:
            pair.start_standby()
        wait_for(lambda: on_standby(db), what="the restarted standby to be used again")
    finally:
        db.dispose()


def test_a_read_url_that_is_not_a_standby_is_skipped(pair: StandbyPair) -> None:
    db = open_database(settings_for(pair, database_read_url=pair.primary_url))
    try:
        assert queries.list_accounts(db)
        status = db.replica.status() if db.replica else None
        assert status is not None and status.state == "not_standby"
    finally:
        db.dispose()


# -- the lag arithmetic, without servers --------------------------------------------------------------


class FakeServer:
    """A gateway answering the lag check's one query with a fixed WAL position."""

    def __init__(self, lsn: int, *, standby: bool = True) -> None:
        self.lsn, self.standby, self.down = lsn, standby, False

    def connect(self, *, timeout_ms: int | None = None) -> Any:
        server = self

        class Conn:
            def __enter__(self) -> Conn:
                if server.down:
                    raise DatabaseUnavailable("refused")
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def execute(self, statement: Any) -> Any:
                lsn = f"{server.lsn >> 32:X}/{server.lsn & 0xFFFFFFFF:X}"

                class Result:
                    def scalar_one(self) -> str:
                        return lsn

                    def one(self) -> Any:
                        return type("Row", (), {"standby": server.standby, "replay": lsn})()

                return Result()

        return Conn()


def test_lag_is_the_age_of_the_newest_primary_position_the_standby_has_replayed() -> None:
    now = [100.0]
    primary, standby = FakeServer(1000), FakeServer(1000)
    replica = ReadReplica(standby, max_lag_s=5, retry_s=10, check_interval_s=1, clock=lambda: now[0])
    assert replica.use_standby(primary)  # caught up: 0 s
    primary.lsn = 2000  # writes; the standby stops replaying at 1000
    for step in range(1, 5):
        now[0] = 100.0 + step
        assert replica.use_standby(primary), step  # 1000 was the primary's at t=100: ≤ 4 s behind
    now[0] = 105.5
    assert not replica.use_standby(primary)  # 5.5 s since the last position it has
    assert replica.status().state == "lagging" and replica.status().lag_s == pytest.approx(5.5)
    standby.lsn = 2000
    now[0] = 106.6
    assert replica.use_standby(primary) and replica.status().lag_s == 0.0
    # a commit in this process: reads wait until the standby has replayed it
    primary.lsn = 3000
    replica.wrote()
    assert not replica.use_standby(primary)
    standby.lsn = 3000
    assert replica.use_standby(primary)
    # a failure: skipped for retry_s, then checked again
    standby.down = True
    now[0] = 200.0
    assert not replica.use_standby(primary) and replica.status().state == "down"
    standby.down = False
    now[0] = 205.0
    assert not replica.use_standby(primary)
    now[0] = 210.5
    assert replica.use_standby(primary)


def test_parse_lsn() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("16/B374D848") == (0x16 << 32) + 0xB374D848


def test_the_demo_has_no_read_replica_and_no_row_security(tmp_path: Any) -> None:
    db = open_database(Settings(data_dir=str(tmp_path)))
    try:
        assert db.replica is None and not db.row_security
        db.ensure_ready()
        count = select(func.count()).select_from(text("accounts"))
        assert db.fetch_one("one", count, replica_ok=True) == (0,)
    finally:
        db.dispose()


def test_the_standby_enforces_the_same_row_level_security(pair: StandbyPair) -> None:
    """Policies, grants and roles replicate: reads on the standby, as the app role, see only the
    accounts of the transaction's scope (set_config works in a read-only standby transaction)."""
    from ebaydash.db import scope

    role = "replica_app"
    admin = superuser(pair.primary_url)
    with admin.connect() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
    as_app = "postgresql://" + role + "@"
    settings = settings_for(
        pair,
        database_url=pair.primary_url.replace("postgresql://postgres@", as_app),
        database_read_url=pair.standby_url.replace("postgresql://postgres@", as_app),
        database_admin_url=pair.primary_url,
        database_app_role=role,
    )
    db = open_database(settings)
    try:
        db.ensure_ready()  # grants the role, checks it is neither owner nor superuser
        wait_for(lambda: caught_up(pair), what="the standby to replay the grants")
        with scope.all_accounts():
            account_id = queries.list_accounts(db)[0].id
        with scope.allowed_accounts({account_id}):
            wait_for(lambda: on_standby(db), what="reads on the standby")
            assert [row.id for row in queries.list_accounts(db)] == [account_id]
            assert queries.orders_count(db, account_id, OrderFilter()) >= 20
        with scope.allowed_accounts({account_id + 1000}):
            assert on_standby(db)
            assert queries.list_accounts(db) == []
            assert queries.orders_count(db, account_id, OrderFilter()) == 0
        assert on_standby(db) and queries.list_accounts(db) == []  # no scope: nothing
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()
