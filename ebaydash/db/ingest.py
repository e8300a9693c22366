"""Bulk loading: COPY on Postgres, executemany on SQLite. Never row by row through the ORM.

Frames carry explicit ids (the sample data and the synthetic seed assign them), so parents and
children load without a round trip per row; Postgres sequences are moved past them afterwards.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import pandas as pd
from sqlalchemy import Table, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from ebaydash.db.schema import TABLES, accounts, customers, meta, order_items, orders, products
from ebaydash.db.types import CENT
from ebaydash.importers import merge
from ebaydash.importers.records import FACTS_ALL, OrderRecord

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
# Both backends share the plan (made in Python from one read of the stored orders and their
# items) and differ only in how they read and write. Postgres: an advisory lock per account keeps
# the plan true until commit; new orders and all items go in with binary COPY straight into their
# tables, changed orders with one UPDATE over arrays. SQLite (one writer at a time): executemany.
# Staging tables with INSERT … SELECT … ON CONFLICT wrote every row twice and took 5.2 s for 100k
# new orders into 1M on the benchmark machine; this takes about 4 s, most of it index maintenance
# and foreign-key triggers on the server.

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
    postgres = conn.dialect.name == "postgresql"
    # looked up per call, not kept in a table: tests replace these module functions to inject faults
    if postgres:
        customers_of, products_of, stored_of = _pg_customers, _pg_products, _pg_stored
        write_orders, replace_items = _pg_write_orders, _pg_replace_items
    else:
        customers_of, products_of, stored_of = _sqlite_customers, _sqlite_products, _sqlite_stored
        write_orders, replace_items = _sqlite_write_orders, _sqlite_replace_items
    # An import allocates several objects per order and keeps them all: the cycle collector
    # would rescan them again and again (a fifth of the time at 100k orders) and find nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if postgres:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:cls, :key)"),
                {"cls": IMPORT_LOCK_CLASS, "key": account_id % 2**31},
            )
        report(0.05, "customers and products")
        customer_ids = customers_of(conn, account_id, _buyer_emails(records))
        product_ids = products_of(conn, account_id, _newest_titles(records))
        report(0.3, "comparing with stored orders")
        plan = _plan(records, customer_ids, stored_of(conn, account_id, records))
        report(0.5, "writing orders")
        write_orders(conn, account_id, plan)
        _patch_orders(conn, plan)
        report(0.75, "writing items")
        replace_items(conn, plan, product_ids)
    finally:
        if collecting:
            gc.enable()
    report(1.0, "done")
    actions = Counter(row.action for row in plan)
    return UpsertCounts(
        imported=actions["new"],
        updated=actions["changed"] + actions["patched"],
        unchanged=actions["same"],
        older=actions["older"],
    )


# -- the plan, shared by both backends ----------------------------------------------------------


def _buyer_emails(records: Sequence[OrderRecord]) -> dict[str, str | None]:
    """Each buyer once, with the first email any of their orders gives."""
    emails: dict[str, str | None] = {}
    for r in records:
        if r.buyer is not None:
            emails[r.buyer] = emails.get(r.buyer) or r.buyer_email
    return emails


def _newest_titles(records: Sequence[OrderRecord]) -> dict[str, str]:
    """Each SKU once, with its title in the newest order (the last one given) that sells it."""
    titles: dict[str, str] = {}
    for r in reversed(records):
        for line in r.lines:
            titles.setdefault(line.sku, line.title)
    return titles


class _PlanRow(NamedTuple):
    action: str  # new, changed, same, older, or patched (older, but adds a refund or cancellation)
    order_id: int
    record: OrderRecord
    customer_id: int | None


class _Storage(Protocol):
    """How one backend stores an order's fields and lines, for comparing with what it holds."""

    def order(self, r: OrderRecord, customer_id: int | None) -> tuple[Any, ...]: ...

    def lines(self, r: OrderRecord) -> Counter[tuple[Any, ...]]: ...


class _Stored:
    """The stored orders of an import's eBay order ids, as the backend holds them."""

    def __init__(
        self,
        storage: _Storage,
        orders: Mapping[str, tuple[Any, ...]],
        lines: Mapping[int, Counter[tuple[Any, ...]]],
        allocate: Callable[[int], Sequence[int]],
    ) -> None:
        self.storage = storage
        self.orders = orders  # eBay order id -> (id, *_ORDER_FIELDS)
        self.lines = lines  # order id -> its lines as a multiset
        self.allocate = allocate  # n -> ids for n new orders


def _plan(records: Sequence[OrderRecord], customer_ids: Mapping[str, int], stored: _Stored) -> list[_PlanRow]:
    """Stored orders first, in the given order; then new ones with ids in date order, so that the
    primary key and the date indexes grow at one end instead of all over."""
    updated_at = _ORDER_FIELDS.index("updated_at")
    plan: list[_PlanRow] = []
    new: list[tuple[OrderRecord, int | None]] = []
    for r in records:
        customer_id = customer_ids.get(r.buyer) if r.buyer is not None else None
        found = stored.orders.get(r.ebay_order_id)
        if found is None:
            new.append((r, customer_id))
            continue
        order_id, values = int(found[0]), found[1:]
        mine = stored.storage.order(r, customer_id)
        if mine[updated_at] < values[updated_at]:
            action = "older"
            facts = merge.older_facts(r, _merge_view(values)) if r.knows else None
            if facts is not None:  # facts that never go back, from a source that knows them
                action = "patched"
                r = dataclasses.replace(r, status=facts[0], refunded_amount=facts[1])
        else:
            if r.knows != FACTS_ALL:  # a source that knows less keeps what is stored (importers.merge)
                r = merge.reconcile(r, _merge_view(values))
                mine = stored.storage.order(r, customer_id)
            if mine == values and stored.storage.lines(r) == stored.lines.get(order_id, Counter()):
                action = "same"
            else:
                action = "changed"
        plan.append(_PlanRow(action, order_id, r, customer_id))
    new.sort(key=lambda pair: pair[0].order_date)
    plan.extend(
        _PlanRow("new", order_id, r, customer_id)
        for order_id, (r, customer_id) in zip(stored.allocate(len(new)), new, strict=True)
    )
    return plan


def _merge_view(values: tuple[Any, ...]) -> merge.Stored:
    """The stored status and refunded amount, for field-level precedence. Postgres hands back a
    Decimal; SQLite integer cents (see db.types.Money)."""
    refunded = values[_ORDER_FIELDS.index("refunded_amount")]
    if not isinstance(refunded, Decimal):
        refunded = (Decimal(int(refunded)) / 100).quantize(CENT)
    return merge.Stored(status=str(values[_ORDER_FIELDS.index("status")]), refunded_amount=refunded)


def _patch_orders(conn: Connection, plan: Sequence[_PlanRow]) -> None:
    """Older copies that still add a refund or cancellation: only those two fields change."""
    rows = [
        {"order": row.order_id, "status": row.record.status, "refunded": row.record.refunded_amount}
        for row in plan
        if row.action == "patched"
    ]
    if rows:
        stmt = (
            update(orders)
            .where(orders.c.id == bindparam("order"))
            .values(status=bindparam("status"), refunded_amount=bindparam("refunded"))
        )
        conn.execute(stmt, rows)


def _to_write(plan: Sequence[_PlanRow]) -> list[_PlanRow]:
    return [row for row in plan if row.action in ("new", "changed")]


# -- Postgres -----------------------------------------------------------------------------------


def _cursor(conn: Connection) -> Any:
    """A cursor on the connection's own psycopg connection, inside the same transaction: COPY
    and array parameters are psycopg features that SQLAlchemy does not expose."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _pg_customers(conn: Connection, account_id: int, emails: Mapping[str, str | None]) -> dict[str, int]:
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


def _pg_products(conn: Connection, account_id: int, titles: Mapping[str, str]) -> dict[str, int]:
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


class _AsGiven:
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


def _pg_stored(conn: Connection, account_id: int, records: Sequence[OrderRecord]) -> _Stored:
    with _cursor(conn) as cursor:
        # timestamps load several times faster in UTC than in a named zone, and compare the same
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(
            # one unique-index probe per given id (LATERAL, kept apart by OFFSET 0): the cost
            # follows the import's size; a hash join reads every order of the account, and was
            # slower already at 100k of 300k
            f"SELECT o.ebay_order_id, o.id, {', '.join('o.' + f for f in _ORDER_FIELDS)} "
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

    return _Stored(_AsGiven(), existing, lines, allocate)


_PG_ORDER_COLUMNS = ("id", "account_id", "ebay_order_id", *_ORDER_FIELDS)
_PG_ORDER_TYPES = (
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
_PG_ITEM_COLUMNS = ("order_id", "product_id", "line_item_id", "sku", "title", "quantity", "unit_price")
_PG_ITEM_TYPES = ("int8", "int8", "text", "text", "text", "int4", "numeric")

_PG_UPDATE_ORDERS = f"""
UPDATE orders AS o SET {", ".join(f"{f} = given.{f}" for f in _ORDER_FIELDS)}
FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::numeric[], %s::numeric[], %s::text[],
            %s::timestamptz[], %s::timestamptz[]) AS given(id, {", ".join(_ORDER_FIELDS)})
WHERE o.id = given.id
"""


def _pg_write_orders(conn: Connection, account_id: int, plan: Sequence[_PlanRow]) -> None:
    new = [row for row in plan if row.action == "new"]  # in date order (see _plan)
    changed = [row for row in plan if row.action == "changed"]
    fields = _AsGiven().order
    with _cursor(conn) as cursor:
        if new:
            with cursor.copy(
                f"COPY orders ({', '.join(_PG_ORDER_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"
            ) as copy:
                copy.set_types(_PG_ORDER_TYPES)
                for _action, order_id, r, customer_id in new:
                    copy.write_row((order_id, account_id, r.ebay_order_id, *fields(r, customer_id)))
        if changed:
            given = [(row.order_id, *fields(row.record, row.customer_id)) for row in changed]
            # one array per column: the UPDATE joins them back into rows with unnest
            columns = [[values[k] for values in given] for k in range(len(given[0]))]
            cursor.execute(_PG_UPDATE_ORDERS, columns)


def _pg_replace_items(conn: Connection, plan: Sequence[_PlanRow], product_ids: Mapping[str, int]) -> None:
    changed = [row.order_id for row in plan if row.action == "changed"]
    with _cursor(conn) as cursor:
        if changed:
            cursor.execute("DELETE FROM order_items WHERE order_id = ANY(%s)", (changed,))
        rows = _to_write(plan)
        if not rows:
            return
        with cursor.copy(
            f"COPY order_items ({', '.join(_PG_ITEM_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"
        ) as copy:
            copy.set_types(_PG_ITEM_TYPES)
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


# -- SQLite -------------------------------------------------------------------------------------

_SQLITE_CHUNK = 500  # bound parameters per IN list


def _chunks(items: Sequence[Any], size: int = _SQLITE_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_customers(conn: Connection, account_id: int, emails: Mapping[str, str | None]) -> dict[str, int]:
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


def _sqlite_products(conn: Connection, account_id: int, titles: Mapping[str, str]) -> dict[str, int]:
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


class _SQLiteStorage:
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


def _sqlite_stored(conn: Connection, account_id: int, records: Sequence[OrderRecord]) -> _Stored:
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
    return _Stored(_SQLiteStorage(conn), existing, lines, lambda n: range(first, first + n))


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
    storage = _SQLiteStorage(conn)
    rows = [
        (row.order_id, account_id, row.record.ebay_order_id, *storage.order(row.record, row.customer_id))
        for row in _to_write(plan)
    ]
    if rows:
        conn.exec_driver_sql(_SQLITE_ORDERS, rows)


def _sqlite_replace_items(conn: Connection, plan: Sequence[_PlanRow], product_ids: Mapping[str, int]) -> None:
    changed = [row.order_id for row in plan if row.action == "changed"]
    for chunk in _chunks(changed):
        conn.execute(delete(order_items).where(order_items.c.order_id.in_(chunk)))
    money = _SQLiteStorage(conn).money
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
        for row in _to_write(plan)
        for line in row.record.lines
    ]
    if rows:
        conn.exec_driver_sql(
            "INSERT INTO order_items (order_id, product_id, line_item_id, sku, title, quantity, unit_price) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
