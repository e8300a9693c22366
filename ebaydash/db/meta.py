"""The ``meta`` table: facts about the database as a whole, one row per key.

- ``demo_loaded_on``: the day (ISO date) the demo data was last loaded;
- ``demo_pristine``: ``yes`` while the database holds the demo only. A seller's import or a
  synthetic set sets it to ``no`` in its own transaction, and the demo is then never reloaded.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from ebaydash.db.schema import meta

DEMO_LOADED_ON = "demo_loaded_on"
DEMO_PRISTINE = "demo_pristine"


def get_meta(conn: Connection, key: str) -> str | None:
    value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return None if value is None else str(value)


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(delete(meta).where(meta.c.key == key))
    conn.execute(insert(meta).values(key=key, value=value))


def mark_not_pristine(conn: Connection) -> None:
    """The database now holds data that is not the demo's: never reload the demo over it."""
    set_meta(conn, DEMO_PRISTINE, "no")
