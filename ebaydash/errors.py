"""The exception tree. Pages show ``str(error)`` of any :class:`EbaydashError` to the user,
so every message is written for a seller or a manager, not for a developer: it names the cause
and, where there is one, the fix.

    EbaydashError
    ├── ConfigError                a malformed EBAYDASH_* variable
    │   └── UnsupportedDatabase    EBAYDASH_DATABASE_URL names a database or driver we do not support
    ├── InvalidInput               bad input from a user (filters, cursors, files)
    │   └── InvalidCursor          a tampered, truncated or stale page cursor
    ├── NotFound                   an account or order that does not exist
    ├── NotAllowed                 the signed-in viewer has no grant for this account or page
    ├── DatabaseError              the database refused or failed an operation
    │   ├── DatabaseUnavailable    the database cannot be reached (connection-level failures only)
    │   │   └── DatabaseUnresponsive  connected, but no answer within the time limit (frozen server,
    │   │                             network black hole): the client gave up on the socket
    │   ├── LoginRefused           the server answered but refused the login (database, role, password)
    │   ├── QueryCancelled         the server cancelled a statement (an administrator, a shutdown)
    │   │   └── QueryTimeout       a statement ran past its time limit
    │   ├── SchemaError            the tables are not the ones this version of ebaydash needs
    │   │   ├── SchemaMissing      no tables yet, or a table is missing
    │   │   ├── SchemaOutdated     an older schema revision (or tables made before migrations)
    │   │   ├── SchemaTooNew       a revision this version of ebaydash does not know
    │   │   └── SchemaMismatch     tables that exist only in part, or differ: cannot be adopted
    │   ├── PermissionDenied       the database role (or the OS user, for SQLite) may not use a table
    │   ├── ReadOnlyDatabase       writes refused: read-only transaction, standby, read-only file
    │   └── DiskFull               the database's disk (or SQLite's page limit) is full
    └── ImportFailed               the database refused an import's rows; nothing was written
                                   (problems in the files come back in the ImportReport instead)

The database errors are raised by :mod:`ebaydash.db.engine` (which classifies the driver's error:
psycopg's SQLSTATE, sqlite3's error name and message) and :mod:`ebaydash.db.migrations`.
"""

from __future__ import annotations

from ebaydash.redaction import redact

#: The command that brings a database's schema to the current revision (named in messages).
UPGRADE_COMMAND = "ebaydash db upgrade"


# ``extra`` of a log record about an error that is also raised to the caller: the server's log keeps
# it, the command line (which prints the raised error) leaves it out, so nothing is said twice.
RAISED_TOO: dict[str, object] = {"ebaydash_raised_too": True}


class EbaydashError(Exception):
    """Base class: the message is safe and useful to show in the UI. ``str()`` passes it through
    :func:`ebaydash.redaction.redact`, so no password reaches a page, stderr or a log through one."""

    def __str__(self) -> str:
        return redact(super().__str__())


class ConfigError(EbaydashError):
    pass


class UnsupportedDatabase(ConfigError):
    """``EBAYDASH_DATABASE_URL`` names a database or a driver ebaydash cannot use (``mysql://``,
    ``postgresql+asyncpg://``…). Raised when the settings are read, before anything connects."""


class InvalidInput(EbaydashError):
    pass


class InvalidCursor(InvalidInput):
    pass


class NotFound(EbaydashError):
    pass


class NotAllowed(EbaydashError):
    """The viewer has no grant for what was asked: an account (forged through the URL, session
    state, a cursor or a direct call), a system page, the grants. Raised by the services before
    they touch the cache or the database; the message is the same whether or not the account
    exists, so it tells a stranger nothing."""


class DatabaseError(EbaydashError):
    """The database failed an operation; subclasses name the cause."""


class DatabaseUnavailable(DatabaseError):
    """Connection-level failure: refused, reset, timed out, the server starting or stopping.
    Transient by nature, so the message says the dashboard recovers by itself."""


class DatabaseUnresponsive(DatabaseUnavailable):
    """A statement got no answer within its time limit plus a margin, so the client closed the
    connection itself: the server is frozen or the network drops packets. Postgres's own
    ``statement_timeout`` cannot help there, since a frozen server never acts on it."""


class LoginRefused(DatabaseError):
    """The server answered and refused the connection: the database, the role or the password in
    ``EBAYDASH_DATABASE_URL`` is wrong. Not transient, so the message names the setting to fix."""


class QueryCancelled(DatabaseError):
    """The server cancelled a statement (SQLSTATE 57014) for a reason other than its time limit."""


class QueryTimeout(QueryCancelled):
    """A statement ran past its time limit and was stopped."""


class SchemaError(DatabaseError):
    """The database's tables are not the ones this version of ebaydash needs."""


class SchemaMissing(SchemaError):
    """No ebaydash tables at all (a new database), or one table missing."""


class SchemaOutdated(SchemaError):
    """The schema is at an older revision than this version of ebaydash (or was made before
    migrations existed) and automatic migration is off."""


class SchemaTooNew(SchemaError):
    """The database is at a revision this version of ebaydash does not know: a newer version
    migrated it. Running the older code against it could corrupt data, so it refuses."""


class SchemaMismatch(SchemaError):
    """The tables exist only in part or differ from every known revision, so they cannot be
    adopted or upgraded automatically."""


class PermissionDenied(DatabaseError):
    """The database role (Postgres) or the operating-system user (SQLite file) lacks a privilege.

    ``role`` and ``target`` (a table, schema or file) are also given as attributes."""

    def __init__(self, message: str, *, role: str | None = None, target: str | None = None) -> None:
        super().__init__(message)
        self.role = role
        self.target = target


class ReadOnlyDatabase(DatabaseError):
    """A write was refused because the database is read-only (a read-only transaction or
    database, a hot standby, a read-only SQLite file or directory)."""


class DiskFull(DatabaseError):
    """The database ran out of disk space (or SQLite reached its page limit)."""


class ImportFailed(EbaydashError):
    pass
