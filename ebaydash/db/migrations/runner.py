"""Running the schema migrations: Alembic configured in code, so no alembic.ini is needed on disk.

The migration environment ships inside the package (``env.py``, ``versions/``, the revision
template); :func:`alembic_config` points Alembic at it. Every upgrade runs in one transaction of
the :class:`~ebaydash.db.engine.Database` (time limit ``EBAYDASH_MIGRATION_TIMEOUT_S``, errors
named by :mod:`ebaydash.db.faults`), serialised between processes:

- Postgres: ``pg_advisory_xact_lock`` on :data:`LOCK_KEY`, taken first in that transaction and
  released by its commit, so replicas starting together migrate once; the others wait for it, see
  the database current and go on. DDL is transactional there, so an upgrade is all or nothing.
- SQLite: an exclusive ``flock`` on the database file's folder (the file itself must not be
  locked this way: SQLite's own POSIX locks would be released when our descriptor closes).
- Threads of one process: a process-wide lock, since Alembic's ``op``/``context`` proxies are global.

A database made by ``create_all`` before migrations existed (ebaydash tables, no
``alembic_version``) is *adopted*: compared with the baseline revision's tables (Alembic's
autogenerate comparison) and, when they match, stamped as that revision without touching a row.
Tables present only in part, or different, stop with :class:`~ebaydash.errors.SchemaMismatch`
listing the differences.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, func, inspect, select
from sqlalchemy.engine import Connection

from ebaydash.db import schema
from ebaydash.db.engine import Database
from ebaydash.errors import (
    UPGRADE_COMMAND,
    DatabaseUnavailable,
    QueryTimeout,
    SchemaError,
    SchemaMismatch,
    SchemaMissing,
    SchemaOutdated,
    SchemaTooNew,
)
from ebaydash.settings import Settings

log = logging.getLogger(__name__)
# Alembic announces each of its autogenerate plugins, its context and every step at INFO: what a
# seller at the command line needs is ebaydash's own one line ("Upgraded from … to …")
logging.getLogger("alembic").setLevel(logging.WARNING)

#: The folder holding env.py, versions/ and script.py.mako (shipped as package data).
MIGRATIONS_DIR = Path(__file__).resolve().parent
#: The first revision: the schema as ``create_all`` made it before migrations.
BASELINE = "0001"
#: The Postgres advisory lock every replica takes to migrate: the bytes of "ebaydash" as a bigint.
LOCK_KEY = int.from_bytes(b"ebaydash", "big")

State = Literal["empty", "unversioned", "behind", "current", "unknown"]


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this version of ebaydash.

    ``state``: ``empty`` (no ebaydash table), ``unversioned`` (tables made before migrations, no
    revision recorded), ``behind`` (an older revision), ``current`` (the head revision),
    ``unknown`` (a revision this code does not know: a newer ebaydash migrated it).
    ``current`` is the recorded revision (None when there is none), ``head`` this code's newest.
    """

    state: State
    current: str | None
    head: str
    tables: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "current"

    def describe(self) -> str:
        if self.state == "empty":
            return (
                f"No ebaydash tables yet (a new database); `{UPGRADE_COMMAND}` creates revision {self.head}."
            )
        if self.state == "unversioned":
            then = "" if self.head == BASELINE else f" and upgrades them to {self.head}"
            return (
                f"{len(self.tables)} ebaydash tables made before migrations (no revision recorded); "
                f"`{UPGRADE_COMMAND}` checks them against revision {BASELINE}, adopts them{then}."
            )
        if self.state == "behind":
            return f"At revision {self.current}, behind this version's {self.head}: run `{UPGRADE_COMMAND}`."
        if self.state == "unknown":
            return (
                f"At revision {self.current}, which this version of ebaydash does not know (its newest "
                f"is {self.head}): a newer version migrated this database."
            )
        return f"At revision {self.head}, the current one."

    def error(self) -> SchemaError:
        """The exception for a database that is not current (when it may not be migrated)."""
        off = "EBAYDASH_AUTO_MIGRATE is off, so it was not migrated on start"
        if self.state == "empty":
            return SchemaMissing(
                f"This database has no ebaydash tables yet, and {off}. Run `{UPGRADE_COMMAND}` to "
                "create them (or set EBAYDASH_AUTO_MIGRATE=true)."
            )
        if self.state == "unknown":
            return SchemaTooNew(
                f"This database's schema is at revision {self.current}, which this version of "
                f"ebaydash does not know (its newest is {self.head}): a newer version has migrated "
                "it. Run that newer version of ebaydash, or restore a backup made before the upgrade."
            )
        if self.state == "unversioned":
            return SchemaOutdated(
                f"This database's tables were made by an older version of ebaydash, before schema "
                f"migrations, and {off}. Run `{UPGRADE_COMMAND}` to adopt and upgrade them (no row "
                "is lost)."
            )
        return SchemaOutdated(
            f"This database's schema is at revision {self.current}, older than this version's "
            f"{self.head}, and {off}. Run `{UPGRADE_COMMAND}` to bring it up to date."
        )


@dataclass(frozen=True)
class UpgradeResult:
    before: SchemaStatus
    after: SchemaStatus
    adopted: bool = False
    created_on_adoption: tuple[str, ...] = ()
    waited_s: float = 0.0  # time spent waiting for another process's migration

    @property
    def changed(self) -> bool:
        return self.before.current != self.after.current or self.before.state != self.after.state

    def describe(self) -> str:
        if not self.changed:
            return f"Already at revision {self.after.head}; nothing to do."
        parts = []
        if self.adopted:
            made = (
                f" (created the missing {', '.join(self.created_on_adoption)})"
                if self.created_on_adoption
                else ""
            )
            parts.append(f"Adopted the tables made before migrations as revision {BASELINE}{made}.")
        start = "an empty database" if self.before.state == "empty" else f"revision {self.before.current}"
        if self.adopted:
            start = f"revision {BASELINE}"
        if start != f"revision {self.after.current}":
            parts.append(f"Upgraded from {start} to {self.after.current}.")
        return " ".join(parts)


@dataclass(frozen=True)
class CheckResult:
    status: SchemaStatus
    drift: tuple[str, ...] = field(default=())  # differences from the code's tables (when current)

    @property
    def ok(self) -> bool:
        return self.status.ok and not self.drift


# -- Alembic, configured in code ------------------------------------------------------------------


def alembic_config(connection: Connection | None = None, *, script_location: Path | None = None) -> Config:
    """Alembic's configuration without an ini file; ``connection`` is the one env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    # revision files named 0002_add_fees.py (configparser syntax: %% is a literal %)
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@functools.lru_cache(maxsize=8)
def _script(location: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(script_location=Path(location)))


def script_directory(script_location: Path | None = None) -> ScriptDirectory:
    """The revisions (loaded once per process and location)."""
    return _script(str(script_location or MIGRATIONS_DIR))


def head(script_location: Path | None = None) -> str:
    heads = script_directory(script_location).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have exactly one head, found {heads}")
    return str(heads[0])


def baseline_metadata(script_location: Path | None = None) -> MetaData:
    """The tables of the baseline revision (frozen), for adopting databases made before migrations."""
    module = script_directory(script_location).get_revision(BASELINE).module
    metadata: MetaData = module.metadata
    return metadata


def run_environment(config: Config) -> None:
    """What env.py does: run Alembic's migrations on the connection in ``config.attributes``.

    Without one (Alembic's own command line), connect with the settings from the environment."""
    from alembic import context

    if context.is_offline_mode():
        raise CommandError("ebaydash migrations run online only (no --sql)")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_migrations(context, connection)
        return
    from ebaydash.db.engine import make_engine

    engine = make_engine(Settings.from_env(os.environ))
    try:
        with engine.begin() as conn:
            _run_migrations(context, conn)
    finally:
        engine.dispose()


def _run_migrations(context: EnvironmentContext | Any, connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later revisions' batch operations copy the table
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=_ours_only(set(schema.metadata.tables)),
    )
    with context.begin_transaction():
        context.run_migrations()


def _ours_only(tables: set[str]) -> Any:
    """An autogenerate filter: ebaydash's tables only (a database may hold other applications')."""

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in tables

    return include_name


# -- where a database stands ----------------------------------------------------------------------


def status(conn: Connection, *, script_location: Path | None = None) -> SchemaStatus:
    """Read the schema state of the database behind ``conn`` (two small queries)."""
    newest = head(script_location)
    present = set(inspect(conn).get_table_names())
    known = set(schema.metadata.tables) | set(baseline_metadata(script_location).tables)
    tables = tuple(sorted(present & known))
    current = (
        MigrationContext.configure(conn).get_current_revision() if "alembic_version" in present else None
    )
    if current is None:
        return SchemaStatus("unversioned" if tables else "empty", None, newest, tables)
    if current == newest:
        return SchemaStatus("current", current, newest, tables)
    try:
        script_directory(script_location).get_revision(current)
    except CommandError:
        return SchemaStatus("unknown", current, newest, tables)
    return SchemaStatus("behind", current, newest, tables)


def read_status(db: Database, *, script_location: Path | None = None) -> SchemaStatus:
    with db.connect() as conn:
        return status(conn, script_location=script_location)


def compare(conn: Connection, metadata: MetaData, *, tables: Sequence[str] | None = None) -> list[str]:
    """Differences between the database and ``metadata`` (Alembic's autogenerate comparison:
    tables, columns, types, nullability, indexes, unique and foreign keys), as sentences.
    ``tables`` limits the comparison to those tables (default: every table of ``metadata``)."""
    wanted = set(tables if tables is not None else metadata.tables)
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "include_name": _ours_only(wanted)}
    )
    sub = MetaData()
    for table in metadata.sorted_tables:
        if table.name in wanted:
            table.to_metadata(sub)
    return [describe_difference(diff) for diff in compare_metadata(context, sub)]


def describe_difference(diff: Any) -> str:
    """One autogenerate difference as a sentence for an operator."""
    if isinstance(diff, list):  # column modifications come grouped per column
        return "; ".join(describe_difference(d) for d in diff)
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name} is missing"
    if kind == "remove_table":
        return f"table {diff[1].name} is not expected"
    if kind == "add_column":
        return f"column {diff[2]}.{diff[3].name} is missing"
    if kind == "remove_column":
        return f"column {diff[2]}.{diff[3].name} is not expected"
    if kind == "modify_type":
        return f"column {diff[2]}.{diff[3]} is {diff[5]}, expected {diff[6]}"
    if kind == "modify_nullable":
        want = "NULL allowed" if diff[6] else "NOT NULL"
        return f"column {diff[2]}.{diff[3]} should be {want}"
    if kind == "modify_default":
        return f"column {diff[2]}.{diff[3]} has default {diff[5]!r}, expected {diff[6]!r}"
    if kind in {"add_index", "remove_index"}:
        index = diff[1]
        verb = "is missing" if kind == "add_index" else "is not expected"
        return f"index {index.name} on {index.table.name} {verb}"
    if kind in {"add_constraint", "remove_constraint", "add_fk", "remove_fk"}:
        constraint = diff[1]
        verb = "is missing" if kind.startswith("add") else "is not expected"
        columns = ", ".join(c.name for c in constraint.columns)
        name = f" {constraint.name}" if constraint.name else ""
        what = "foreign key" if kind.endswith("fk") else "constraint"
        return f"{what}{name} on {constraint.table.name}({columns}) {verb}"
    return f"{kind}: {diff[1:]!r}"


# -- changing it ----------------------------------------------------------------------------------


def ensure_schema(db: Database, settings: Settings, *, script_location: Path | None = None) -> SchemaStatus:
    """Make sure the database is at this code's revision before anything else uses it.

    At the head: returns at once (two small queries). Empty, made before migrations or behind:
    upgraded when ``settings.auto_migrate`` (under the cross-process lock), otherwise
    :class:`~ebaydash.errors.SchemaMissing` / :class:`~ebaydash.errors.SchemaOutdated` naming
    ``ebaydash db upgrade``. A revision this code does not know raises
    :class:`~ebaydash.errors.SchemaTooNew`; tables that cannot be adopted
    :class:`~ebaydash.errors.SchemaMismatch`. Connection problems raise the usual
    :class:`~ebaydash.errors.DatabaseError` subclasses."""
    found = read_status(db, script_location=script_location)
    if found.ok:
        return found
    if found.state == "unknown" or not settings.auto_migrate:
        error = found.error()
        log.warning("%s: %s", type(error).__name__, error)
        raise error
    result = upgrade(db, timeout_s=settings.migration_timeout_s, script_location=script_location)
    if result.changed:
        log.info("database schema: %s", result.describe())
    return result.after


def upgrade(
    db: Database,
    *,
    timeout_s: float = 600.0,
    target: str = "head",
    script_location: Path | None = None,
) -> UpgradeResult:
    """Bring the database to ``target`` (default the newest revision), adopting tables made before
    migrations first. One transaction, under the cross-process migration lock; a process that
    finds the work done by another while it waited does nothing."""
    try:
        with _IN_PROCESS:
            return _upgrade(db, timeout_s=timeout_s, target=target, script_location=script_location)
    except SchemaError as error:
        log.warning("%s: %s", type(error).__name__, error)
        raise
    except QueryTimeout as error:
        # the page's advice (a shorter date range) does not fit a migration
        raise QueryTimeout(
            f"The schema migration (or the wait for another replica's) took longer than "
            f"EBAYDASH_MIGRATION_TIMEOUT_S ({timeout_s:g} s) and was stopped; nothing was changed. "
            f"Raise that limit, or run `{UPGRADE_COMMAND}` on its own."
        ) from error


def _upgrade(db: Database, *, timeout_s: float, target: str, script_location: Path | None) -> UpgradeResult:
    started = time.monotonic()
    with _migration_lock(db, timeout_s), db.transaction(timeout_ms=int(timeout_s * 1000)) as conn:
        if db.backend == "postgresql":
            lock_postgres(conn)
        waited = time.monotonic() - started
        before = status(conn, script_location=script_location)
        if before.state == "unknown":
            raise before.error()
        adopted = False
        created: tuple[str, ...] = ()
        if before.state == "unversioned":
            created = adopt(conn, before, script_location=script_location)
            adopted = True
        if not (target == "head" and before.ok):
            command.upgrade(alembic_config(conn, script_location=script_location), target)
        after = status(conn, script_location=script_location)
    return UpgradeResult(before, after, adopted, created, waited)


def adopt(conn: Connection, found: SchemaStatus, *, script_location: Path | None = None) -> tuple[str, ...]:
    """Stamp a database made by ``create_all`` before migrations as the baseline revision, after
    checking its tables match the baseline's; returns the on-demand tables it had to create.
    Raises :class:`~ebaydash.errors.SchemaMismatch` when they do not match (nothing is changed)."""
    module = script_directory(script_location).get_revision(BASELINE).module
    baseline: MetaData = module.metadata
    on_demand = set(getattr(module, "CREATED_ON_DEMAND", ()))
    present = set(found.tables) & set(baseline.tables)
    missing = [name for name in baseline.tables if name not in present]
    unexpected_missing = [name for name in missing if name not in on_demand]
    if unexpected_missing:
        raise SchemaMismatch(
            "This database holds only some of ebaydash's tables (present: "
            f"{', '.join(sorted(present))}; missing: {', '.join(unexpected_missing)}), so it cannot be "
            "adopted: it was not made by ebaydash, or an earlier setup stopped half way. Point "
            "EBAYDASH_DATABASE_URL at an empty database (or restore a backup) and start again."
        )
    differences = compare(conn, baseline, tables=sorted(present))
    if differences:
        raise SchemaMismatch(
            "This database's ebaydash tables differ from the ones ebaydash made before migrations, "
            f"so they cannot be adopted automatically: {'; '.join(differences)}. Fix these by hand "
            f"(or restore a backup), then run `{UPGRADE_COMMAND}` again."
        )
    if missing:
        baseline.create_all(conn, tables=[baseline.tables[name] for name in missing], checkfirst=False)
    command.stamp(alembic_config(conn, script_location=script_location), BASELINE)
    log.info("adopted a database made before migrations as revision %s", BASELINE)
    return tuple(missing)


def check(db: Database, *, script_location: Path | None = None) -> CheckResult:
    """The database's status and, when it is at the newest revision, any difference between its
    tables and the code's (a hand-made change, a failed manual fix)."""
    with db.connect() as conn:
        found = status(conn, script_location=script_location)
        if not found.ok or script_location is not None:
            return CheckResult(found)
        return CheckResult(found, tuple(compare(conn, schema.metadata)))


def revision(db: Database, message: str, *, autogenerate: bool = False) -> list[Path]:
    """Write a new revision file (for developers; the database must be at the head to
    autogenerate from the difference between it and ebaydash.db.schema). Revision ids count up:
    0001, 0002, …"""
    numbers = [int(r.revision) for r in script_directory().walk_revisions() if r.revision.isdigit()]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "change"
    with _IN_PROCESS, db.transaction() as conn:
        written = command.revision(
            alembic_config(conn), message=message, autogenerate=autogenerate, rev_id=rev_id
        )
    _script.cache_clear()
    scripts = written if isinstance(written, list) else [written]
    paths = [Path(s.path) for s in scripts if s is not None]
    log.debug("wrote revision %s (%s): %s", rev_id, slug, paths)
    return paths


def lock_postgres(conn: Connection) -> None:
    """Take the migration lock for the rest of ``conn``'s transaction: every other replica waits
    here (up to the statement limit), then finds the work done."""
    conn.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))


# -- the locks ------------------------------------------------------------------------------------

# Alembic's `op` and `context` are module-wide proxies to the one running environment, so two
# threads of a process must never run migrations at the same time (their statements would go to
# each other's connections). Held around every Alembic command; the database locks below
# serialise processes.
_IN_PROCESS = threading.RLock()


@contextmanager
def _migration_lock(db: Database, timeout_s: float) -> Iterator[None]:
    """SQLite: an exclusive flock on the database's folder (Postgres locks inside the
    transaction instead). Waits at most ``timeout_s``."""
    path = db.engine.url.database
    if db.backend != "sqlite" or not path or path == ":memory:":
        yield
        return
    folder = os.open(Path(path).resolve().parent, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(
                        f"Another process has been migrating the database for over {timeout_s:g} s. "
                        "Please try again once it has finished."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(folder, fcntl.LOCK_UN)
    finally:
        os.close(folder)
