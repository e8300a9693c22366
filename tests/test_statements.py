"""Every SQL statement reaches the recorder through SQLAlchemy's events; slow ones by shape."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from ebaydash.context import build_context
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import orders
from ebaydash.errors import EbaydashError
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.statements import normalise, shape_id, verb, watch
from ebaydash.settings import Settings


@pytest.mark.parametrize(
    ("statement", "shape"),
    [
        ("SELECT * FROM orders WHERE id = 42", "SELECT * FROM orders WHERE id = ?"),
        ("select a from t where b = 'it''s' and c = -3.5e2", "select a from t where b = ? and c = ?"),
        ("SELECT 1 FROM t WHERE id IN (1, 2, 3)", "SELECT ? FROM t WHERE id IN (...)"),
        ("SELECT 1 FROM t WHERE id IN (%(p1)s, %(p2)s)", "SELECT ? FROM t WHERE id IN (...)"),
        ("SELECT x FROM t WHERE y = ? AND z = :name", "SELECT x FROM t WHERE y = ? AND z = ?"),
        ("SELECT x FROM t WHERE y = $1 LIMIT 10 OFFSET 20", "SELECT x FROM t WHERE y = ? LIMIT ? OFFSET ?"),
        ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", "INSERT INTO t (a, b) VALUES (...)"),
        (
            "SELECT x::text, t1.col2 FROM tab2 t1 -- note 5\n WHERE  a=1;",
            "SELECT x::text, t1.col2 FROM tab2 t1 WHERE a=?",
        ),
        ("SELECT /* 7 */ $$lit 'x'$$, E'a\\b'", "SELECT ?, ?"),
    ],
)
def test_normalise_takes_out_every_literal(statement: str, shape: str) -> None:
    assert normalise(statement) == shape


def test_same_query_other_values_share_a_shape() -> None:
    a = normalise("SELECT * FROM orders WHERE account_id = 1 AND id IN (5, 6)")
    b = normalise("SELECT * FROM orders WHERE account_id = 999 AND id IN (7)")
    # a single-element IN keeps its parentheses around one placeholder
    assert a.replace("(...)", "(?)") == b
    assert shape_id(a) == shape_id(
        normalise("SELECT * FROM orders WHERE account_id = 2 AND id IN (8, 9, 10)")
    )
    assert len(normalise("SELECT " + "a, " * 2000 + "b")) <= 2000


def test_verb() -> None:
    assert verb("  SELECT 1") == "select"
    assert verb("WITH x AS (SELECT 1) SELECT * FROM x") == "with"
    assert verb("(SELECT 1)") == "other"


def test_every_statement_is_recorded_on_both_backends(db: Database) -> None:
    recorder = MetricsRecorder(slow_query_ms=1e9)
    watch(db.engine, recorder, slow_query_ms=1e9)
    for _ in range(3):
        db.fetch_all("count_orders", select(func.count()).select_from(orders))
    snap = recorder.snapshot(60)
    assert snap.count("sql", "select") == 3
    assert snap.statements.errors == 0
    assert snap.slow_queries == ()


def test_slow_statements_show_their_shape_without_values(db: Database) -> None:
    recorder = MetricsRecorder()
    watch(db.engine, recorder, slow_query_ms=0.0)  # everything counts as slow
    for account in (1, 2, 3):
        db.fetch_all(
            "orders_of", select(orders.c.id).where(orders.c.account_id == account, orders.c.status == "paid")
        )
    slow = recorder.snapshot(60).slow_queries
    shapes = [q for q in slow if "FROM orders" in q.shape]
    assert len(shapes) == 1, slow
    assert shapes[0].count == 3
    assert "paid" not in shapes[0].shape and "1" not in shapes[0].shape.replace("?", "")
    assert shapes[0].worst_ms >= shapes[0].mean_ms > 0


def test_failed_statements_count_as_errors(db: Database) -> None:
    recorder = MetricsRecorder()
    watch(db.engine, recorder, slow_query_ms=1e9)
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error type differs per backend
        db.fetch_all("broken", text("SELECT no_such_column FROM orders"))
    snap = recorder.snapshot(60)
    assert snap.statements.errors == 1


def test_build_context_watches_statements(tmp_path: object) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/ctx.sqlite3", slow_query_ms=0.0001)
    ctx = build_context(settings, start_sampler=False)
    try:
        ctx.db.fetch_all("probe", text("SELECT 1 WHERE 2 = 2"))
        snap = ctx.recorder.snapshot(60)
        assert snap.count("sql", "select") >= 1
        assert snap.count("query", "probe") == 1
        assert any(q.shape == "SELECT ? WHERE ? = ?" for q in snap.slow_queries)
    finally:
        ctx.close()


def test_statement_timeout_is_recorded_as_a_slow_failure(tmp_path: object) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/slow.sqlite3", slow_query_ms=10)
    database = Database(make_engine(settings), timeout_ms=50)
    recorder = MetricsRecorder()
    watch(database.engine, recorder, slow_query_ms=10)
    runaway = text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) "
        "SELECT count(*) FROM c"
    )
    try:
        with pytest.raises(EbaydashError):
            database.fetch_all("runaway", runaway)
    finally:
        database.dispose()
    snap = recorder.snapshot(60)
    assert snap.statements.errors == 1
    (slow,) = snap.slow_queries
    assert "WITH RECURSIVE" in slow.shape and "100000000" not in slow.shape
