"""The exception tree. Pages show ``str(error)`` of any :class:`EbaydashError` to the user,
so every message is written for a seller or a manager, not for a developer.

    EbaydashError
    ├── ConfigError            a malformed EBAYDASH_* variable
    ├── InvalidInput           bad input from a user (filters, cursors, files)
    │   └── InvalidCursor      a tampered, truncated or stale page cursor
    ├── NotFound               an account or order that does not exist
    ├── DatabaseError
    │   ├── DatabaseUnavailable   the database cannot be reached
    │   └── QueryTimeout          a statement ran past its time limit
    └── ImportFailed           the database refused an import's rows; nothing was written
                               (problems in the files come back in the ImportReport instead)
"""

from __future__ import annotations


class EbaydashError(Exception):
    """Base class: the message is safe and useful to show in the UI."""


class ConfigError(EbaydashError):
    pass


class InvalidInput(EbaydashError):
    pass


class InvalidCursor(InvalidInput):
    pass


class NotFound(EbaydashError):
    pass


class DatabaseError(EbaydashError):
    pass


class DatabaseUnavailable(DatabaseError):
    pass


class QueryTimeout(DatabaseError):
    pass


class ImportFailed(EbaydashError):
    pass
