"""Bulk loading: COPY on Postgres, executemany on SQLite. Never row by row through the ORM.

Frames carry explicit ids (the sample data and the synthetic seed assign them), so parents and
children load without a round trip per row; Postgres sequences are moved past them afterwards.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from ebaydash.db.schema import TABLES, meta

log = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 200_000


def next_ids(conn: Connection) -> dict[str, int]:
    """For each table, the first id not yet used."""
    result = {}
    for table in TABLES:
        current = conn.execute(select(func.max(table.c.id))).scalar()
        result[table.name] = int(current or 0) + 1
    return result


def load_frames(conn: Connection, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Insert every frame into the table of the same name, in dependency order, inside the caller's
    transaction. Returns the row count per table."""
    counts: dict[str, int] = {}
    for table in TABLES:
        frame = frames.get(table.name)
        if frame is None or frame.empty:
            continue
        columns = [c.name for c in table.columns if c.name in frame.columns]
        bulk_insert(conn, table, frame[columns])
        counts[table.name] = len(frame)
    if conn.dialect.name == "postgresql":
        reset_sequences(conn)
    return counts


def bulk_insert(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    if conn.dialect.name == "postgresql":
        _copy_frame(conn, table, frame)
    else:
        records = frame.to_dict(orient="records")
        for start in range(0, len(records), 50_000):
            conn.execute(insert(table), [_clean(r) for r in records[start : start + 50_000]])


def _clean(record: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): (None if _is_missing(v) else v) for k, v in record.items()}


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _copy_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """COPY a frame as CSV text: the fastest way into Postgres from Python."""
    driver = conn.connection.driver_connection
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    sql = f"COPY \"{table.name}\" ({columns}) FROM STDIN WITH (FORMAT csv, NULL '')"
    with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for start in range(0, len(frame), COPY_CHUNK_ROWS):
            buffer = io.StringIO()
            chunk = frame.iloc[start : start + COPY_CHUNK_ROWS]
            chunk.to_csv(buffer, header=False, index=False, date_format="%Y-%m-%d %H:%M:%S.%f%z")
            copy.write(buffer.getvalue())


def reset_sequences(conn: Connection) -> None:
    for table in TABLES:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
            )
        )


def delete_all(conn: Connection, tables: Iterable[Table] = TABLES) -> None:
    for table in reversed(tuple(tables)):
        conn.execute(delete(table))


def get_meta(conn: Connection, key: str) -> str | None:
    value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
    return None if value is None else str(value)


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(delete(meta).where(meta.c.key == key))
    conn.execute(insert(meta).values(key=key, value=value))
