"""The ``meta`` table: facts about the database as a whole, one row per key.

- ``demo_loaded_on``: the day (ISO date) the demo data was last loaded;
- ``demo_pristine``: ``yes`` while the database holds the demo only. A seller's import or a
  synthetic set sets it to ``no`` in its own transaction, and the demo is then never reloaded.

Writers touch a row here only when its value changes, and never by DELETE + INSERT: every import
used to rewrite ``demo_pristine`` that way, so two overlapping imports (any accounts) collided on
the primary key. Now only the first import into a demo database writes it; later ones read it.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ebaydash.db.schema import meta

DEMO_LOADED_ON = "demo_loaded_on"
DEMO_PRISTINE = "demo_pristine"


def get_meta(conn: Connection, key: str) -> str | None:
    value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return None if value is None else str(value)


def set_meta(conn: Connection, key: str, value: str) -> None:
    """Set ``key`` to ``value``: an UPDATE of the row in place, an INSERT when there is none."""
    changed = conn.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount
    if not changed:
        conn.execute(insert(meta).values(key=key, value=value))


def mark_not_pristine(conn: Connection) -> None:
    """The database now holds data that is not the demo's: never reload the demo over it.

    Writes only while the demo is pristine (the first import into a demo database): a database
    without the row never held the demo, so there is nothing to mark. Otherwise no row is
    written, so concurrent imports do not wait on, or collide over, this one global row."""
    conn.execute(update(meta).where(meta.c.key == DEMO_PRISTINE, meta.c.value == "yes").values(value="no"))
