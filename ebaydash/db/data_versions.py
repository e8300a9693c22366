"""Each account's data version: bumped in the transaction of every write to the account's data.

The cache puts the version into every key of the account (see :mod:`ebaydash.cache.versions`),
so committed data and its invalidation are one fact, kept by the database: a process that wrote
cannot die, or lose Redis, between the two. Readers learn the versions with :func:`read_all`,
one small statement (one row per account) that the cache repeats at most once a second.

A version only grows: :func:`bump` adds one; :func:`restart` (after a bulk load that may recreate
accounts under their old ids, such as the demo's daily reload) moves every version to at least
the current time in milliseconds, so a recreated account never meets keys of its former self.
"""

from __future__ import annotations

import time

from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection

from ebaydash.db import scope
from ebaydash.db.engine import Database
from ebaydash.db.schema import accounts

__all__ = ["bump", "read_all", "restart"]


def bump(conn: Connection, account_id: int) -> None:
    """Add one to the version of account ``account_id``, inside the caller's transaction (the
    one that writes the data). Takes the account row's lock until that transaction ends."""
    conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(data_version=accounts.c.data_version + 1)
    )


def restart(conn: Connection) -> None:
    """Move every account's version to ``max(version + 1, now in ms)``, inside the caller's
    transaction (a bulk load's)."""
    now_ms = int(time.time() * 1000)
    nxt = accounts.c.data_version + 1
    conn.execute(update(accounts).values(data_version=case((nxt > now_ms, nxt), else_=now_ms)))


def read_all(db: Database, *, timeout_ms: int | None = None) -> dict[int, int]:
    """Every account's data version: ``{account id: version}``, within ``timeout_ms`` (default:
    the statement limit). Raises :class:`~ebaydash.errors.DatabaseError` as any read does."""
    # every account's: read by a background thread for the whole process, whoever is viewing
    with scope.all_accounts(), db.connect(timeout_ms=timeout_ms) as conn:
        rows = conn.execute(select(accounts.c.id, accounts.c.data_version)).all()
    return {int(account_id): int(version) for account_id, version in rows}
