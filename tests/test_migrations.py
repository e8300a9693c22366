"""Schema migrations (Alembic) on SQLite and Postgres: the baseline equals the code's schema, a
database made before migrations is adopted with every row, partial or different tables are refused
with a clear message, replicas starting together migrate once, and `ebaydash db …` reports it.

Every revision has an upgrade test with data from the revision before (tests/migration_support.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from sqlalchemy import MetaData, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ebaydash import sample_data, services
from ebaydash.cli import main
from ebaydash.context import build_context, open_database
from ebaydash.db import bulk, data_versions, migrations, schema
from ebaydash.db import meta as db_meta
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.migrations import runner
from ebaydash.errors import QueryTimeout, SchemaMismatch, SchemaMissing, SchemaOutdated, SchemaTooNew
from ebaydash.models import Window
from ebaydash.seeding import seed_demo
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT, SAMPLE_DIR, _postgres_available, new_postgres_database, require
from tests.migration_support import (
    BEFORE_MIGRATIONS,
    UPGRADE_TESTS,
    as_before,
    database_at,
    dump,
    insert,
    reflected,
    revision_before,
    upgrade_test,
)
from tests.test_importers import FIXTURES

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
#: this code's newest revision: tests that speak of "the head" stay true when a revision is added
HEAD = migrations.head()


def gateway(url: str, **settings: Any) -> Database:
    return Database(make_engine(Settings(database_url=url, **settings)), timeout_ms=30_000)


def table_names(db: Database) -> set[str]:
    with db.connect() as conn:
        return set(inspect(conn).get_table_names())


# -- the baseline equals the code's schema --------------------------------------------------------


def test_the_baseline_revision_matches_the_code_schema(empty_url: str) -> None:
    """Alembic's autogenerate comparison of a database made by the migrations against
    ebaydash.db.schema finds no difference, on both backends."""
    db = gateway(empty_url)
    try:
        result = migrations.upgrade(db)
        assert (result.before.state, result.after.state) == ("empty", "current")
        with db.connect() as conn:
            assert migrations.compare(conn, schema.metadata) == []
            # negative control: the comparison does see a difference when there is one
            changed = MetaData(naming_convention=schema.metadata.naming_convention)
            for table in schema.metadata.sorted_tables:
                table.to_metadata(changed)
            orders = changed.tables["orders"]
            orders.indexes.discard(next(i for i in orders.indexes if i.name == "ix_orders_customer_date"))
            assert migrations.compare(conn, changed) == [
                "index ix_orders_customer_date on orders is not expected"
            ]
    finally:
        db.dispose()


def _shape(conn: Connection) -> dict[str, Any]:
    """Everything the inspector reports about every table: more than Alembic compares (check
    constraints, server defaults, foreign key actions, Postgres INCLUDE columns)."""
    inspector = inspect(conn)
    shape: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        if name == "alembic_version":
            continue
        shape[name] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(name)
            ],
            "pk": inspector.get_pk_constraint(name),
            "fks": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    tuple(sorted(fk.get("options", {}).items())),
                )
                for fk in inspector.get_foreign_keys(name)
            ),
            "indexes": sorted(
                (
                    ix["name"],
                    tuple(str(c) for c in ix["column_names"]),
                    bool(ix["unique"]),
                    tuple(ix.get("include_columns") or ()),
                )
                for ix in inspector.get_indexes(name)
            ),
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(name)),
        }
    return shape


@pytest.fixture
def second_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'second.sqlite3'}"
    else:
        yield from new_postgres_database()


def test_the_migrations_make_exactly_what_create_all_made(empty_url: str, second_url: str) -> None:
    """The migrations make the code's schema (every table of ebaydash.db.schema, also those later
    revisions added, which ``schema.create_all`` leaves out as versions before migrations did)."""
    made_by_migrations = gateway(empty_url)
    made_by_create_all = gateway(second_url)
    with made_by_create_all.transaction() as conn:
        schema.metadata.create_all(conn)
    try:
        migrations.upgrade(made_by_migrations)  # every revision, to the head
        with made_by_migrations.connect() as a, made_by_create_all.connect() as b:
            first, second = _shape(a), _shape(b)
        assert first == second
        assert len(first) == len(schema.metadata.tables)
        assert ("ck_listings_quantity", "quantity >= 0") in first["listings"]["checks"]
    finally:
        made_by_migrations.dispose()
        made_by_create_all.dispose()


# -- adopting a database made before migrations ---------------------------------------------------


def _seed_like_an_older_version(db: Database) -> None:
    """The demo, loaded by today's loader into tables of an older revision, as versions before
    migrations loaded it: without restarting the accounts' data versions (revision 0002) and
    without rollups (revision 0004), which older versions did not have."""
    frames = sample_data.shift_to_now(sample_data.read_csvs(SAMPLE_DIR), NOW)
    with mock.patch.object(data_versions, "restart", lambda conn: None), db.transaction() as conn:
        bulk.load_frames(conn, frames, rebuild_rollups=False)
        db_meta.set_meta(conn, db_meta.DEMO_LOADED_ON, NOW.date().isoformat())
        db_meta.set_meta(conn, db_meta.DEMO_PRISTINE, "yes")


def _fill_like_an_older_version(db: Database) -> None:
    """Data of every kind, written the way versions before migrations wrote it."""
    _seed_like_an_older_version(db)  # accounts, customers, products, listings, orders, items, meta
    insert(
        db,
        "scaling_state",
        [{"scope": "default", "version": 3, "recent": "[[1.0, 2]]", "updated_at": 1.5, "updated_by": "r1"}],
    )
    insert(
        db,
        "scaling_actions",
        [
            {
                "scope": "default",
                "at": 1.0,
                "action": "scale_up",
                "from_replicas": 1,
                "to_replicas": 2,
                "rule": "throughput",
                "reason": "busy",
                "actor": "r1",
            }
        ],
    )


@upgrade_test(migrations.BASELINE)
def test_0001_adopts_a_database_made_before_migrations_with_every_row(empty_url: str) -> None:
    """The revision before the baseline is "tables made by create_all, no revision": the app's
    start (open_database, auto-migration on) must adopt it without changing a single row."""
    legacy = database_at(empty_url, BEFORE_MIGRATIONS)
    _fill_like_an_older_version(legacy)
    before = dump(legacy)
    assert "alembic_version" not in table_names(legacy)
    assert migrations.read_status(legacy).state == "unversioned"
    legacy.dispose()
    assert sum(len(rows) for rows in before.values()) > 1000

    db = open_database(Settings(database_url=empty_url))
    try:
        db.ensure_ready()
        assert migrations.read_status(db).state == "current"
        assert as_before(dump(db), before) == before  # every row of every table, exactly
        built = {table.name for table in schema.ROLLUP_TABLES}  # 0004 builds them from the orders
        assert all(rows == [] for name, rows in dump(db).items() if name not in set(before) | built)
        assert migrations.check(db).ok
    finally:
        db.dispose()
    ctx = build_context(Settings(database_url=empty_url), start_sampler=False)
    try:
        assert len(services.accounts(ctx, OPERATOR)) == len(before["accounts"])
    finally:
        ctx.close()


@upgrade_test("0006")
def test_0006_puts_row_level_security_on_every_account_scoped_table_and_keeps_every_row(
    empty_url: str,
) -> None:
    """On Postgres every table with an account_id (and accounts) gets forced row-level security
    and its policy; on SQLite nothing changes. Every row stays, and connections made without an
    app role (EBAYDASH_DATABASE_APP_ROLE empty, the default) still see every account."""
    from ebaydash.db import security

    db = database_at(empty_url, revision_before("0006"))
    _fill_like_an_older_version(db)
    before = dump(db)
    migrations.upgrade(db, target="0006")
    try:
        assert dump(db) == before
        if db.backend == "postgresql":
            with db.connect() as conn:
                # the tables scoped through a parent row are 0007's
                assert set(security.missing_row_security(conn)) == set(security.CHILD_TABLES)
                status = security.row_security_status(conn)
            there = set(table_names(db))  # later revisions add account-scoped tables (0008)
            assert {t for t, s in status.items() if s.complete} == set(
                security.account_scoped_tables()
            ) & there
    finally:
        db.dispose()
    ctx = build_context(Settings(database_url=empty_url), start_sampler=False)
    try:
        assert len(services.accounts(ctx, OPERATOR)) == len(before["accounts"])
    finally:
        ctx.close()


@upgrade_test("0002")
def test_0002_gives_every_account_a_data_version_and_keeps_every_row(empty_url: str) -> None:
    """Accounts get data_version 0; nothing else changes. Then the app's first import into the
    upgraded database bumps that account's version only, and the figures come out right."""
    db = database_at(empty_url, "0001")
    _fill_like_an_older_version(db)
    before = dump(db)
    assert before["accounts"] and "data_version" not in reflected(db, "accounts").c
    migrations.upgrade(db, target="0002")
    after = dump(db)
    db.dispose()
    assert after["accounts"] == [(*row, 0) for row in before["accounts"]]
    assert {k: v for k, v in after.items() if k != "accounts"} == {
        k: v for k, v in before.items() if k != "accounts"
    }

    ctx = build_context(Settings(database_url=empty_url), start_sampler=False)
    try:
        first = services.accounts(ctx, OPERATOR)[0]
        data = (FIXTURES / "getorders_page1.json").read_bytes()
        report = services.import_orders(
            ctx, OPERATOR, [services.ImportFile("getorders_page1.json", data)], account_name=first.name
        )
        assert report.committed and report.account_id == first.id
        versions = data_versions.read_all(ctx.db)
        assert versions[first.id] == 1
        assert all(v == 0 for account_id, v in versions.items() if account_id != first.id)
    finally:
        ctx.close()


@upgrade_test("0005")
def test_0005_adds_the_money_tables_and_keeps_every_row(empty_url: str) -> None:
    """0005 adds the money records' tables; every row of 0001's tables comes through unchanged,
    and the new tables take a transaction whose order is not imported, its fee lines, a payout and
    a cost with its change log (and refuse a second copy of a transaction id)."""
    db = database_at(empty_url, revision_before("0005"))
    try:
        seed_demo(db, SAMPLE_DIR, now=NOW)
        before = dump(db)
        assert len(before["orders"]) > 100
        migrations.upgrade(db, target="0005")
        after = dump(db)
        assert {name: after[name] for name in before} == before
        for name in (
            "money_transactions",
            "money_lines",
            "money_fees",
            "payouts",
            "sku_costs",
            "sku_cost_changes",
        ):
            assert after[name] == []
        account_id = before["accounts"][0][0]

        def money(value: str) -> object:  # reflected columns take what is stored: cents on SQLite
            return int(Decimal(value) * 100) if empty_url.startswith("sqlite") else Decimal(value)

        transaction = {
            "account_id": account_id,
            "ebay_transaction_id": "12-34567-89012",
            "type": "sale",
            "booking_entry": "CREDIT",
            "booked_on": dt.date(2026, 11, 20),
            "transaction_date": NOW,
            "time_known": True,
            "currency": "USD",
            "payout_currency": "USD",
            "gross": money("25.00"),
            "fee_total": money("3.55"),
            "net": money("21.45"),
            "gross_payout": money("25.00"),
            "fee_total_payout": money("3.55"),
            "fees_payout": money("3.55"),
            "ad_fees_payout": money("0.00"),
            "order_id": "99-not-imported-yet",
            "source_format": "finances-transactions-json",
        }
        insert(db, "money_transactions", [transaction])
        stored = dump(db, ["money_transactions"])["money_transactions"]
        insert(
            db,
            "money_fees",
            [
                {
                    "transaction_id": stored[0][0],
                    "line_no": 1,
                    "fee_type": "FINAL_VALUE_FEE",
                    "amount": money("3.25"),
                    "amount_payout": money("3.25"),
                    "account_id": account_id,
                    "booked_on": dt.date(2026, 11, 20),
                }
            ],
        )
        insert(
            db,
            "payouts",
            [
                {
                    "account_id": account_id,
                    "ebay_payout_id": "P1",
                    "amount": money("21.45"),
                    "currency": "USD",
                    "paid_on": dt.date(2026, 11, 22),
                    "payout_date": NOW,
                }
            ],
        )
        insert(
            db,
            "sku_costs",
            [
                {
                    "account_id": account_id,
                    "sku": "A-1",
                    "unit_cost": money("4.10"),
                    "valid_from": dt.date(2026, 1, 1),
                }
            ],
        )
        filled = dump(db)
        assert [len(filled[t]) for t in ("money_transactions", "money_fees", "payouts", "sku_costs")] == [
            1,
            1,
            1,
            1,
        ]
        with pytest.raises(IntegrityError):
            insert(db, "money_transactions", [transaction])  # idempotent by (account, transaction id)
        assert dump(db)["orders"] == before["orders"]
    finally:
        db.dispose()


def test_an_older_database_without_the_scaling_tables_is_adopted_and_gets_them(empty_url: str) -> None:
    """Versions before migrations made the scaling tables on first use, so a database may lack them."""
    legacy = database_at(empty_url, BEFORE_MIGRATIONS)
    with legacy.transaction() as conn:
        conn.execute(text("DROP TABLE scaling_actions"))
        conn.execute(text("DROP TABLE scaling_state"))
    _seed_like_an_older_version(legacy)
    before = dump(legacy)
    try:
        result = migrations.upgrade(legacy)
        assert result.adopted and set(result.created_on_adoption) == {"scaling_state", "scaling_actions"}
        assert "Adopted" in result.describe()
        after = dump(legacy)
        assert {k: v for k, v in as_before(after, before).items() if not k.startswith("scaling")} == before
        assert migrations.check(legacy).ok
    finally:
        legacy.dispose()


def test_tables_that_exist_only_in_part_are_not_adopted(empty_url: str) -> None:
    legacy = database_at(empty_url, BEFORE_MIGRATIONS)
    with legacy.transaction() as conn:
        conn.execute(text("DROP TABLE order_items"))
    tables = table_names(legacy)
    db = open_database(Settings(database_url=empty_url))
    try:
        with pytest.raises(SchemaMismatch, match=r"only some of ebaydash's tables .*missing: order_items"):
            db.ensure_ready()
        assert table_names(legacy) == tables  # nothing was created or stamped
    finally:
        db.dispose()
        legacy.dispose()


def test_tables_that_differ_are_not_adopted_and_the_message_lists_the_differences(empty_url: str) -> None:
    legacy = database_at(empty_url, BEFORE_MIGRATIONS)
    with legacy.transaction() as conn:
        conn.execute(text("ALTER TABLE accounts ADD COLUMN nickname VARCHAR(20)"))
        conn.execute(text("DROP INDEX ix_orders_customer"))
    try:
        with pytest.raises(SchemaMismatch) as caught:
            migrations.upgrade(legacy)
        message = str(caught.value)
        assert "column accounts.nickname is not expected" in message
        assert "index ix_orders_customer on orders is missing" in message
        assert "ebaydash db upgrade" in message
        assert "alembic_version" not in table_names(legacy)
    finally:
        legacy.dispose()


# -- states the code refuses or reports -----------------------------------------------------------


def test_a_revision_this_code_does_not_know_is_refused(empty_url: str) -> None:
    db = gateway(empty_url)
    try:
        migrations.upgrade(db)
        with db.transaction() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        app_db = open_database(Settings(database_url=empty_url))
        with pytest.raises(
            SchemaTooNew, match=r"revision 9999, which this version of ebaydash does not know"
        ):
            app_db.ensure_ready()
        app_db.dispose()
        with pytest.raises(SchemaTooNew):
            migrations.upgrade(db)  # nor does an explicit upgrade touch it
    finally:
        db.dispose()


def test_with_auto_migration_off_a_behind_database_is_named_not_migrated(empty_url: str) -> None:
    off = Settings(database_url=empty_url, auto_migrate=False)
    db = open_database(off)
    try:
        with pytest.raises(SchemaMissing, match="ebaydash db upgrade"):
            db.ensure_ready()
        plain = gateway(empty_url)
        assert table_names(plain) == set()  # nothing was created
        legacy = database_at(empty_url, BEFORE_MIGRATIONS)
        legacy.dispose()
        with pytest.raises(SchemaOutdated, match=r"before schema migrations.*ebaydash db upgrade"):
            db.ensure_ready()
        assert "alembic_version" not in table_names(plain)
        plain.dispose()
        other = gateway(empty_url)
        migrations.upgrade(other)
        other.dispose()
        db.ensure_ready()  # current now: the same gateway recovers without a restart
    finally:
        db.dispose()


# -- a later revision (a test-only copy of the migrations with a revision 9001 on top) ----------------

# chained on the real head, whatever it is, so the copy keeps one head as revisions are added
TEST_REVISION = '''"""test only: a column added to accounts

Revision ID: 9001
Revises: {head}
"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("note", sa.String(40), nullable=False, server_default="none"))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("note")
'''


@pytest.fixture
def scripts_with_9001(tmp_path: Path) -> Path:
    location = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    revision = TEST_REVISION.replace("{head}", migrations.head())
    (location / "versions" / "9001_test_only.py").write_text(revision)
    return location


def test_a_database_at_an_older_revision_is_upgraded_with_its_rows(
    empty_url: str, scripts_with_9001: Path
) -> None:
    """The pattern of every later revision's test, on a test-only revision 9001 after the head."""
    head = migrations.head()
    db = database_at(empty_url, head, script_location=scripts_with_9001)
    try:
        insert(db, "accounts", [{"name": "Shop", "ebay_user_id": "shop"}, {"name": "B", "ebay_user_id": "b"}])
        before = dump(db, ["accounts"])["accounts"]
        found = migrations.read_status(db, script_location=scripts_with_9001)
        assert (found.state, found.current, found.head) == ("behind", head, "9001")
        off = Settings(database_url=empty_url, auto_migrate=False)
        with pytest.raises(SchemaOutdated, match=rf"revision {head}, older than this version's 9001"):
            migrations.ensure_schema(db, off, script_location=scripts_with_9001)
        status = migrations.ensure_schema(
            db, off.replace(auto_migrate=True), script_location=scripts_with_9001
        )
        assert (status.state, status.current) == ("current", "9001")
        after = dump(db, ["accounts"])["accounts"]
        assert after == [(*row, "none") for row in before]  # every row, with the new column's default
    finally:
        db.dispose()


# -- several replicas at once -----------------------------------------------------------------------


RACER = """
import contextlib, sys, time
from ebaydash.db import migrations
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.migrations import runner
from ebaydash.db.migrations import runner
from ebaydash.seeding import seed_demo
from ebaydash.settings import Settings

url, lock = sys.argv[1], sys.argv[2] == "lock"
read = runner.status

def slow_status(conn, **kwargs):
    found = read(conn, **kwargs)
    time.sleep(0.5)  # every racer has read "empty" before any of them migrates
    return found

runner.status = slow_status
if not lock:
    runner.lock_postgres = lambda conn: None
    runner._migration_lock = lambda db, timeout_s: contextlib.nullcontext()
db = Database(make_engine(Settings(database_url=url)), timeout_ms=30_000)
print("ready", flush=True)
sys.stdin.readline()
try:
    result = migrations.upgrade(db)
except Exception as exc:
    print("error", type(exc).__name__, flush=True)
    sys.exit(3)
print("changed" if result.changed else "unchanged", round(result.waited_s, 2), flush=True)
"""


def _race(url: str, racers: int, *, lock: bool) -> list[tuple[int, str]]:
    """``racers`` processes upgrade the same new database at once (all start on one signal);
    each pauses after reading the state, so without a lock every one of them would migrate."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, url, "lock" if lock else "nolock"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(racers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return [(proc.wait(120), proc.communicate()[0].strip()) for proc in procs]


def test_replicas_starting_together_migrate_once(empty_url: str) -> None:
    outcomes = _race(empty_url, 4, lock=True)
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    said = [out.split() for _, out in outcomes]
    assert sum(words[0] == "changed" for words in said) == 1, outcomes  # one migration
    assert sum(words[0] == "unchanged" for words in said) == 3, outcomes  # the others found it done
    assert max(float(words[1]) for words in said) >= 0.4  # after waiting for it
    db = gateway(empty_url)
    assert migrations.check(db).ok
    db.dispose()


def test_without_the_lock_replicas_would_collide(empty_url: str) -> None:
    """Negative control for the test above: the same race with the locks taken out goes wrong."""
    outcomes = _race(empty_url, 4, lock=False)
    failed = [out for code, out in outcomes if code != 0]
    migrated = [out for code, out in outcomes if code == 0 and out.startswith("changed")]
    assert failed or len(migrated) > 1, outcomes


def test_threads_of_one_process_migrate_once(empty_url: str) -> None:
    """Streamlit serves sessions from threads: several gateways preparing at once in one process
    (Alembic's proxies are process-wide) must neither fail nor migrate twice."""
    dbs = [open_database(Settings(database_url=empty_url)) for _ in range(4)]
    barrier = threading.Barrier(len(dbs))
    errors: list[BaseException] = []

    def start(db: Database) -> None:
        barrier.wait()
        try:
            db.ensure_ready()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(db,)) for db in dbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for db in dbs:
        db.dispose()
    assert errors == []
    db = gateway(empty_url)
    assert migrations.check(db).ok
    db.dispose()


def test_replica_processes_starting_together_on_a_new_postgres_database_migrate_once() -> None:
    """Four `ebaydash db upgrade` processes started at once on a new database: all succeed, one
    migrates. (Real processes, real advisory lock: nothing patched.)"""
    require(_postgres_available(), "Postgres at 127.0.0.1:5432")
    for url in new_postgres_database():
        env = {"EBAYDASH_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "ebaydash.cli", "db", "upgrade"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [(p.wait(120), *p.communicate()) for p in procs]
        assert [code for code, _, _ in outputs] == [0, 0, 0, 0], outputs
        said = [out.strip() for _, out, _ in outputs]
        assert sum(s.startswith(f"Upgraded from an empty database to {HEAD}") for s in said) == 1, said
        assert sum(s.startswith(f"Already at revision {HEAD}") for s in said) == 3, said
        assert "Traceback" not in "".join(err for _, _, err in outputs)


# -- ebaydash db upgrade | current | check ----------------------------------------------------------


def test_the_db_commands(
    empty_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", empty_url)
    assert main(["db", "current"]) == 0
    assert "(none)" in capsys.readouterr().out
    assert main(["db", "check"]) == 1
    # a new SQLite file is not made by looking at it: it does not exist yet, and stays so
    creates = "creates it at revision" if empty_url.startswith("sqlite") else "creates revision"
    assert f"`ebaydash db upgrade` {creates} {HEAD}" in capsys.readouterr().err
    if empty_url.startswith("sqlite"):
        assert not Path(empty_url.removeprefix("sqlite:///")).exists()
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"Upgraded from an empty database to {HEAD}."
    assert main(["db", "upgrade"]) == 0
    assert f"Already at revision {HEAD}" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.startswith(f"{HEAD}\nAt revision {HEAD}, the current one.")
    assert main(["db", "check"]) == 0
    # a hand-made change is drift: check says what differs and exits 1
    db = gateway(empty_url)
    with db.transaction() as conn:
        conn.execute(text("DROP INDEX ix_orders_customer_date"))
    db.dispose()
    assert main(["db", "check"]) == 1
    err = capsys.readouterr().err
    assert "the tables differ" in err and "index ix_orders_customer_date on orders is missing" in err
    assert "Traceback" not in err


# -- first run: no command in between ----------------------------------------------------------------


def test_an_import_into_a_new_database_works_first_time_and_the_app_shows_its_figures(
    empty_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", empty_url)
    files = [str(FIXTURES / "getorders_page1.json"), str(FIXTURES / "getorders_page2.json")]
    assert main(["import", *files, "--account", "First Shop"]) == 0, capsys.readouterr()
    assert "6 imported" in capsys.readouterr().out

    # the truth, computed another way: the rows as stored, summed in Python
    db = gateway(empty_url)
    with db.connect() as conn:
        rows = conn.execute(select(schema.orders)).all()
    db.dispose()
    live = [r for r in rows if r.status != "cancelled"]
    revenue = sum((r.total_amount - r.refunded_amount for r in live), Decimal("0"))

    from tests.test_app import app

    st.cache_resource.clear()
    try:
        at = app().run()
        at.sidebar.selectbox(key="period").set_value("Custom range").run()
        at.sidebar.date_input(key="custom_dates").set_value(
            (dt.date(2026, 9, 1), dt.date(2026, 10, 31))
        ).run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        shown = {m.label: m.value for m in at.metric}
        assert int(shown["Orders"]) == len(live) > 0
        assert shown["Revenue"] == f"${revenue:,.2f}"
    finally:
        st.cache_resource.clear()


# -- 0004: rollups ---------------------------------------------------------------------------------


@upgrade_test("0004")
def test_0004_builds_the_rollups_of_the_orders_already_stored(empty_url: str) -> None:
    """Orders written at 0001 (two accounts in zones either side of UTC, every status, refunds,
    orders on local midnights) get rollups equal to a full recomputation, every old row is kept,
    and the overview read through them equals the plain SQL."""
    from ebaydash.db import queries, rollup_reads, rollups
    from tests import shop_data as sd

    db = database_at(empty_url, revision_before("0004"))
    first, last = dt.date(2026, 3, 1), dt.date(2026, 3, 14)
    shop, ny = sd.random_shop(3, n_orders=150, tz="America/New_York", first=first, last=last)
    other, _ = sd.random_shop(4, n_orders=80, tz="Asia/Kathmandu", first=first, last=last)
    shift = {name: len(rows) for name, rows in shop.rows.items()}
    for name, rows in other.rows.items():  # the second shop after the first, ids moved along
        for row in rows:
            moved = dict(row, id=row["id"] + shift[name])
            for key, table in (
                ("account_id", "accounts"),
                ("customer_id", "customers"),
                ("product_id", "products"),
                ("order_id", "orders"),
            ):
                if moved.get(key) is not None:
                    moved[key] = row[key] + shift[table]
            shop.rows[name].append(moved)

    def stored(row: dict[str, Any]) -> dict[str, Any]:
        # through reflected tables: SQLite's money columns are BIGINT cents
        if not db.is_sqlite:
            return row
        return {k: int(v * 100) if isinstance(v, Decimal) else v for k, v in row.items()}

    for name in ("accounts", "customers", "products", "listings", "orders", "order_items"):
        insert(db, name, [stored(row) for row in shop.rows[name]])
    before = dump(db)
    migrations.upgrade(db, target="0004")
    after = dump(db)
    try:
        assert {k: v for k, v in after.items() if k in before} == before  # every old row, as it was
        assert len(after["day_rollups"]) > 20 and len(after["sku_day_rollups"]) > 20
        assert {row[0] for row in after["day_rollups"]} == {1, 2}
        with db.connect() as conn:
            assert rollups.check(conn) == []
        migrations.upgrade(db)  # the reads of whole days also need 0008's customer tables
        window = Window.for_dates(first, last, "America/New_York")
        assert dict(rollup_reads.account_kpis(db, ny, window, NOW, "America/New_York")._mapping) == dict(
            queries.account_kpis(db, ny, window, NOW)._mapping
        )
        assert sd.order_figures(shop, ny, window.start, window.end)["orders"] == (
            rollup_reads.account_kpis(db, ny, window, NOW, "America/New_York").orders_cur
        )
    finally:
        db.dispose()


# -- the rule: every revision has its upgrade test ----------------------------------------------------


def test_every_revision_has_an_upgrade_test_with_data() -> None:
    revisions = [r.revision for r in migrations.script_directory().walk_revisions()]
    assert migrations.BASELINE in revisions
    missing = [r for r in revisions if r not in UPGRADE_TESTS]
    assert not missing, f"revisions without an upgrade test (see tests/migration_support.py): {missing}"
    assert set(UPGRADE_TESTS.values()) <= set(globals())
    assert migrations.head() == max(revisions)  # one head, the highest number


# -- shipped in the package, run without alembic.ini -------------------------------------------------


@pytest.mark.slow
def test_the_migrations_ship_in_the_wheel_and_run_without_an_ini_file(tmp_path: Path) -> None:
    out = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = out.glob("ebaydash-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "ebaydash/db/migrations/env.py",
        "ebaydash/db/migrations/script.py.mako",
        "ebaydash/db/migrations/versions/0001_baseline.py",
    ):
        assert shipped in names
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    elsewhere = tmp_path / "elsewhere"  # no alembic.ini here or above
    elsewhere.mkdir()
    code = (
        "import ebaydash, sys; from ebaydash.cli import main; "
        f"assert ebaydash.__file__.startswith({str(unpacked)!r}), ebaydash.__file__; "
        "sys.exit(main(['db', 'upgrade']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env={"PYTHONPATH": str(unpacked), "EBAYDASH_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"Upgraded from an empty database to {HEAD}" in done.stdout


def test_waiting_for_another_replicas_migration_is_bounded(postgres_url: str) -> None:
    """A replica stuck while holding the migration lock does not hold the others forever: they
    give up after EBAYDASH_MIGRATION_TIMEOUT_S with a message saying what to do."""
    for url in new_postgres_database():
        holder = gateway(url)
        db = gateway(url)
        try:
            with holder.transaction() as conn:
                runner.lock_postgres(conn)  # "another replica", mid-migration
                started = time.monotonic()
                with pytest.raises(
                    QueryTimeout, match=r"EBAYDASH_MIGRATION_TIMEOUT_S \(1 s\).*nothing was changed"
                ):
                    migrations.upgrade(db, timeout_s=1)
                assert time.monotonic() - started < 5
            assert migrations.upgrade(db, timeout_s=30).after.ok  # the lock free again: it migrates
        finally:
            holder.dispose()
            db.dispose()


# -- 0003: access (users, grants, audit log) -------------------------------------------------------


@upgrade_test("0003")
def test_0003_adds_access_tables_and_keeps_every_row(empty_url: str) -> None:
    """0003 only adds tables: every row of 0001 comes through unchanged, and the new tables work
    with the old accounts at once (a grant on an account that existed before, its cascade)."""
    from ebaydash.db import access as db_access

    db = database_at(empty_url, revision_before("0003"))
    try:
        _fill_like_an_older_version(db)
        before = dump(db)
        assert not {"users", "grants", "audit_log"} & table_names(db)
        migrations.upgrade(db, target="0003")
        after = dump(db)
        assert {name: rows for name, rows in after.items() if name in before} == before
        assert after["users"] == after["grants"] == after["audit_log"] == []
        with db.connect() as conn:
            # schema.py describes 0003's tables (later revisions add others)
            assert (
                migrations.compare(conn, schema.metadata, tables=["accounts", "users", "grants", "audit_log"])
                == []
            )

        shop = before["accounts"][0]
        change = db_access.set_grant(db, "Seller@Example.com ", shop[1], "seller", by="cli:test", now=NOW)
        assert (change.email, change.account_id, change.previous) == ("seller@example.com", shop[0], None)
        assert [tuple(r) for r in db_access.grants_of(db, "SELLER@example.com")] == [(shop[0], "seller")]
        audit = dump(db, ["audit_log"])["audit_log"]
        assert [(row[2], row[3], row[5], row[6]) for row in audit] == [
            ("cli:test", "grant", shop[1], "seller@example.com")
        ]
        with db.transaction() as conn:  # an account's grants go with it; the audit stays
            conn.execute(text("DELETE FROM accounts WHERE id = :id"), {"id": shop[0]})
        assert dump(db, ["grants"])["grants"] == []
        assert len(dump(db, ["audit_log"])["audit_log"]) == 1
    finally:
        db.dispose()


@upgrade_test("0007")
def test_0007_puts_row_level_security_on_the_tables_scoped_through_a_parent_and_keeps_every_row(
    empty_url: str,
) -> None:
    """On Postgres order_items and money_lines get forced row-level security through
    their parent rows (nothing is missing any more); on SQLite nothing changes. Every row stays."""
    from ebaydash.db import security

    db = database_at(empty_url, revision_before("0007"))
    _fill_like_an_older_version(db)
    before = dump(db)
    assert before["order_items"]
    migrations.upgrade(db, target="0007")
    try:
        assert dump(db) == before
        if db.backend == "postgresql":
            with db.connect() as conn:
                assert security.missing_row_security(conn) == []
                status = security.row_security_status(conn)
            assert all(status[table].complete for table in security.CHILD_TABLES)
    finally:
        db.dispose()


# -- 0008: customers' purchase days ----------------------------------------------------------------


@upgrade_test("0008")
def test_0008_builds_the_customers_purchase_days_of_the_orders_already_stored(empty_url: str) -> None:
    """The demo written at 0007 gets SKU month rollups, customer days, their gaps and customer
    totals equal to a full recomputation (rollups.check), every old row is kept, the unique
    customers read through them equal the plain statement's, and on Postgres the new tables have
    row-level security."""
    from sqlalchemy import func

    from ebaydash.db import queries, rollup_reads, rollups, security
    from ebaydash.db.schema import accounts, orders

    db = database_at(empty_url, revision_before("0008"))
    seed_demo(db, SAMPLE_DIR, now=NOW)  # with the day rollups of 0004, as a 0007 database has them
    before = dump(db)
    migrations.upgrade(db, target="0008")
    try:
        after = dump(db)
        assert {k: v for k, v in after.items() if k in before} == before
        for table in ("sku_month_rollups", "customer_days", "customer_day_gaps", "customer_totals"):
            assert after[table], table
        with db.connect() as conn:
            assert rollups.check(conn) == []
            if db.backend == "postgresql":
                assert security.missing_row_security(conn) == []
            account_id, tz = conn.execute(
                select(orders.c.account_id, accounts.c.timezone)
                .join(accounts, accounts.c.id == orders.c.account_id)
                .group_by(orders.c.account_id, accounts.c.timezone)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            first, last = conn.execute(
                select(func.min(orders.c.order_date), func.max(orders.c.order_date)).where(
                    orders.c.account_id == account_id
                )
            ).one()
        zone = ZoneInfo(tz)
        window = Window.for_dates(first.astimezone(zone).date(), last.astimezone(zone).date(), tz)
        assert rollup_reads.whole_days(rollup_reads.kpi_pieces(window, tz))
        plain = queries.account_kpis(db, account_id, window, NOW)
        assert plain.customers_cur > 1
        through = rollup_reads.account_kpis(db, account_id, window, NOW, tz)
        assert (through.customers_cur, through.customers_prev) == (plain.customers_cur, plain.customers_prev)
    finally:
        db.dispose()


# -- 0009: rollups without a foreign key ---------------------------------------------------------------


@upgrade_test("0009")
def test_0009_drops_the_rollups_account_keys_and_keeps_every_row(empty_url: str) -> None:
    """The demo written at 0008 keeps every row; the six rollup tables lose their foreign key to
    accounts (and only they: orders keep theirs); the rollups still equal a recomputation, on
    Postgres the tables keep their row-level security, and a removed account's rollups go with it
    (a trigger, as the keys' ON DELETE CASCADE did)."""
    from sqlalchemy import func

    from ebaydash.db import rollups, security
    from ebaydash.db.schema import ROLLUP_TABLES

    db = database_at(empty_url, revision_before("0009"))
    seed_demo(db, SAMPLE_DIR, now=NOW)
    before = dump(db)
    with db.connect() as conn:
        keys_before = {t.name: inspect(conn).get_foreign_keys(t.name) for t in ROLLUP_TABLES}
    assert all(keys_before.values())  # the control: 0008 has them
    migrations.upgrade(db, target="0009")
    try:
        assert dump(db) == before
        with db.connect() as conn:
            found = inspect(conn)
            assert {t.name: found.get_foreign_keys(t.name) for t in ROLLUP_TABLES} == {
                t.name: [] for t in ROLLUP_TABLES
            }
            kept = {k["referred_table"] for k in found.get_foreign_keys("orders")}
            assert kept == {"accounts", "customers"}
            assert rollups.check(conn) == []
            if db.backend == "postgresql":
                assert security.missing_row_security(conn) == []
        # what the keys' ON DELETE CASCADE did, the trigger does: a removed account's rollups go
        # with it, the others' stay
        gone, kept = before["accounts"][0][0], before["accounts"][1][0]
        with db.transaction() as conn:
            conn.execute(text("DELETE FROM accounts WHERE id = :id"), {"id": gone})
        with db.connect() as conn:
            for table in ROLLUP_TABLES:
                rows = dict(
                    conn.execute(select(table.c.account_id, func.count()).group_by(table.c.account_id)).all()
                )
                assert gone not in rows and rows[kept] > 0, table.name
            assert rollups.check(conn) == []
    finally:
        db.dispose()
