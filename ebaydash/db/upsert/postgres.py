"""The upsert on Postgres: an advisory lock per account keeps the plan true until commit; new orders
and all items go in with binary COPY straight into their tables, changed orders with one UPDATE
over arrays, all on the connection's own psycopg cursor inside the caller's transaction.

Staging tables with INSERT … SELECT … ON CONFLICT wrote every row twice and took 5.2 s for 100k
new orders into 1M on the benchmark machine; this takes about 4 s, most of it index maintenance and
foreign-key triggers on the server.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ebaydash.db import driver
from ebaydash.db.upsert.plan import ORDER_FIELDS, PlanRow, Stored, to_write
from ebaydash.models import OrderRecord

IMPORT_LOCK_CLASS = 0x0EBA1  # advisory lock namespace: one import at a time per account
NAME_LOCK_CLASS = 0x0EBA2  # advisory lock namespace: one creator at a time per account name


def lock(conn: Connection, account_id: int) -> None:
    """Hold the account's import lock until the transaction ends."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :key)"),
        {"cls": IMPORT_LOCK_CLASS, "key": account_id % 2**31},
    )


def lock_name(conn: Connection, name: str) -> None:
    """Hold the lock of the account called ``name`` (normalised) until the transaction ends."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :key)"),
        {"cls": NAME_LOCK_CLASS, "key": zlib.crc32(name.encode()) % 2**31},
    )


_cursor = driver.cursor


def customer_ids(conn: Connection, account_id: int, emails: Mapping[str, str | None]) -> dict[str, int]:
    """Read the buyers that exist first: an INSERT … ON CONFLICT for every buyer of an import
    cost twice as much, as most of them are usually known already."""
    if not emails:
        return {}
    with _cursor(conn) as cursor:
        cursor.execute(
            "SELECT c.ebay_username, c.id, c.email FROM unnest(%s::text[]) AS given(name) "
            "JOIN customers AS c ON c.account_id = %s AND c.ebay_username = given.name",
            (list(emails), account_id),
        )
        found: dict[str, int] = {}
        new_email: dict[int, str] = {}
        for name, customer_id, stored_email in cursor.fetchall():
            found[name] = customer_id
            email = emails[name]
            if email is not None and email != stored_email:
                new_email[customer_id] = email
        missing = [name for name in emails if name not in found]
        if missing:
            cursor.execute(
                "INSERT INTO customers (account_id, ebay_username, email) "
                "SELECT %s, name, email FROM unnest(%s::text[], %s::text[]) AS given(name, email) "
                "RETURNING ebay_username, id",
                (account_id, missing, [emails[name] for name in missing]),
            )
            found.update(cursor.fetchall())
        if new_email:
            cursor.execute(
                "UPDATE customers SET email = given.email "
                "FROM unnest(%s::bigint[], %s::text[]) AS given(id, email) WHERE customers.id = given.id",
                (list(new_email), list(new_email.values())),
            )
        return found


def product_ids(conn: Connection, account_id: int, titles: Mapping[str, str]) -> dict[str, int]:
    skus = sorted(titles)
    with _cursor(conn) as cursor:
        cursor.execute(
            "INSERT INTO products (account_id, sku, title) "
            "SELECT %s, sku, title FROM unnest(%s::text[], %s::text[]) AS given(sku, title) "
            "ON CONFLICT (account_id, sku) DO NOTHING",
            (account_id, skus, [titles[s] for s in skus]),
        )
        cursor.execute(
            "SELECT sku, id FROM products WHERE account_id = %s AND sku = ANY(%s)", (account_id, skus)
        )
        return dict(cursor.fetchall())


class AsGiven:
    """Postgres hands back Decimal and aware datetime values that compare equal to the records'."""

    def order(self, r: OrderRecord, customer_id: int | None) -> tuple[Any, ...]:
        return (
            customer_id,
            r.status,
            r.total_amount,
            r.refunded_amount,
            r.currency,
            r.order_date,
            r.updated_at,
        )

    def lines(self, r: OrderRecord) -> Counter[tuple[Any, ...]]:
        return Counter((li.line_item_id, li.sku, li.title, li.quantity, li.unit_price) for li in r.lines)


def stored(conn: Connection, account_id: int, records: Sequence[OrderRecord]) -> Stored:
    with _cursor(conn) as cursor:
        # timestamps load several times faster in UTC than in a named zone, and compare the same
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(
            # one unique-index probe per given id (LATERAL, kept apart by OFFSET 0): the cost
            # follows the import's size; a hash join reads every order of the account, and was
            # slower already at 100k of 300k
            f"SELECT o.ebay_order_id, o.id, {', '.join('o.' + f for f in ORDER_FIELDS)} "
            "FROM unnest(%s::text[]) AS given(ebay_order_id) CROSS JOIN LATERAL ("
            "SELECT * FROM orders WHERE account_id = %s AND ebay_order_id = given.ebay_order_id OFFSET 0"
            ") AS o",
            ([r.ebay_order_id for r in records], account_id),
        )
        existing = {row[0]: row[1:] for row in cursor.fetchall()}
        lines: dict[int, Counter[tuple[Any, ...]]] = {}
        if existing:
            cursor.execute(
                "SELECT order_id, line_item_id, sku, title, quantity, unit_price FROM order_items "
                "WHERE order_id = ANY(%s)",
                ([row[0] for row in existing.values()],),
            )
            for row in cursor.fetchall():
                lines.setdefault(row[0], Counter())[row[1:]] += 1

    def allocate(n: int) -> list[int]:
        if n == 0:
            return []
        with _cursor(conn) as cursor:
            # OFFSET 0 keeps the sequence's name looked up once: inlined, it was looked up per row,
            # which was four fifths of the time
            cursor.execute(
                "SELECT nextval(seq) FROM generate_series(1, %s), "
                "(SELECT pg_get_serial_sequence('orders', 'id')::regclass AS seq OFFSET 0) AS s",
                (n,),
            )
            return [int(row[0]) for row in cursor.fetchall()]

    return Stored(AsGiven(), existing, lines, allocate)


_ORDER_COLUMNS = ("id", "account_id", "ebay_order_id", *ORDER_FIELDS)
_ORDER_TYPES = (
    "int8",
    "int8",
    "text",
    "int8",
    "text",
    "numeric",
    "numeric",
    "text",
    "timestamptz",
    "timestamptz",
)
_ITEM_COLUMNS = ("order_id", "product_id", "line_item_id", "sku", "title", "quantity", "unit_price")
_ITEM_TYPES = ("int8", "int8", "text", "text", "text", "int4", "numeric")

_UPDATE_ORDERS = f"""
UPDATE orders AS o SET {", ".join(f"{f} = given.{f}" for f in ORDER_FIELDS)}
FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::numeric[], %s::numeric[], %s::text[],
            %s::timestamptz[], %s::timestamptz[]) AS given(id, {", ".join(ORDER_FIELDS)})
WHERE o.id = given.id
"""


def write_orders(conn: Connection, account_id: int, plan: Sequence[PlanRow]) -> None:
    new = [row for row in plan if row.action == "new"]  # in date order (see plan.make_plan)
    changed = [row for row in plan if row.action == "changed"]
    fields = AsGiven().order
    with _cursor(conn) as cursor:
        if new:
            with cursor.copy(
                f"COPY orders ({', '.join(_ORDER_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"
            ) as copy:
                copy.set_types(_ORDER_TYPES)
                for _action, order_id, r, customer_id in new:
                    copy.write_row((order_id, account_id, r.ebay_order_id, *fields(r, customer_id)))
        if changed:
            given = [(row.order_id, *fields(row.record, row.customer_id)) for row in changed]
            # one array per column: the UPDATE joins them back into rows with unnest
            columns = [[values[k] for values in given] for k in range(len(given[0]))]
            cursor.execute(_UPDATE_ORDERS, columns)


def replace_items(conn: Connection, plan: Sequence[PlanRow], product_ids: Mapping[str, int]) -> None:
    changed = [row.order_id for row in plan if row.action == "changed"]
    with _cursor(conn) as cursor:
        if changed:
            cursor.execute("DELETE FROM order_items WHERE order_id = ANY(%s)", (changed,))
        rows = to_write(plan)
        if not rows:
            return
        with cursor.copy(
            f"COPY order_items ({', '.join(_ITEM_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"
        ) as copy:
            copy.set_types(_ITEM_TYPES)
            for _action, order_id, r, _customer_id in rows:
                for line in r.lines:
                    copy.write_row(
                        (
                            order_id,
                            product_ids.get(line.sku),
                            line.line_item_id,
                            line.sku,
                            line.title,
                            line.quantity,
                            line.unit_price,
                        )
                    )
