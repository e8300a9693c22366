"""What went wrong, from the driver's own error: SQLSTATE (psycopg) or error name and text (sqlite3).

SQLAlchemy wraps every driver error in a few generic classes (``OperationalError`` covers a refused
connection, a full disk and a cancelled query alike), so :func:`classify` looks at the driver's
error underneath and returns the :mod:`ebaydash.errors` exception that names the cause and the fix:

==========================  ===========================================  ============================
cause                       Postgres (SQLSTATE, psycopg)                 SQLite (sqlite3)
==========================  ===========================================  ============================
cannot be reached           08xxx, 57P01-57P03, 53300, no SQLSTATE       "unable to open database
                            (libpq: refused, timed out, closed)          file" (not a permission)
is not answering            the client's deadline cut the socket         —
login refused               28000, 28P01, 3D000 (or their texts)         —
query timed out/cancelled   57014 ("statement timeout" or other)         "interrupted" (progress
                                                                         handler)
table missing               42P01                                        "no such table"
schema differs              42703                                        "no such column", "has no
                                                                         column named"
permission denied           42501                                        can't open: file or folder
                                                                         not accessible to the user
read-only                   25006                                        SQLITE_READONLY*
disk full                   53100                                        SQLITE_FULL
==========================  ===========================================  ============================

Other errors (a unique key violated, bad data) are not classified: callers handle those.
Messages never contain the database URL, so no password can leak through them.
"""

from __future__ import annotations

import os
import pwd
import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL

from ebaydash.db.watchdog import MARGIN_S
from ebaydash.errors import (
    UPGRADE_COMMAND,
    DatabaseError,
    DatabaseUnavailable,
    DatabaseUnresponsive,
    DiskFull,
    LoginRefused,
    PermissionDenied,
    QueryCancelled,
    QueryTimeout,
    ReadOnlyDatabase,
    SchemaMismatch,
    SchemaMissing,
)

RECOVERS = "The dashboard will recover by itself once it is back; please try again in a moment."


def classify(
    exc: sa_exc.DBAPIError,
    *,
    url: URL,
    timeout_ms: int,
    unresponsive: bool = False,
) -> DatabaseError | None:
    """The ebaydash exception for a driver error raised while talking to ``url``, or None when it
    is not a fault of the database (an integrity or data error the caller handles).

    ``timeout_ms`` is the call's time limit (for the messages); ``unresponsive`` says the
    client's watchdog cut the connection (see :mod:`ebaydash.db.watchdog`)."""
    original = exc.orig
    if unresponsive:
        return DatabaseUnresponsive(
            "The database is not answering: a query got no reply within "
            f"{timeout_ms / 1000 + MARGIN_S:g} s (its {timeout_ms / 1000:g} s limit + {MARGIN_S:g} s), "
            "so the connection was closed. The server may be frozen or overloaded, or the network "
            f"drops packets. {RECOVERS}"
        )
    if isinstance(original, sqlite3.Error):
        return _classify_sqlite(original, url=url, timeout_ms=timeout_ms)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None or _is_psycopg(original):
        return _classify_postgres(exc, original, sqlstate, url=url, timeout_ms=timeout_ms)
    if isinstance(exc, sa_exc.OperationalError):
        return DatabaseUnavailable(f"The database cannot be reached right now. {RECOVERS}")
    return None


def timeout_error(timeout_ms: int) -> QueryTimeout:
    return QueryTimeout(
        f"This query took longer than its {timeout_ms / 1000:g} s limit and was stopped. "
        "Try a shorter date range or a narrower filter."
    )


def _is_psycopg(error: Any) -> bool:
    return type(error).__module__.startswith("psycopg")


# -- Postgres -------------------------------------------------------------------------------------

_RELATION = re.compile(r'relation "([^"]+)" does not exist')
_RLS_TABLE = re.compile(r'policy for table "([^"]+)"')
_DENIED = re.compile(r"permission denied for (\w+) \"?([^\s\"]+)\"?")
_NO_DATABASE = re.compile(r'database "([^"]+)" does not exist')
_NO_ROLE = re.compile(r'role "([^"]+)" does not exist')


def _classify_postgres(
    exc: sa_exc.DBAPIError, original: Any, sqlstate: str | None, *, url: URL, timeout_ms: int
) -> DatabaseError | None:
    text = _primary_message(original)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if sqlstate is None:
        # libpq reports failures to connect, and connections that broke, without a SQLSTATE
        refused = _login_refused(text, url)
        if refused is not None:
            return refused
        if (
            not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
            and not exc.connection_invalidated
        ):
            return None
        return _unreachable(_connection_detail(text, where))
    if sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03", "53300"}:
        return _unreachable(_connection_detail(text, where, sqlstate))
    if sqlstate in {"28000", "28P01", "3D000"}:
        return _login_refused(text, url) or LoginRefused(
            "The database server refused the login. Check the database, user and password in "
            "EBAYDASH_DATABASE_URL."
        )
    if sqlstate == "57014":
        if "statement timeout" in text:
            return timeout_error(timeout_ms)
        return QueryCancelled(
            "The database cancelled this query (an administrator or a maintenance job stopped it). "
            "Please try again."
        )
    if sqlstate == "42P01":
        match = _RELATION.search(text)
        return _missing_table(match.group(1) if match else None)
    if sqlstate == "42703":
        return SchemaMismatch(
            f"The database's tables differ from what this version of ebaydash expects ({text}). "
            f"Run `ebaydash db check` to compare them, and `{UPGRADE_COMMAND}` to bring them up to date."
        )
    if sqlstate == "42501" and "row-level security" in text:
        # "new row violates row-level security policy for table …": a write into an account
        # outside the caller's scope (ebaydash.db.scope), refused by migration 0006's policy
        table = _RLS_TABLE.search(text)
        return PermissionDenied(
            "Not allowed: that row belongs to an account you have no access to (refused by the "
            f"database's row-level security{f' on {table.group(1)}' if table else ''}). Nothing was written."
        )
    if sqlstate == "42501":
        role = _role(original, url)
        match = _DENIED.search(text)
        kind, target = (match.group(1), match.group(2)) if match else ("table", None)
        return _permission_denied(role, kind, target)
    if sqlstate == "25006":
        return ReadOnlyDatabase(
            "The database refused to write: it is read-only (a read-only database or transaction "
            "setting, or a standby server). Reading still works. Point EBAYDASH_DATABASE_URL at the "
            "primary server, or turn off default_transaction_read_only for this database."
        )
    if sqlstate == "53100":
        return DiskFull(
            f"The database server at {where} has run out of disk space, so nothing can be written "
            "(reading still works). Free space on the server or grow its volume; the dashboard "
            "carries on once there is room."
        )
    return None


def _unreachable(detail: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"The database cannot be reached right now ({detail}). {RECOVERS}")


def _primary_message(original: Any) -> str:
    diag = getattr(original, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return str(primary or original).strip()


def _connection_detail(text: str, where: str, sqlstate: str | None = None) -> str:
    lowered = text.lower()
    if sqlstate == "57P03" or "starting up" in lowered or "recovery mode" in lowered:
        return f"the server at {where} is starting up"
    if sqlstate in {"57P01", "57P02"} or "shutting down" in lowered or "terminating connection" in lowered:
        return f"the server at {where} is shutting down or restarting"
    if sqlstate == "53300" or "too many clients" in lowered or "remaining connection slots" in lowered:
        return f"the server at {where} has no free connection slot (max_connections)"
    if "refused" in lowered:
        return f"nothing accepts connections at {where}"
    if "timeout expired" in lowered or "timed out" in lowered:
        return f"the server at {where} did not answer in time"
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return f"the host name of {where} is unknown"
    if "closed the connection" in lowered or "consuming input failed" in lowered or "eof" in lowered:
        return f"the connection to {where} was closed"
    return f"connection to {where} failed"


def _login_refused(text: str, url: URL) -> LoginRefused | None:
    lowered = text.lower()
    match = _NO_DATABASE.search(text)
    if match:
        name = match.group(1)
        return LoginRefused(
            f'The database server refused the connection: the database "{name}" does not exist. '
            f"Create it (e.g. `createdb {name}`) or correct the database name in EBAYDASH_DATABASE_URL."
        )
    match = _NO_ROLE.search(text)
    if match:
        return LoginRefused(
            f'The database server refused the connection: the role "{match.group(1)}" does not exist. '
            "Create it or correct the user name in EBAYDASH_DATABASE_URL."
        )
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return LoginRefused(
            f'The database server refused the password of the role "{url.username or _os_user()}". '
            "Correct the password in EBAYDASH_DATABASE_URL."
        )
    if "pg_hba.conf" in lowered:
        return LoginRefused(
            "The database server does not allow this connection (no pg_hba.conf entry for this host, "
            "role and database). Ask its administrator to allow it."
        )
    return None


def _role(original: Any, url: URL) -> str:
    pgconn = getattr(original, "pgconn", None)
    user = getattr(pgconn, "user", None) if pgconn is not None else None
    if isinstance(user, bytes) and user:
        return user.decode(errors="replace")
    return url.username or _os_user()


def _permission_denied(role: str, kind: str, target: str | None) -> PermissionDenied:
    if kind == "schema":
        return PermissionDenied(
            f'The database role "{role}" may not create or use tables in the schema "{target}" '
            f"(permission denied). Run `{UPGRADE_COMMAND}` as the schema's owner, or "
            f"`GRANT USAGE, CREATE ON SCHEMA {target} TO {role}`.",
            role=role,
            target=target,
        )
    what = f'the {kind} "{target}"' if target else "a table"
    return PermissionDenied(
        f'The database role "{role}" is not allowed to use {what} (permission denied). Grant it '
        f"access, e.g. `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}` "
        f"and `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}`, or connect as the tables' owner.",
        role=role,
        target=target,
    )


def _missing_table(table: str | None) -> SchemaMissing:
    what = f'The table "{table}" does not exist' if table else "A table ebaydash needs does not exist"
    return SchemaMissing(
        f"{what} in this database: its schema is missing or incomplete. Run `{UPGRADE_COMMAND}` to "
        "create it (or leave EBAYDASH_AUTO_MIGRATE on and restart: the app then does it on start)."
    )


# -- SQLite ---------------------------------------------------------------------------------------

_NO_TABLE = re.compile(r"no such table: (\S+)")


def _classify_sqlite(original: sqlite3.Error, *, url: URL, timeout_ms: int) -> DatabaseError | None:
    text = str(original)
    name = getattr(original, "sqlite_errorname", "") or ""
    path = url.database or ":memory:"
    if "interrupted" in text:
        return timeout_error(timeout_ms)
    match = _NO_TABLE.search(text)
    if match:
        return _missing_table(match.group(1))
    if "no such column" in text or "has no column named" in text:
        return SchemaMismatch(
            f"The database's tables differ from what this version of ebaydash expects ({text}). "
            f"Run `ebaydash db check` to compare them, and `{UPGRADE_COMMAND}` to bring them up to date."
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return ReadOnlyDatabase(
            f'The database file {path} is read-only for the user "{_os_user()}": the file, or its '
            "folder (which must hold the -wal and -shm files beside it), cannot be written. Make both "
            "writable for that user, or set EBAYDASH_DATA_DIR (or EBAYDASH_DATABASE_URL) to a place it "
            "can write."
        )
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return DiskFull(
            f"The disk holding the database file {path} is full (or SQLite reached its page limit), "
            "so nothing can be written (reading still works). Free space there; the dashboard carries "
            "on once there is room."
        )
    if name == "SQLITE_CANTOPEN" or "unable to open database file" in text:
        if not _accessible(path):
            user = _os_user()
            return PermissionDenied(
                f'The database file {path} cannot be opened by the user "{user}" (permission denied). '
                "Give that user read and write access to the file and its folder, or set "
                "EBAYDASH_DATA_DIR (or EBAYDASH_DATABASE_URL) to a place it can write.",
                role=user,
                target=path,
            )
        return DatabaseUnavailable(
            f"The database file {path} cannot be opened: check that it is a file (not a folder) on "
            f"a disk that is mounted. {RECOVERS}"
        )
    if "database is locked" in text:
        return DatabaseUnavailable(
            "The database file is locked by another writer and stayed locked past the time limit. "
            "Please try again in a moment."
        )
    if isinstance(original, sqlite3.OperationalError):
        return DatabaseError(f"The database refused this operation: {text}.")
    return None


def _accessible(path: str) -> bool:
    """Whether this process may read and write the SQLite file and create files beside it."""
    file = Path(path)
    folder = file.parent
    if not os.access(folder, os.X_OK | os.W_OK):
        return False
    return not file.exists() or os.access(file, os.R_OK | os.W_OK)


def _os_user() -> str:
    """The name of the user this process runs as (its effective uid, not $USER)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # no name for this uid (a container)
        return f"uid {os.geteuid()}"
