"""The upsert on SQLite (one writer at a time, so no lock): executemany, with values converted
once by the columns' own types.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ebaydash.db.schema import customers, order_items, orders, products
from ebaydash.db.upsert.plan import ORDER_FIELDS, PlanRow, Stored, to_write
from ebaydash.models import OrderRecord


def lock(conn: Connection, account_id: int) -> None:
    """Nothing to do: SQLite lets one writer in at a time."""


def lock_name(conn: Connection, name: str) -> None:
    """Nothing to do: SQLite lets one writer in at a time."""


_CHUNK = 500  # bound parameters per IN list


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def customer_ids(conn: Connection, account_id: int, emails: Mapping[str, str | None]) -> dict[str, int]:
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
    return _ids(conn, customers.c.ebay_username, account_id, list(emails))


def product_ids(conn: Connection, account_id: int, titles: Mapping[str, str]) -> dict[str, int]:
    stmt = sqlite_insert(products).on_conflict_do_nothing(
        index_elements=[products.c.account_id, products.c.sku]
    )
    conn.execute(stmt, [{"account_id": account_id, "sku": s, "title": t} for s, t in sorted(titles.items())])
    return _ids(conn, products.c.sku, account_id, sorted(titles))


def _ids(conn: Connection, key: Any, account_id: int, values: Sequence[str]) -> dict[str, int]:
    """``value -> id`` of the account's rows whose ``key`` column holds one of ``values``."""
    table = key.table
    found: dict[str, int] = {}
    for chunk in _chunks(values):
        query = select(key, table.c.id).where(table.c.account_id == account_id, key.in_(chunk))
        found.update({str(value): int(row_id) for value, row_id in conn.execute(query).all()})
    return found


class SQLiteStorage:
    """Values as SQLite stores them (integer cents, fixed-format UTC text), converted by the
    columns' own types: comparing and writing these skips per-row work in SQLAlchemy, which is
    most of the time an import spends on SQLite. The fixed-width UTC text sorts as the instants do."""

    def __init__(self, conn: Connection) -> None:
        def processor(column: Any) -> Callable[[Any], Any]:
            found = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            return found if found is not None else (lambda value: value)

        self.money = processor(orders.c.total_amount)
        self.moment = processor(orders.c.order_date)

    def order(self, r: OrderRecord, customer_id: int | None) -> tuple[Any, ...]:
        """In the order of :data:`ORDER_FIELDS`."""
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


def stored(conn: Connection, account_id: int, records: Sequence[OrderRecord]) -> Stored:
    fields = ", ".join(ORDER_FIELDS)
    existing: dict[str, tuple[Any, ...]] = {}
    for chunk in _chunks([r.ebay_order_id for r in records]):
        marks = ", ".join("?" * len(chunk))
        found = conn.exec_driver_sql(
            f"SELECT ebay_order_id, id, {fields} FROM orders "
            f"WHERE account_id = ? AND ebay_order_id IN ({marks})",
            (account_id, *chunk),
        )
        existing.update({row[0]: tuple(row[1:]) for row in found})
    lines: dict[int, Counter[tuple[Any, ...]]] = {}
    for chunk in _chunks([row[0] for row in existing.values()]):
        marks = ", ".join("?" * len(chunk))
        found = conn.exec_driver_sql(
            "SELECT order_id, line_item_id, sku, title, quantity, unit_price FROM order_items "
            f"WHERE order_id IN ({marks})",
            tuple(chunk),
        )
        for row in found:
            lines.setdefault(row[0], Counter())[tuple(row[1:])] += 1
    first = int(conn.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one()) + 1
    return Stored(SQLiteStorage(conn), existing, lines, lambda n: range(first, first + n))


_UPSERT_ORDERS = (
    f"INSERT INTO orders (id, account_id, ebay_order_id, {', '.join(ORDER_FIELDS)}) "
    f"VALUES (?, ?, ?, {', '.join('?' * len(ORDER_FIELDS))}) "
    "ON CONFLICT (account_id, ebay_order_id) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in ORDER_FIELDS)
    + " WHERE ("
    + " OR ".join(f"orders.{f} IS NOT excluded.{f}" for f in ORDER_FIELDS)
    + ") AND orders.updated_at <= excluded.updated_at"
)


def write_orders(conn: Connection, account_id: int, plan: Sequence[PlanRow]) -> None:
    storage = SQLiteStorage(conn)
    rows = [
        (row.order_id, account_id, row.record.ebay_order_id, *storage.order(row.record, row.customer_id))
        for row in to_write(plan)
    ]
    if rows:
        conn.exec_driver_sql(_UPSERT_ORDERS, rows)


def replace_items(conn: Connection, plan: Sequence[PlanRow], product_ids: Mapping[str, int]) -> None:
    changed = [row.order_id for row in plan if row.action == "changed"]
    for chunk in _chunks(changed):
        conn.execute(delete(order_items).where(order_items.c.order_id.in_(chunk)))
    money = SQLiteStorage(conn).money
    rows = [
        (
            row.order_id,
            product_ids.get(line.sku),
            line.line_item_id,
            line.sku,
            line.title,
            line.quantity,
            money(line.unit_price),
        )
        for row in to_write(plan)
        for line in row.record.lines
    ]
    if rows:
        conn.exec_driver_sql(
            "INSERT INTO order_items (order_id, product_id, line_item_id, sku, title, quantity, unit_price) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
