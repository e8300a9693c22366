"""A new connection to a SQLite file that another connection is writing (a new database being
migrated by the first of several threads) waits for WAL mode instead of failing at once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from ebaydash.db.engine import make_engine
from ebaydash.settings import Settings


def _writer_for(path: Path, seconds: float) -> threading.Thread:
    """A connection in the file's first (rollback-journal) mode holding a write lock for
    ``seconds``, as a migration does."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")

    def release() -> None:
        holder.execute("COMMIT")
        holder.close()

    return threading.Timer(seconds, release)


def test_a_connection_waits_for_another_writer_before_switching_to_wal(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    writer = _writer_for(path, 0.3)
    writer.start()
    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1  # after the commit
    finally:
        writer.join()
        engine.dispose()


def test_negative_control_sqlite_refuses_the_switch_at_once_while_another_connection_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new.sqlite3"
    writer = _writer_for(path, 0.3)
    writer.start()
    try:
        conn = sqlite3.connect(path, timeout=5)  # even with a busy timeout
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
    finally:
        writer.join()
