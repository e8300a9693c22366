"""The Postgres driver's own cursor, for what SQLAlchemy does not expose (COPY, array
parameters), inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

__all__ = ["cursor"]


@contextmanager
def cursor(conn: Connection) -> Iterator[Any]:
    """A cursor on the connection's own psycopg connection, inside the same transaction.

    psycopg's errors raised through it are wrapped as SQLAlchemy's (as its own cursor would), so
    the gateway names their cause like any other statement's (a full disk during a COPY, say)
    rather than letting a driver exception through."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as raw:  # type: ignore[union-attr]
            yield raw
    except dbapi.Error as exc:
        raise sa_exc.DBAPIError.instance(
            None, None, exc, dbapi.Error, dialect=conn.dialect, ismulti=False
        ) from exc
