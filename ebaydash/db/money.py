"""Writing eBay's money records and the seller's cost of goods (issue 15), each in ONE transaction.

The rows come in as plain mappings of column values (the services turn the importers' records
into them), so this layer knows tables, not file formats. Idempotent: a transaction or payout is
keyed by (account, eBay id); writing the same rows again changes nothing, and a later copy may add
a payout id or status but never clears a stored payout id. Every change to a cost is logged in
``sku_cost_changes`` in the same transaction as the change itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, insert, inspect, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Row

from ebaydash.db import data_versions, driver, meta
from ebaydash.db.engine import Database
from ebaydash.db.schema import (
    accounts,
    money_fees,
    money_lines,
    money_transactions,
    payouts,
    sku_cost_changes,
    sku_costs,
)
from ebaydash.db.upsert import IMPORT_TIMEOUT_MS, create_account
from ebaydash.errors import ImportFailed

__all__ = [
    "COMPARED_COLUMNS",
    "CostRow",
    "CostWrite",
    "MoneyWrite",
    "TransactionWrite",
    "apply_costs",
    "cost_changes",
    "list_costs",
    "replace_costs",
    "write_account_money",
    "write_costs",
    "write_money",
]

_CHUNK = 500  # ids per IN (...) lookup: well under SQLite's bound-parameter limit

#: The columns whose difference makes a stored transaction "updated": those the records compare
#: (``MoneyTransaction.__eq__``). The rest are descriptive, worded differently by each source
#: ("Funds sent" / "PAYOUT"), and a copy differing only there leaves the stored row as it is.
COMPARED_COLUMNS = (
    "type",
    "booking_entry",
    "booked_on",
    "currency",
    "payout_currency",
    "exchange_rate",
    "gross",
    "fee_total",
    "net",
    "gross_payout",
    "fee_total_payout",
    "fees_payout",
    "ad_fees_payout",
    "order_id",
    "payout_id",
)


@dataclass(frozen=True)
class TransactionWrite:
    """One transaction to write: its ``money_transactions`` columns (without ``id`` and
    ``account_id``), its lines (``money_lines`` columns without ``transaction_id``) and fees
    (``money_fees`` columns without ``transaction_id``)."""

    row: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]] = ()
    fees: Sequence[Mapping[str, Any]] = ()

    @property
    def ebay_id(self) -> str:
        return str(self.row["ebay_transaction_id"])


@dataclass
class MoneyWrite:
    """What :func:`write_money` did, in counts of transactions and of payouts."""

    account_id: int = 0
    account_created: bool = False
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    payouts_imported: int = 0
    payouts_updated: int = 0
    payouts_unchanged: int = 0


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _refused(exc: sa_exc.DBAPIError) -> ImportFailed:
    detail = (
        str(exc.orig).strip().splitlines()[0]
        if exc.orig is not None and str(exc.orig).strip()
        else "no detail"
    )
    return ImportFailed(
        "The import was rolled back and nothing was changed: the database refused a row "
        f"({detail}). Another import may have run at the same moment; try again."
    )


def write_money(
    db: Database,
    transactions: Sequence[TransactionWrite],
    payout_rows: Sequence[Mapping[str, Any]],
    *,
    account_name: str,
    ebay_user_id: str,
    currency: str,
    timezone: str,
    marketplace: str,
) -> MoneyWrite:
    """Write ``transactions`` (unique by eBay id) and ``payout_rows`` (``payouts`` columns without
    ``id``/``account_id``, unique by ``ebay_payout_id``) into the account called ``account_name``,
    created with the other arguments when there is none — all in one transaction.

    Raises :class:`~ebaydash.errors.ImportFailed` when the database refuses a row (nothing is
    written then) and :class:`~ebaydash.errors.DatabaseError` when it cannot be reached.
    """
    result = MoneyWrite()
    try:
        with db.transaction(timeout_ms=IMPORT_TIMEOUT_MS) as conn:
            meta.mark_not_pristine(conn)
            wanted = " ".join(account_name.split()).lower()
            found = conn.execute(select(accounts.c.id).where(func.lower(accounts.c.name) == wanted)).first()
            if found is None:
                result.account_id = create_account(
                    conn,
                    name=account_name,
                    ebay_user_id=ebay_user_id,
                    currency=currency,
                    timezone=timezone,
                    marketplace=marketplace,
                )
                result.account_created = True
            else:
                result.account_id = int(found.id)
            _write_account_money(conn, result, transactions, payout_rows)
    except (sa_exc.IntegrityError, sa_exc.DataError) as exc:
        raise _refused(exc) from exc
    return result


def write_account_money(
    conn: Connection,
    account_id: int,
    transactions: Sequence[TransactionWrite],
    payout_rows: Sequence[Mapping[str, Any]],
) -> MoneyWrite:
    """Write ``transactions`` and ``payout_rows`` (as :func:`write_money`) into the existing account
    ``account_id``, inside the caller's transaction: the same rules, rows and data-version bump.

    Unlike :func:`write_money` it leaves the demo flag (:mod:`ebaydash.db.meta`) alone: the demo's
    own money records are written with this while the demo loads (:mod:`ebaydash.demo_money`), and
    must not stop the demo's hourly reload. The database's errors propagate unchanged."""
    result = MoneyWrite(account_id=account_id)
    _write_account_money(conn, result, transactions, payout_rows)
    return result


def _write_account_money(
    conn: Connection,
    result: MoneyWrite,
    transactions: Sequence[TransactionWrite],
    payout_rows: Sequence[Mapping[str, Any]],
) -> None:
    _write_transactions(conn, result, transactions)
    _write_payouts(conn, result, payout_rows)
    data_versions.bump(conn, result.account_id)  # the cache's invalidation, with the data


_cursor = driver.cursor  # COPY and array parameters, as in ebaydash.db.upsert.postgres


_LINE_COLUMNS = ("transaction_id", "line_no", "line_item_id", "item_id", "sku", "title", "quantity")
_FEE_COLUMNS = ("transaction_id", "line_no", "fee_type", "amount", "amount_payout", "account_id", "booked_on")


def _stored(conn: Connection, account_id: int, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored copies of ``ids``: ``id`` and the compared columns, by eBay id."""
    names = ("id", "ebay_transaction_id", *COMPARED_COLUMNS)
    if conn.dialect.name == "postgresql":
        # one array parameter, not thousands of bound values (their parsing was a third of the time)
        with _cursor(conn) as cursor:
            cursor.execute(
                f"SELECT {', '.join(names)} FROM money_transactions "
                "WHERE account_id = %s AND ebay_transaction_id = ANY(%s)",
                (account_id, list(ids)),
            )
            return {row[1]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    t = money_transactions.c
    stmt = select(*(t[name] for name in names)).where(
        t.account_id == account_id, t.ebay_transaction_id.in_(ids)
    )
    return {row.ebay_transaction_id: dict(row._mapping) for row in conn.execute(stmt)}


def _insert_new(
    conn: Connection, account_id: int, new: Sequence[TransactionWrite]
) -> list[tuple[int, TransactionWrite]]:
    """Insert ``new`` transactions; their row ids, in order. On Postgres the ids come from the
    sequence and the rows go in by COPY (the order import does the same)."""
    t = money_transactions.c
    if conn.dialect.name != "postgresql":
        inserted = conn.execute(
            insert(money_transactions).returning(t.id, t.ebay_transaction_id),
            [{**w.row, "account_id": account_id} for w in new],
        ).all()
        by_ebay_id = {row.ebay_transaction_id: int(row.id) for row in inserted}
        return [(by_ebay_id[w.ebay_id], w) for w in new]
    columns = list(new[0].row)
    with _cursor(conn) as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('money_transactions', 'id')) FROM generate_series(1, %s)",
            (len(new),),
        )
        ids = [int(row[0]) for row in cursor.fetchall()]
        with cursor.copy(
            f"COPY money_transactions (id, account_id, {', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row_id, w in zip(ids, new, strict=True):
                copy.write_row((row_id, account_id, *(w.row.get(c) for c in columns)))
    return list(zip(ids, new, strict=True))


def _write_transactions(
    conn: Connection, result: MoneyWrite, transactions: Sequence[TransactionWrite]
) -> None:
    t = money_transactions.c
    account_id = result.account_id
    size = 5_000 if conn.dialect.name == "postgresql" else _CHUNK
    for chunk in _chunks(list(transactions), size):
        stored = _stored(conn, account_id, [w.ebay_id for w in chunk])
        new = [w for w in chunk if w.ebay_id not in stored]
        changed: list[tuple[int, TransactionWrite]] = []
        for w in chunk:
            old = stored.get(w.ebay_id)
            if old is None:
                continue
            row = dict(w.row)
            if row.get("payout_id") is None and old["payout_id"] is not None:
                row["payout_id"] = old["payout_id"]  # eBay never takes a payout back
            if all(_same(row.get(n), old[n]) for n in COMPARED_COLUMNS):
                result.unchanged += 1
            else:
                changed.append((int(old["id"]), TransactionWrite(row, w.lines, w.fees)))
        if new:
            _write_children(conn, account_id, _insert_new(conn, account_id, new))
            result.imported += len(new)
        for row_id, w in changed:
            conn.execute(update(money_transactions).where(t.id == row_id).values(**w.row))
        if changed:
            changed_ids = [row_id for row_id, _ in changed]
            conn.execute(delete(money_fees).where(money_fees.c.transaction_id.in_(changed_ids)))
            conn.execute(delete(money_lines).where(money_lines.c.transaction_id.in_(changed_ids)))
            _write_children(conn, account_id, changed)
            result.updated += len(changed)


def _same(new: Any, old: Any) -> bool:
    if isinstance(new, Decimal) or isinstance(old, Decimal):
        return new is not None and old is not None and Decimal(new) == Decimal(old)
    if isinstance(old, dt.datetime) and isinstance(new, dt.date) and not isinstance(new, dt.datetime):
        return old.date() == new
    return bool(new == old)


def _write_children(
    conn: Connection, account_id: int, written: Sequence[tuple[int, TransactionWrite]]
) -> None:
    lines = [{**line, "transaction_id": row_id} for row_id, w in written for line in w.lines]
    fees = [
        {**fee, "transaction_id": row_id, "account_id": account_id, "booked_on": w.row["booked_on"]}
        for row_id, w in written
        for fee in w.fees
    ]
    if conn.dialect.name == "postgresql":
        with _cursor(conn) as cursor:
            for table, columns, rows in (
                ("money_lines", _LINE_COLUMNS, lines),
                ("money_fees", _FEE_COLUMNS, fees),
            ):
                if rows:
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(tuple(row.get(c) for c in columns))
        return
    if lines:
        conn.execute(insert(money_lines), lines)
    if fees:
        conn.execute(insert(money_fees), fees)


def _write_payouts(conn: Connection, result: MoneyWrite, payout_rows: Sequence[Mapping[str, Any]]) -> None:
    p = payouts.c
    compared = ("amount", "currency", "paid_on", "status", "transaction_count", "fee")
    for chunk in _chunks(list(payout_rows)):
        stored = {
            row.ebay_payout_id: row
            for row in conn.execute(
                select(p.id, p.ebay_payout_id, *(p[name] for name in compared)).where(
                    p.account_id == result.account_id,
                    p.ebay_payout_id.in_([r["ebay_payout_id"] for r in chunk]),
                )
            )
        }
        new = [{**r, "account_id": result.account_id} for r in chunk if r["ebay_payout_id"] not in stored]
        if new:
            conn.execute(insert(payouts), new)
            result.payouts_imported += len(new)
        for r in chunk:
            old = stored.get(r["ebay_payout_id"])
            if old is None:
                continue
            row = {k: v for k, v in r.items() if v is not None}  # a later copy adds, never clears
            if all(_same(row.get(name, old._mapping[name]), old._mapping[name]) for name in compared):
                result.payouts_unchanged += 1
            else:
                conn.execute(update(payouts).where(p.id == old.id).values(**row))
                result.payouts_updated += 1


# -- cost of goods --------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class CostRow:
    """One cost of goods: ``unit_cost`` (account currency, per unit) of ``sku`` from ``valid_from``
    (a day in the account's time zone) until the next row of the same SKU."""

    sku: str
    valid_from: dt.date
    unit_cost: Decimal


@dataclass
class CostWrite:
    """What a cost write changed: rows added, changed, removed, left as they were."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    changes: list[tuple[str, dt.date, Decimal | None, Decimal | None]] = field(default_factory=list)


def _stored_costs(conn: Connection, account_id: int) -> dict[tuple[str, dt.date], tuple[int, Decimal]]:
    c = sku_costs.c
    rows = conn.execute(select(c.id, c.sku, c.valid_from, c.unit_cost).where(c.account_id == account_id))
    return {(r.sku, _as_date(r.valid_from)): (int(r.id), r.unit_cost) for r in rows}


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _apply_costs(
    conn: Connection,
    account_id: int,
    rows: Sequence[CostRow],
    *,
    remove_missing: bool,
    source: str,
    file: str | None,
    now: dt.datetime,
) -> CostWrite:
    result = CostWrite()
    stored = _stored_costs(conn, account_id)
    incoming = {(r.sku, r.valid_from): r.unit_cost for r in rows}
    c = sku_costs.c
    for key, cost in incoming.items():
        old = stored.get(key)
        if old is None:
            conn.execute(
                insert(sku_costs).values(account_id=account_id, sku=key[0], valid_from=key[1], unit_cost=cost)
            )
            result.added += 1
            result.changes.append((key[0], key[1], None, cost))
        elif old[1] != cost:
            conn.execute(update(sku_costs).where(c.id == old[0]).values(unit_cost=cost))
            result.changed += 1
            result.changes.append((key[0], key[1], old[1], cost))
        else:
            result.unchanged += 1
    if remove_missing:
        for key, (row_id, old_cost) in stored.items():
            if key not in incoming:
                conn.execute(delete(sku_costs).where(c.id == row_id))
                result.removed += 1
                result.changes.append((key[0], key[1], old_cost, None))
    if result.changes:
        conn.execute(
            insert(sku_cost_changes),
            [
                {
                    "account_id": account_id,
                    "sku": sku,
                    "valid_from": valid_from,
                    "old_unit_cost": old_cost,
                    "new_unit_cost": new_cost,
                    "changed_at": now,
                    "source": source,
                    "file": file,
                }
                for sku, valid_from, old_cost, new_cost in result.changes
            ],
        )
    return result


def write_costs(
    db: Database, account_id: int, rows: Sequence[CostRow], *, file: str | None, now: dt.datetime
) -> CostWrite:
    """Add or change the costs ``rows`` (unique by SKU and valid-from day) of the account, logging
    each change (source ``csv``); costs not in ``rows`` stay. One transaction: all or nothing."""
    try:
        with db.transaction(timeout_ms=IMPORT_TIMEOUT_MS) as conn:
            return apply_costs(conn, account_id, rows, file=file, now=now)
    except (sa_exc.IntegrityError, sa_exc.DataError) as exc:
        raise _refused(exc) from exc


def apply_costs(
    conn: Connection, account_id: int, rows: Sequence[CostRow], *, file: str | None, now: dt.datetime
) -> CostWrite:
    """:func:`write_costs` inside the caller's transaction (the demo's costs are written with it
    while the demo loads): the same rows, change log (source ``csv``) and data-version bump."""
    data_versions.bump(conn, account_id)  # the cache's invalidation, with the data
    return _apply_costs(conn, account_id, rows, remove_missing=False, source="csv", file=file, now=now)


def replace_costs(db: Database, account_id: int, rows: Sequence[CostRow], *, now: dt.datetime) -> CostWrite:
    """Make the account's costs exactly ``rows`` (the app's editor: rows deleted there are removed),
    logging each change (source ``editor``). One transaction: all or nothing."""
    try:
        with db.transaction(timeout_ms=IMPORT_TIMEOUT_MS) as conn:
            data_versions.bump(conn, account_id)  # the cache's invalidation, with the data
            return _apply_costs(
                conn, account_id, rows, remove_missing=True, source="editor", file=None, now=now
            )
    except (sa_exc.IntegrityError, sa_exc.DataError) as exc:
        raise _refused(exc) from exc


def list_costs(db: Database, account_id: int) -> Sequence[Row[Any]]:
    """The account's costs: ``sku, valid_from, unit_cost``, by SKU then day."""
    c = sku_costs.c
    stmt = (
        select(c.sku, c.valid_from, c.unit_cost)
        .where(c.account_id == account_id)
        .order_by(c.sku, c.valid_from)
    )
    return db.fetch_all("list_costs", stmt)


def cost_changes(db: Database, account_id: int, limit: int = 200) -> Sequence[Row[Any]]:
    """The newest ``limit`` cost changes of the account, newest first."""
    h = sku_cost_changes.c
    stmt = (
        select(h.changed_at, h.sku, h.valid_from, h.old_unit_cost, h.new_unit_cost, h.source, h.file)
        .where(and_(h.account_id == account_id))
        .order_by(h.changed_at.desc(), h.id.desc())
        .limit(limit)
    )
    return db.fetch_all("cost_changes", stmt)


def has_money_tables(conn: Connection) -> bool:
    """Whether the database holds the money tables (revision 0005 on): the migration tests seed
    databases from before it."""
    return inspect(conn).has_table(money_transactions.name)
