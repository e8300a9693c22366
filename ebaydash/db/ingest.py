"""Bulk loading: COPY on Postgres, executemany on SQLite. Never row by row through the ORM.

Frames carry explicit ids (the sample data and the synthetic seed assign them), so parents and
children load without a round trip per row; Postgres sequences are moved past them afterwards.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Table, and_, delete, func, insert, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from ebaydash.db.schema import TABLES, accounts, customers, meta, order_items, orders, products
from ebaydash.importers.records import OrderRecord

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


# -- importing sellers' orders ------------------------------------------------------------------
#
# One call per import, inside the caller's transaction, so an import is all or nothing. Each order
# is classified against what is stored before anything is written:
#   new       not stored yet                                   -> inserted with its items
#   changed   stored, and a field or an item differs           -> updated, its items replaced
#   same      stored and identical                             -> not touched at all
#   older     stored copy changed more recently than this one  -> kept (an old export never undoes
#             a newer state, e.g. a refund)
# Postgres: COPY into temporary staging tables, then set-based statements (one INSERT … ON CONFLICT
# DO UPDATE … WHERE changed for the orders). SQLite: executemany with ON CONFLICT.

IMPORT_LOCK_CLASS = 0x0EBA1  # advisory lock namespace: one import at a time per account
_ORDER_FIELDS = (
    "customer_id",
    "status",
    "total_amount",
    "refunded_amount",
    "currency",
    "order_date",
    "updated_at",
)
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class UpsertCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0

    @property
    def total(self) -> int:
        return self.imported + self.updated + self.unchanged + self.older


def find_account(conn: Connection, name: str) -> Row[Any] | None:
    """The account called ``name`` (ignoring case and surrounding spaces), if there is one."""
    wanted = " ".join(name.split()).lower()
    return conn.execute(select(accounts).where(func.lower(accounts.c.name) == wanted)).first()


def create_account(
    conn: Connection, *, name: str, ebay_user_id: str, currency: str, timezone: str, marketplace: str
) -> int:
    """A new account; ``ebay_user_id`` gets a numeric suffix if another account already uses it."""
    taken = set(
        conn.execute(
            select(accounts.c.ebay_user_id).where(accounts.c.ebay_user_id.like(f"{ebay_user_id[:56]}%"))
        ).scalars()
    )
    candidate, n = ebay_user_id[:64], 2
    while candidate in taken:
        candidate, n = f"{ebay_user_id[:56]}-{n}", n + 1
    stmt = insert(accounts).values(
        name=" ".join(name.split()),
        ebay_user_id=candidate,
        currency=currency,
        timezone=timezone,
        marketplace=marketplace,
    )
    return int(conn.execute(stmt.returning(accounts.c.id)).scalar_one())


def upsert_orders(
    conn: Connection, account_id: int, records: Sequence[OrderRecord], *, progress: Progress | None = None
) -> UpsertCounts:
    """Insert or update ``records`` (unique by eBay order id) in account ``account_id``, creating
    customers and products as needed, within the caller's transaction."""
    seen: set[str] = set()
    for record in records:
        if record.ebay_order_id in seen:
            raise ValueError(f"order {record.ebay_order_id} appears twice; deduplicate before upserting")
        seen.add(record.ebay_order_id)
    if not records:
        return UpsertCounts()
    report = progress or (lambda _fraction, _step: None)
    if conn.dialect.name == "postgresql":
        return _pg_upsert(conn, account_id, records, report)
    return _sqlite_upsert(conn, account_id, records, report)


# -- Postgres -----------------------------------------------------------------------------------

_PG_STAGING = """
CREATE TEMP TABLE ebaydash_import_orders (
    n integer NOT NULL, ebay_order_id text NOT NULL, buyer text, buyer_email text,
    status text NOT NULL, total_amount numeric(12,2) NOT NULL, refunded_amount numeric(12,2) NOT NULL,
    currency text NOT NULL, order_date timestamptz NOT NULL, updated_at timestamptz NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE ebaydash_import_items (
    order_n integer NOT NULL, position integer NOT NULL, line_item_id text, sku text NOT NULL,
    title text NOT NULL, quantity integer NOT NULL, unit_price numeric(12,2) NOT NULL
) ON COMMIT DROP
"""

_PG_CUSTOMERS = """
INSERT INTO customers (account_id, ebay_username, email)
SELECT DISTINCT ON (buyer) :account_id, buyer, buyer_email
FROM ebaydash_import_orders WHERE buyer IS NOT NULL
ORDER BY buyer, buyer_email NULLS LAST
ON CONFLICT (account_id, ebay_username) DO UPDATE SET email = EXCLUDED.email
WHERE EXCLUDED.email IS NOT NULL AND customers.email IS DISTINCT FROM EXCLUDED.email
"""

_PG_PRODUCTS = """
INSERT INTO products (account_id, sku, title)
SELECT DISTINCT ON (sku) :account_id, sku, title FROM ebaydash_import_items
ORDER BY sku, order_n DESC, position
ON CONFLICT (account_id, sku) DO NOTHING
"""

# Existing orders keep their ids; new ones draw theirs from the sequence now, so their items can
# be inserted with one set-based statement.
_PG_PLAN = """
CREATE TEMP TABLE ebaydash_import_plan ON COMMIT DROP AS
SELECT s.n,
       COALESCE(o.id, nextval(pg_get_serial_sequence('orders', 'id'))) AS order_id,
       c.id AS customer_id,
       CASE
           WHEN o.id IS NULL THEN 'new'
           WHEN s.updated_at < o.updated_at THEN 'older'
           WHEN (o.customer_id, o.status, o.total_amount, o.refunded_amount, o.currency, o.order_date,
                 o.updated_at)
                IS DISTINCT FROM
                (c.id, s.status, s.total_amount, s.refunded_amount, s.currency, s.order_date,
                 s.updated_at)
           THEN 'changed'
           ELSE 'same'
       END AS action
FROM ebaydash_import_orders s
LEFT JOIN orders o ON o.account_id = :account_id AND o.ebay_order_id = s.ebay_order_id
LEFT JOIN customers c ON c.account_id = :account_id AND c.ebay_username = s.buyer
"""

# Orders whose fields are the same but whose lines differ (as multisets) are changed too.
_PG_ITEMS_CHANGED = """
WITH same AS (SELECT n, order_id FROM ebaydash_import_plan WHERE action = 'same'),
staged AS (
    SELECT i.order_n AS n, i.line_item_id, i.sku, i.title, i.quantity, i.unit_price
    FROM ebaydash_import_items i JOIN same ON same.n = i.order_n
),
stored AS (
    SELECT same.n, oi.line_item_id, oi.sku, oi.title, oi.quantity, oi.unit_price
    FROM same JOIN order_items oi ON oi.order_id = same.order_id
),
different AS (
    (SELECT * FROM staged EXCEPT ALL SELECT * FROM stored)
    UNION ALL
    (SELECT * FROM stored EXCEPT ALL SELECT * FROM staged)
)
UPDATE ebaydash_import_plan SET action = 'changed'
WHERE action = 'same' AND n IN (SELECT n FROM different)
"""

_PG_ORDERS = """
INSERT INTO orders (id, account_id, ebay_order_id, customer_id, status, total_amount, refunded_amount,
                    currency, order_date, updated_at)
SELECT p.order_id, :account_id, s.ebay_order_id, p.customer_id, s.status, s.total_amount,
       s.refunded_amount, s.currency, s.order_date, s.updated_at
FROM ebaydash_import_plan p JOIN ebaydash_import_orders s ON s.n = p.n
WHERE p.action IN ('new', 'changed')
ORDER BY s.order_date
ON CONFLICT (account_id, ebay_order_id) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, status = EXCLUDED.status,
    total_amount = EXCLUDED.total_amount, refunded_amount = EXCLUDED.refunded_amount,
    currency = EXCLUDED.currency, order_date = EXCLUDED.order_date, updated_at = EXCLUDED.updated_at
WHERE (orders.customer_id, orders.status, orders.total_amount, orders.refunded_amount, orders.currency,
       orders.order_date, orders.updated_at)
      IS DISTINCT FROM
      (EXCLUDED.customer_id, EXCLUDED.status, EXCLUDED.total_amount, EXCLUDED.refunded_amount,
       EXCLUDED.currency, EXCLUDED.order_date, EXCLUDED.updated_at)
  AND orders.updated_at <= EXCLUDED.updated_at
"""

_PG_DELETE_ITEMS = """
DELETE FROM order_items
WHERE order_id IN (SELECT order_id FROM ebaydash_import_plan WHERE action = 'changed')
"""

_PG_INSERT_ITEMS = """
INSERT INTO order_items (order_id, product_id, line_item_id, sku, title, quantity, unit_price)
SELECT p.order_id, pr.id, i.line_item_id, i.sku, i.title, i.quantity, i.unit_price
FROM ebaydash_import_items i
JOIN ebaydash_import_plan p ON p.n = i.order_n
LEFT JOIN products pr ON pr.account_id = :account_id AND pr.sku = i.sku
WHERE p.action IN ('new', 'changed')
ORDER BY i.order_n, i.position
"""


def _pg_upsert(
    conn: Connection, account_id: int, records: Sequence[OrderRecord], report: Progress
) -> UpsertCounts:
    params = {"account_id": account_id}
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :key)"),
        {"cls": IMPORT_LOCK_CLASS, "key": account_id % 2**31},
    )
    report(0.05, "staging")
    _pg_stage(conn, records)
    report(0.35, "customers and products")
    conn.execute(text(_PG_CUSTOMERS), params)
    conn.execute(text(_PG_PRODUCTS), params)
    report(0.45, "comparing with stored orders")
    conn.execute(text(_PG_PLAN), params)
    conn.execute(text(_PG_ITEMS_CHANGED))
    counts: dict[str, int] = {
        str(action): int(n)
        for action, n in conn.execute(
            text("SELECT action, count(*) FROM ebaydash_import_plan GROUP BY action")
        )
    }
    report(0.6, "writing orders")
    _pg_write_orders(conn, account_id)
    report(0.75, "writing items")
    _pg_replace_items(conn, account_id)
    report(1.0, "done")
    return UpsertCounts(
        imported=int(counts.get("new", 0)),
        updated=int(counts.get("changed", 0)),
        unchanged=int(counts.get("same", 0)),
        older=int(counts.get("older", 0)),
    )


def _pg_stage(conn: Connection, records: Sequence[OrderRecord]) -> None:
    # the joins and the sort below stay in memory; a few statistics are enough for the planner
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    conn.execute(text("SET LOCAL default_statistics_target = 10"))
    for statement in _PG_STAGING.split(";"):
        conn.execute(text(statement))
    driver = conn.connection.driver_connection
    # binary COPY: about three times faster than text for Decimal and datetime values
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(
            "COPY ebaydash_import_orders (n, ebay_order_id, buyer, buyer_email, status, total_amount, "
            "refunded_amount, currency, order_date, updated_at) FROM STDIN WITH (FORMAT binary)"
        ) as copy:
            copy.set_types(_PG_ORDER_TYPES)
            for n, r in enumerate(records):
                copy.write_row(
                    (
                        n,
                        r.ebay_order_id,
                        r.buyer,
                        r.buyer_email,
                        r.status,
                        r.total_amount,
                        r.refunded_amount,
                        r.currency,
                        r.order_date,
                        r.updated_at,
                    )
                )
        with cursor.copy(
            "COPY ebaydash_import_items (order_n, position, line_item_id, sku, title, quantity, unit_price) "
            "FROM STDIN WITH (FORMAT binary)"
        ) as copy:
            copy.set_types(_PG_ITEM_TYPES)
            for n, r in enumerate(records):
                for position, line in enumerate(r.lines):
                    copy.write_row(
                        (n, position, line.line_item_id, line.sku, line.title, line.quantity, line.unit_price)
                    )
    # temporary tables have no statistics until analysed; the planner needs them for hash joins
    conn.execute(text("ANALYZE ebaydash_import_orders"))
    conn.execute(text("ANALYZE ebaydash_import_items"))


_PG_ORDER_TYPES = [
    "int4",
    "text",
    "text",
    "text",
    "text",
    "numeric",
    "numeric",
    "text",
    "timestamptz",
    "timestamptz",
]
_PG_ITEM_TYPES = ["int4", "int4", "text", "text", "text", "int4", "numeric"]


def _pg_write_orders(conn: Connection, account_id: int) -> None:
    conn.execute(text(_PG_ORDERS), {"account_id": account_id})


def _pg_replace_items(conn: Connection, account_id: int) -> None:
    conn.execute(text(_PG_DELETE_ITEMS))
    conn.execute(text(_PG_INSERT_ITEMS), {"account_id": account_id})


# -- SQLite -------------------------------------------------------------------------------------

_SQLITE_CHUNK = 500  # bound parameters per IN list


def _chunks(items: Sequence[Any], size: int = _SQLITE_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_upsert(
    conn: Connection, account_id: int, records: Sequence[OrderRecord], report: Progress
) -> UpsertCounts:
    report(0.05, "customers and products")
    customer_ids = _sqlite_customers(conn, account_id, records)
    product_ids = _sqlite_products(conn, account_id, records)
    report(0.3, "comparing with stored orders")
    plan = _sqlite_plan(conn, account_id, records, customer_ids)
    report(0.5, "writing orders")
    _sqlite_write_orders(conn, account_id, plan)
    report(0.75, "writing items")
    _sqlite_replace_items(conn, plan, product_ids)
    report(1.0, "done")
    actions = [action for action, _id, _rec, _cust in plan]
    return UpsertCounts(
        imported=actions.count("new"),
        updated=actions.count("changed"),
        unchanged=actions.count("same"),
        older=actions.count("older"),
    )


def _sqlite_customers(conn: Connection, account_id: int, records: Sequence[OrderRecord]) -> dict[str, int]:
    emails: dict[str, str | None] = {}
    for r in records:
        if r.buyer is not None:
            emails[r.buyer] = emails.get(r.buyer) or r.buyer_email
    if not emails:
        return {}
    stmt = sqlite_insert(customers)
    stmt = stmt.on_conflict_do_update(
        index_elements=[customers.c.account_id, customers.c.ebay_username],
        set_={"email": stmt.excluded.email},
        where=and_(stmt.excluded.email.is_not(None), customers.c.email.is_distinct_from(stmt.excluded.email)),
    )
    rows = [{"account_id": account_id, "ebay_username": b, "email": e} for b, e in emails.items()]
    conn.execute(stmt, rows)
    found: dict[str, int] = {}
    for chunk in _chunks(list(emails)):
        query = select(customers.c.ebay_username, customers.c.id).where(
            customers.c.account_id == account_id, customers.c.ebay_username.in_(chunk)
        )
        found.update({str(name): int(cid) for name, cid in conn.execute(query).all()})
    return found


def _sqlite_products(conn: Connection, account_id: int, records: Sequence[OrderRecord]) -> dict[str, int]:
    titles: dict[str, str] = {}
    for r in reversed(records):  # the newest order's title, as on Postgres
        for line in r.lines:
            titles.setdefault(line.sku, line.title)
    stmt = sqlite_insert(products).on_conflict_do_nothing(
        index_elements=[products.c.account_id, products.c.sku]
    )
    conn.execute(stmt, [{"account_id": account_id, "sku": s, "title": t} for s, t in sorted(titles.items())])
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(titles)):
        query = select(products.c.sku, products.c.id).where(
            products.c.account_id == account_id, products.c.sku.in_(chunk)
        )
        found.update({str(sku): int(pid) for sku, pid in conn.execute(query).all()})
    return found


_PlanRow = tuple[str, int, OrderRecord, int | None]  # action, order id, record, customer id


class _Stored:
    """Values as SQLite stores them (integer cents, fixed-format UTC text), converted by the
    columns' own types: comparing and writing these skips per-row work in SQLAlchemy, which is
    most of the time an import spends on SQLite."""

    def __init__(self, conn: Connection) -> None:
        def processor(column: Any) -> Callable[[Any], Any]:
            found = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            return found if found is not None else (lambda value: value)

        self.money = processor(orders.c.total_amount)
        self.moment = processor(orders.c.order_date)

    def order(self, r: OrderRecord, customer_id: int | None) -> tuple[Any, ...]:
        """In the order of :data:`_ORDER_FIELDS`."""
        return (
            customer_id,
            r.status,
            self.money(r.total_amount),
            self.money(r.refunded_amount),
            r.currency,
            self.moment(r.order_date),
            self.moment(r.updated_at),
        )

    def lines(self, r: OrderRecord) -> Counter[tuple[Any, ...]]:
        return Counter(
            (li.line_item_id, li.sku, li.title, li.quantity, self.money(li.unit_price)) for li in r.lines
        )


def _sqlite_plan(
    conn: Connection, account_id: int, records: Sequence[OrderRecord], customer_ids: Mapping[str, int]
) -> list[_PlanRow]:
    stored = _Stored(conn)
    fields = ", ".join(_ORDER_FIELDS)
    existing: dict[str, tuple[Any, ...]] = {}
    for chunk in _chunks([r.ebay_order_id for r in records]):
        marks = ", ".join("?" * len(chunk))
        found = conn.exec_driver_sql(
            f"SELECT ebay_order_id, id, {fields} FROM orders "
            f"WHERE account_id = ? AND ebay_order_id IN ({marks})",
            (account_id, *chunk),
        )
        existing.update({row[0]: tuple(row[1:]) for row in found})
    existing_lines: dict[int, Counter[tuple[Any, ...]]] = {}
    for chunk in _chunks([row[0] for row in existing.values()]):
        marks = ", ".join("?" * len(chunk))
        found = conn.exec_driver_sql(
            "SELECT order_id, line_item_id, sku, title, quantity, unit_price FROM order_items "
            f"WHERE order_id IN ({marks})",
            tuple(chunk),
        )
        for row in found:
            existing_lines.setdefault(row[0], Counter())[tuple(row[1:])] += 1
    next_id = int(conn.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one()) + 1
    updated_at = _ORDER_FIELDS.index("updated_at")
    plan: list[_PlanRow] = []
    for r in records:
        customer_id = customer_ids.get(r.buyer) if r.buyer is not None else None
        found_row = existing.get(r.ebay_order_id)
        if found_row is None:
            plan.append(("new", next_id, r, customer_id))
            next_id += 1
            continue
        order_id, values = int(found_row[0]), found_row[1:]
        mine = stored.order(r, customer_id)
        # the fixed-width UTC text sorts as the instants do
        if mine[updated_at] < values[updated_at]:
            plan.append(("older", order_id, r, customer_id))
        elif mine == values and stored.lines(r) == existing_lines.get(order_id, Counter()):
            plan.append(("same", order_id, r, customer_id))
        else:
            plan.append(("changed", order_id, r, customer_id))
    return plan


_SQLITE_ORDERS = (
    f"INSERT INTO orders (id, account_id, ebay_order_id, {', '.join(_ORDER_FIELDS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' * len(_ORDER_FIELDS))}) "
    "ON CONFLICT (account_id, ebay_order_id) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in _ORDER_FIELDS)
    + " WHERE ("
    + " OR ".join(f"orders.{f} IS NOT excluded.{f}" for f in _ORDER_FIELDS)
    + ") AND orders.updated_at <= excluded.updated_at"
)


def _sqlite_write_orders(conn: Connection, account_id: int, plan: Sequence[_PlanRow]) -> None:
    stored = _Stored(conn)
    rows = [
        (order_id, account_id, r.ebay_order_id, *stored.order(r, customer_id))
        for action, order_id, r, customer_id in plan
        if action in ("new", "changed")
    ]
    if rows:
        conn.exec_driver_sql(_SQLITE_ORDERS, rows)


def _sqlite_replace_items(conn: Connection, plan: Sequence[_PlanRow], product_ids: Mapping[str, int]) -> None:
    changed = [order_id for action, order_id, _r, _c in plan if action == "changed"]
    for chunk in _chunks(changed):
        conn.execute(delete(order_items).where(order_items.c.order_id.in_(chunk)))
    money = _Stored(conn).money
    rows = [
        (
            order_id,
            product_ids.get(line.sku),
            line.line_item_id,
            line.sku,
            line.title,
            line.quantity,
            money(line.unit_price),
        )
        for action, order_id, r, _c in plan
        if action in ("new", "changed")
        for line in r.lines
    ]
    if rows:
        conn.exec_driver_sql(
            "INSERT INTO order_items (order_id, product_id, line_item_id, sku, title, quantity, unit_price) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
