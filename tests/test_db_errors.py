"""Errors that name the real cause: each database fault gets its own class and message, on
SQLite and on Postgres, caused for real (a role without privileges, a read-only database, a file
another user owns, a page limit reached) and classified from the driver's own error. Then the three
places a person sees them: the CLI (exit code, message, no traceback), the app's error banner,
and the logs.

Where a cause does not exist for a backend (SQLite has no server to refuse a login or to freeze),
the test says so; the frozen server is tests/test_db_freeze.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from ebaydash import services, ui
from ebaydash.cli import main
from ebaydash.context import build_context, open_database
from ebaydash.db import migrations, schema
from ebaydash.db.engine import Database, make_engine
from ebaydash.errors import (
    ConfigError,
    DatabaseError,
    DatabaseUnavailable,
    DatabaseUnresponsive,
    DiskFull,
    EbaydashError,
    LoginRefused,
    PermissionDenied,
    QueryCancelled,
    QueryTimeout,
    ReadOnlyDatabase,
    SchemaMismatch,
    SchemaMissing,
    SchemaOutdated,
    SchemaTooNew,
    UnsupportedDatabase,
)
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, PG_ADMIN_URL, _postgres_available, free_port, require
from tests.migration_support import BEFORE_MIGRATIONS, database_at
from tests.test_importers import FIXTURES

ORDERS_FILE = str(FIXTURES / "getorders_page1.json")


def gateway(url: str) -> Database:
    return Database(make_engine(Settings(database_url=url)), timeout_ms=10_000)


def at_head(url: str) -> None:
    db = gateway(url)
    migrations.upgrade(db)
    db.dispose()


def logged(caplog: pytest.LogCaptureFixture, kind: type[Exception]) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{kind.__name__}: ")]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err


# -- cannot be reached (connection-level only) --------------------------------------------------------


def test_postgres_that_nothing_answers_is_unreachable_in_cli_and_logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", f"postgresql://nobody:s3cret@127.0.0.1:{port}/none")
    code, err = run_cli(["import", ORDERS_FILE, "--account", "Shop"], capsys)
    assert code == 1
    assert f"cannot be reached right now (nothing accepts connections at 127.0.0.1:{port})" in err
    assert "s3cret" not in err
    assert logged(caplog, DatabaseUnavailable)


def test_a_sqlite_path_that_is_a_folder_is_unavailable_not_a_schema_problem(tmp_path: Path) -> None:
    folder = tmp_path / "db.sqlite3"
    folder.mkdir()
    db = open_database(Settings(database_url=f"sqlite:///{folder}"))
    with pytest.raises(DatabaseUnavailable, match=r"db\.sqlite3 cannot be opened: check that it is a file"):
        db.ensure_ready()
    db.dispose()


# -- login refused (Postgres: SQLite has no login) ------------------------------------------------------


@pytest.fixture
def pg() -> None:
    require(_postgres_available(), "Postgres at 127.0.0.1:5432")


def test_a_database_that_does_not_exist_is_a_refused_login_with_the_fix(pg: None) -> None:
    url = make_url(PG_ADMIN_URL).set(database="ebaydash_no_such_db")
    db = open_database(Settings(database_url=url.render_as_string(hide_password=False)))
    with pytest.raises(LoginRefused, match=r'the database "ebaydash_no_such_db" does not exist.*createdb'):
        db.ensure_ready()
    db.dispose()


def test_a_role_that_does_not_exist_is_a_refused_login(pg: None) -> None:
    url = make_url(PG_ADMIN_URL).set(username="ebaydash_no_such_role")
    db = gateway(url.render_as_string(hide_password=False))
    with pytest.raises(LoginRefused, match=r'the role "ebaydash_no_such_role" does not exist'):
        db.fetch_all("x", text("SELECT 1"))
    db.dispose()


# -- cancelled and timed out ---------------------------------------------------------------------------


def test_a_query_cancelled_by_an_administrator_says_so_not_timeout(postgres_url: str) -> None:
    db = gateway(postgres_url)
    # autocommit: inside one transaction pg_stat_activity would show the same snapshot every time
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def cancel_the_sleeper() -> None:
        with admin.connect() as conn:
            for _ in range(600):
                cancelled = conn.execute(
                    text(
                        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                        "WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'"
                    )
                ).all()
                if cancelled:
                    return
                time.sleep(0.05)

    canceller = threading.Thread(target=cancel_the_sleeper)
    canceller.start()
    started = time.monotonic()
    with pytest.raises(QueryCancelled) as caught:
        db.fetch_all("sleep", text("SELECT pg_sleep(60)"), timeout_ms=90_000)
    canceller.join()
    assert not isinstance(caught.value, QueryTimeout)
    assert "cancelled this query" in str(caught.value)
    assert time.monotonic() - started < 40
    db.dispose()
    admin.dispose()


# (QueryTimeout on both backends: tests/test_storage.py::test_a_runaway_query_stops_at_the_time_limit)


# -- schema missing, outdated, too new, different -------------------------------------------------------


def test_a_table_dropped_under_a_running_app_is_named(
    empty_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    at_head(empty_url)
    db = gateway(empty_url)
    with db.transaction() as conn:
        conn.execute(text("DROP TABLE listings"))
    with pytest.raises(SchemaMissing) as caught:
        db.fetch_all("listings", select(schema.listings))
    message = str(caught.value)
    assert 'The table "listings" does not exist' in message and "ebaydash db upgrade" in message
    assert "cannot be reached" not in message
    assert logged(caplog, SchemaMissing)
    db.dispose()


def test_a_column_missing_at_run_time_is_a_schema_mismatch(empty_url: str) -> None:
    at_head(empty_url)
    db = gateway(empty_url)
    with db.transaction() as conn:
        conn.execute(text("ALTER TABLE listings DROP COLUMN ended_at"))
    with pytest.raises(SchemaMismatch, match=r"differ from what this version of ebaydash expects.*db check"):
        db.fetch_all("listings", select(schema.listings))
    db.dispose()


def test_auto_migrate_off_in_the_cli_names_the_upgrade_command(
    empty_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", empty_url)
    monkeypatch.setenv("EBAYDASH_AUTO_MIGRATE", "false")
    code, err = run_cli(["import", ORDERS_FILE, "--account", "Shop"], capsys)
    assert code == 1
    assert "no ebaydash tables yet" in err and "Run `ebaydash db upgrade`" in err
    assert logged(caplog, SchemaMissing)
    database_at(empty_url, BEFORE_MIGRATIONS).dispose()  # now: tables from before migrations
    code, err = run_cli(["seed-demo"], capsys)
    assert code == 1 and "before schema migrations" in err and "ebaydash db upgrade" in err
    assert logged(caplog, SchemaOutdated)
    # the fix the message names works, and then the command does
    assert run_cli(["db", "upgrade"], capsys)[0] == 0
    assert run_cli(["import", ORDERS_FILE, "--account", "Shop"], capsys)[0] == 0


def test_a_newer_schema_stops_the_cli(
    empty_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    at_head(empty_url)
    db = gateway(empty_url)
    with db.transaction() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    db.dispose()
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", empty_url)
    code, err = run_cli(["import", ORDERS_FILE, "--account", "Shop"], capsys)
    assert code == 1 and "revision 0999, which this version of ebaydash does not know" in err
    assert run_cli(["db", "check"], capsys)[0] == 1


def test_the_app_shows_a_schema_problem_in_its_banner_and_recovers_once_fixed(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_app import app

    database_at(empty_url, BEFORE_MIGRATIONS).dispose()
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", empty_url)
    monkeypatch.setenv("EBAYDASH_AUTO_MIGRATE", "false")
    st.cache_resource.clear()
    try:
        at = app().run()
        assert not at.exception
        banners = " ".join(e.value for e in at.error)
        assert "**The database schema needs attention.**" in banners
        assert "Run `ebaydash db upgrade`" in banners and "cannot be reached" not in banners
        at_head(empty_url)  # what the banner says to do
        at.run()
        assert not at.exception
        assert not any("schema" in e.value for e in at.error), [e.value for e in at.error]
        assert "No accounts yet" in " ".join(i.value for i in at.sidebar.info)  # an empty, working app
    finally:
        st.cache_resource.clear()


# -- permission denied ------------------------------------------------------------------------------------


@pytest.fixture
def role_without_privileges(pg: None) -> Iterator[str]:
    """A login role that may connect but was granted nothing on our tables."""
    name = f"ebaydash_noaccess_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def test_postgres_permission_denied_names_the_role_and_the_table(
    role_without_privileges: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.conftest import new_postgres_database

    for owner_url in new_postgres_database():  # dropped before the role is
        at_head(owner_url)  # made by the owner
        url = make_url(owner_url).set(username=role_without_privileges).render_as_string(hide_password=False)
        ctx = build_context(Settings(database_url=url), start_sampler=False)
        try:
            # the first thing a process reads is the schema's revision
            with pytest.raises(PermissionDenied) as first:
                services.accounts(ctx, OPERATOR, fresh=True)
            assert (first.value.role, first.value.target) == (role_without_privileges, "alembic_version")
            owner = gateway(owner_url)
            with owner.transaction() as conn:
                conn.execute(text(f'GRANT SELECT ON alembic_version TO "{role_without_privileges}"'))
            owner.dispose()
            with pytest.raises(PermissionDenied) as caught:
                services.accounts(ctx, OPERATOR, fresh=True)  # the same process tries again, and gets further
        finally:
            ctx.close()
        error = caught.value
        assert (error.role, error.target) == (role_without_privileges, "accounts")
        message = str(error)
        assert (
            f'The database role "{role_without_privileges}" is not allowed to use the table "accounts"'
            in message
        )
        assert f"TO {role_without_privileges}" in message  # the GRANT that fixes it
        assert logged(caplog, PermissionDenied)
        monkeypatch.setenv("EBAYDASH_DATABASE_URL", url)
        code, err = run_cli(["import", ORDERS_FILE, "--account", "Shop"], capsys)
        assert code == 1 and f'role "{role_without_privileges}" is not allowed to use the table' in err


def test_postgres_permission_to_create_the_tables_is_named_too(
    role_without_privileges: str, tmp_path: Path
) -> None:
    """Postgres 15+ lets only the owner create tables in `public`: migrating as another role."""
    from tests.conftest import new_postgres_database

    for owner_url in new_postgres_database():
        url = make_url(owner_url).set(username=role_without_privileges).render_as_string(hide_password=False)
        db = open_database(Settings(database_url=url))
        with pytest.raises(PermissionDenied, match=r'may not create or use tables in the schema "public"'):
            db.ensure_ready()
        db.dispose()


NOBODY = pwd.getpwnam("nobody")


def as_nobody(fn: Callable[[], str]) -> str:
    """``fn()`` in a forked child that dropped to the user nobody (we run as root, which no file
    permission stops); its result, or ``ClassName: message`` of what it raised."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            try:
                out = fn()
            except BaseException as exc:
                out = f"{type(exc).__name__}: {exc}"
            os.write(write_end, out.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder other users can enter (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="ebaydash-perm-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _open_and_list_accounts(url: str) -> Callable[[], str]:
    def run() -> str:
        db = open_database(Settings(database_url=url))
        try:
            return repr(db.fetch_all("accounts", select(schema.accounts)))
        finally:
            db.dispose()

    return run


@pytest.fixture
def root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user (CI runs as root)")


def test_a_sqlite_file_the_user_may_not_open_is_permission_denied(
    shared_folder: Path, root_only: None
) -> None:
    path = shared_folder / "private.sqlite3"
    at_head(f"sqlite:///{path}")
    path.chmod(0o600)  # root's alone
    make_engine(Settings(database_url=f"sqlite:///{path}")).dispose()  # driver loaded before the fork
    said = as_nobody(_open_and_list_accounts(f"sqlite:///{path}"))
    assert said.startswith("PermissionDenied: "), said
    assert f'The database file {path} cannot be opened by the user "nobody"' in said
    assert "read and write access" in said


# -- read-only ------------------------------------------------------------------------------------------


def test_a_read_only_postgres_database_refuses_writes_and_still_reads(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    at_head(postgres_url)
    name = make_url(postgres_url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    db = gateway(postgres_url)
    try:
        assert db.fetch_all("read", select(schema.accounts)) is not None  # reading works
        with (
            pytest.raises(ReadOnlyDatabase, match=r"refused to write: it is read-only.*primary"),
            db.transaction() as c,
        ):
            c.execute(insert(schema.accounts).values(name="A", ebay_user_id="a"))
        assert logged(caplog, ReadOnlyDatabase)
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        admin.dispose()


def test_a_sqlite_file_the_user_may_only_read_is_read_only(shared_folder: Path, root_only: None) -> None:
    path = shared_folder / "shared.sqlite3"
    at_head(f"sqlite:///{path}")
    path.chmod(0o644)  # readable by all, writable by root; the folder too: no -wal/-shm for others
    make_engine(Settings(database_url=f"sqlite:///{path}")).dispose()
    said = as_nobody(_open_and_list_accounts(f"sqlite:///{path}"))
    assert said.startswith("ReadOnlyDatabase: "), said
    assert f'The database file {path} is read-only for the user "nobody"' in said


# -- disk full --------------------------------------------------------------------------------------------


def test_sqlite_full_disk_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'small.sqlite3'}"
    at_head(url)
    db = gateway(url)
    with (
        pytest.raises(DiskFull, match=r"is full \(or SQLite reached its page limit\)") as caught,
        db.transaction() as conn,
    ):
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        # SQLite's own limit on the file's size: the same SQLITE_FULL a full disk gives
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
        conn.execute(insert(schema.meta), [{"key": f"k{i}", "value": "x" * 200} for i in range(2000)])
    assert "reading still works" in str(caught.value)
    assert logged(caplog, DiskFull)
    db.dispose()


def test_postgres_full_disk_is_named(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real full disk cannot be made on the shared server; a trigger raises the very error
    Postgres raises then (SQLSTATE 53100), so the driver, SQLAlchemy and our classification all
    see what they would see."""
    at_head(postgres_url)
    db = gateway(postgres_url)
    with db.transaction() as conn:
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION ebaydash_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' "
                "USING ERRCODE = '53100'; END $$"
            )
        )
        conn.execute(
            text(
                # on orders: an import no longer writes ebaydash_meta (issue 10's overlapping imports)
                "CREATE TRIGGER disk_full BEFORE INSERT ON orders "
                "FOR EACH ROW EXECUTE FUNCTION ebaydash_test_disk_full()"
            )
        )
    try:
        monkeypatch.setenv("EBAYDASH_DATABASE_URL", postgres_url)
        code, err = run_cli(["import", ORDERS_FILE, "--account", "Shop"], capsys)
        assert code == 1
        assert "has run out of disk space, so nothing can be written (reading still works)" in err
    finally:
        with db.transaction() as conn:
            conn.execute(text("DROP TRIGGER disk_full ON orders"))
            conn.execute(text("DROP FUNCTION ebaydash_test_disk_full()"))
        db.dispose()


# -- the banner: one heading per class -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "heading"),
    [
        (ConfigError("x"), "Configuration problem"),
        (UnsupportedDatabase("x"), "Configuration problem"),
        (DatabaseUnavailable("x"), "The database cannot be reached"),
        (DatabaseUnresponsive("x"), "The database is not answering"),
        (LoginRefused("x"), "The database refused the login"),
        (QueryTimeout("x"), "Query stopped at its time limit"),
        (QueryCancelled("x"), "Query cancelled by the database"),
        (SchemaMissing("x"), "The database schema needs attention"),
        (SchemaOutdated("x"), "The database schema needs attention"),
        (SchemaTooNew("x"), "The database schema needs attention"),
        (SchemaMismatch("x"), "The database schema needs attention"),
        (PermissionDenied("x"), "Permission denied by the database"),
        (ReadOnlyDatabase("x"), "The database is read-only"),
        (DiskFull("x"), "The database's disk is full"),
    ],
)
def test_every_database_error_has_its_own_banner_heading(error: EbaydashError, heading: str) -> None:
    assert ui.banner_text(error) == f"**{heading}.** x"


def test_a_message_that_opens_with_its_heading_says_it_once() -> None:
    text = ui.banner_text(DatabaseUnavailable("The database cannot be reached right now (nothing at :5999)."))
    assert text == "**The database cannot be reached** right now (nothing at :5999)."
    assert text.lower().count("cannot be reached") == 1


def test_the_error_tree() -> None:
    """The classes a caller may catch, and the ones that stay retryable outages."""
    for kind in (DatabaseUnresponsive,):
        assert issubclass(kind, DatabaseUnavailable)
    for kind in (LoginRefused, SchemaMissing, PermissionDenied, ReadOnlyDatabase, DiskFull, QueryCancelled):
        assert issubclass(kind, DatabaseError) and not issubclass(kind, DatabaseUnavailable)
    assert issubclass(QueryTimeout, QueryCancelled) and issubclass(UnsupportedDatabase, ConfigError)


def test_an_unsupported_driver_is_shown_as_a_configuration_banner(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_app import app

    monkeypatch.setenv("EBAYDASH_DATABASE_URL", "mysql://admin:hunter2@db.example.com/shop")
    st.cache_resource.clear()
    try:
        at = app().run()
        assert not at.exception
        banner = " ".join(e.value for e in at.error)
        assert "**Configuration problem.** EBAYDASH_DATABASE_URL uses mysql://" in banner
        assert "postgresql://" in banner and "hunter2" not in banner
    finally:
        st.cache_resource.clear()
