"""How every schema change is tested: a revision's test upgrades a database *holding data* from
the revision before, on SQLite and on Postgres, and checks that every row came through.

The pattern, for a new revision 0002 (write it with `ebaydash db revision -m "..."`)::

    @upgrade_test("0002")
    def test_0002_adds_fees(empty_url: str) -> None:          # parametrised over both backends
        db = database_at(empty_url, "0001")                  # the revision before
        insert(db, "accounts", [{"name": "Shop", "ebay_user_id": "shop"}])   # the tables of 0001
        before = dump(db)
        migrations.upgrade(db, target="0002")
        after = dump(db)
        assert after["accounts"] == ...                      # what 0002 promises about old rows

:func:`upgrade_test` registers the test under its revision, and
``test_every_revision_has_an_upgrade_test`` (tests/test_migrations.py) fails while any revision in
ebaydash/db/migrations/versions has none. The baseline's "revision before" is
:data:`BEFORE_MIGRATIONS`: the tables as ``create_all`` made them before migrations existed.

Rows are written and read through tables *reflected* from the database, never through
ebaydash.db.schema (which describes the newest revision only), so a test keeps working after
later revisions change the code's tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import MetaData, Table, select
from sqlalchemy import insert as sa_insert

from ebaydash.db import migrations
from ebaydash.db.engine import Database, make_engine
from ebaydash.settings import Settings

#: The state before the baseline revision: ebaydash's tables as ``create_all`` made them before
#: migrations existed (the baseline revision's frozen tables), no revision.
BEFORE_MIGRATIONS = "before-migrations"

#: revision -> name of the test that upgrades a database with data from the revision before
UPGRADE_TESTS: dict[str, str] = {}

F = TypeVar("F", bound=Callable[..., Any])


def upgrade_test(revision: str) -> Callable[[F], F]:
    """Mark a test as the data-carrying upgrade test of ``revision``."""

    def register(fn: F) -> F:
        UPGRADE_TESTS[revision] = fn.__name__
        return fn

    return register


def database_at(url: str, revision: str, *, script_location: Path | None = None) -> Database:
    """A gateway to the empty database at ``url``, first brought to ``revision`` (or, for
    :data:`BEFORE_MIGRATIONS`, given the tables versions before migrations made)."""
    db = Database(make_engine(Settings(database_url=url)), timeout_ms=60_000)
    if revision == BEFORE_MIGRATIONS:
        with db.transaction() as conn:
            # exactly what ebaydash did on start before migrations (schema.py has moved on since)
            migrations.baseline_metadata().create_all(conn, checkfirst=True)
    else:
        migrations.upgrade(db, target=revision, script_location=script_location)
    return db


def reflected(db: Database, name: str) -> Table:
    """The table ``name`` as it is in the database now (whatever the revision)."""
    with db.connect() as conn:
        return Table(name, MetaData(), autoload_with=conn)


def insert(db: Database, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    target = reflected(db, table)
    rows = list(rows)
    if rows:
        with db.transaction() as conn:
            conn.execute(sa_insert(target), rows)


def dump(db: Database, tables: Iterable[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every ebaydash table as stored (raw column values, ordered by primary key)."""
    with db.connect() as conn:
        metadata = MetaData()
        metadata.reflect(conn, only=lambda name, _meta: name != "alembic_version")
        result: dict[str, list[tuple[Any, ...]]] = {}
        for table in metadata.sorted_tables:
            if tables is not None and table.name not in set(tables):
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            result[table.name] = [tuple(row) for row in conn.execute(select(table).order_by(*order))]
    return result


def as_before(
    after: Mapping[str, list[tuple[Any, ...]]], before: Mapping[str, list[tuple[Any, ...]]]
) -> dict[str, list[tuple[Any, ...]]]:
    """``after`` (a :func:`dump` made after an upgrade) with every row cut to the width its table's
    rows had in ``before``: later revisions add columns at the end of a table (ADD COLUMN), so
    the old rows can be compared with what they were. Tables ``before`` did not have are left out."""
    result = {}
    for table, rows in after.items():
        if table not in before:
            continue
        width = len(before[table][0]) if before[table] else None
        result[table] = [row[:width] for row in rows]
    return result


def revision_before(revision: str) -> str:
    """The revision ``revision`` upgrades from (its down_revision), so a revision's upgrade test
    keeps starting from the right place when revisions are re-chained."""
    down = migrations.script_directory().get_revision(revision).down_revision
    assert isinstance(down, str), f"{revision} has no single revision before it"
    return down
