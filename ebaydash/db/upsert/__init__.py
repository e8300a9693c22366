"""Writing a seller's orders (:class:`~ebaydash.models.OrderRecord`) into an account.

:func:`write_import` is one transaction, all or nothing: the account is created if needed, the
orders arrive in batches (so a caller can parse them as the write goes, and memory does not grow
with the import), every order is planned against what is stored (:mod:`.plan`) and written by the
backend's module (:mod:`.postgres`, :mod:`.sqlite`). A row the database refuses becomes
:class:`~ebaydash.errors.ImportFailed` with a message for the seller; nothing is changed then, nor
when the batches themselves raise.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Row

from ebaydash.db import data_versions, meta, rollups
from ebaydash.db.engine import Database
from ebaydash.db.schema import accounts, orders
from ebaydash.db.upsert import plan, postgres, sqlite
from ebaydash.db.upsert.plan import UpsertCounts
from ebaydash.errors import ImportFailed
from ebaydash.models import Account, OrderRecord

# the columns an Account is made of (the table has more: its data version)
ACCOUNT_FIELDS = ("id", "name", "ebay_user_id", "marketplace", "currency", "timezone")
IMPORT_TIMEOUT_MS = 15 * 60 * 1000  # a statement of a large import may take minutes, not 5 s
Progress = Callable[[float, str], None]  # (fraction done, what is being done)

__all__ = [
    "IMPORT_TIMEOUT_MS",
    "ImportWrite",
    "Progress",
    "UpsertCounts",
    "create_account",
    "find_account",
    "upsert_orders",
    "write_import",
]


@dataclass(frozen=True)
class ImportWrite:
    """What :func:`write_import` wrote: into which account (and whether it was new), and how many
    orders of each kind."""

    account_id: int
    account_created: bool
    counts: UpsertCounts


def find_account(db: Database, name: str) -> Account | None:
    """The account called ``name`` (ignoring case and surrounding spaces), if there is one."""
    with db.connect() as conn:
        row = _find_account(conn, name)
    return None if row is None else Account(**row._mapping)


def write_import(
    db: Database,
    batches: Iterable[Sequence[OrderRecord]],
    *,
    account_name: str,
    ebay_user_id: str,
    currency: str,
    timezone: str,
    marketplace: str,
    total: int | None = None,
    progress: Progress | None = None,
) -> ImportWrite:
    """Write the orders of ``batches`` into the account called ``account_name``, created with the
    other arguments when there is none, in ONE transaction: all batches or none.

    Each batch is a sequence of records, unique by eBay order id, and no order is in two batches
    (deduplicate across the whole import first). The batches are taken one at a time while the
    transaction is open, so a generator may read them from files as the write goes; if it raises,
    everything written so far is rolled back and its exception propagates. ``total`` is the number
    of orders expected in all, for ``progress`` (fraction done, step); without it the fraction
    follows each batch.

    Imports that overlap in time both succeed: one of the same account waits for the other (an
    advisory lock on the account, and one on its name while it is created), and none rewrites a
    global row. When anything changed, the account's data version is bumped in the same
    transaction (:mod:`ebaydash.db.data_versions`), which invalidates its cached figures.

    Raises :class:`~ebaydash.errors.ImportFailed` when the database refuses a row (a value too
    large for its column), and
    :class:`~ebaydash.errors.DatabaseError` when it cannot be reached or runs past
    :data:`IMPORT_TIMEOUT_MS`; nothing is written then.
    """
    report = progress or (lambda _fraction, _step: None)
    try:
        with db.transaction(timeout_ms=IMPORT_TIMEOUT_MS) as conn:
            # written first, in the same transaction: a seller's data is never replaced by the demo
            meta.mark_not_pristine(conn)
            # one creator per account name: a second import of a new account waits here for the
            # first to commit, then finds the account instead of failing on its unique name
            _backend(conn).lock_name(conn, " ".join(account_name.split()).lower())
            account = _find_account(conn, account_name)
            if account is None:
                account_id = _create_account_once(
                    conn,
                    name=account_name,
                    ebay_user_id=ebay_user_id,
                    currency=currency,
                    timezone=timezone,
                    marketplace=marketplace,
                )
            else:
                account_id = int(account.id)
            counts = UpsertCounts()
            written = 0
            days: set[dt.date] = set()
            for batch in batches:
                counts += upsert_orders(
                    conn,
                    account_id,
                    batch,
                    progress=_batch_progress(report, written, len(batch), total),
                    rollup_days=days,
                )
                written += len(batch)
            # once for the whole import, before the commit: a day touched by several batches is
            # recomputed once, and readers never see the orders without their rollups
            report(1.0, "updating the rollups")
            rollups.refresh_days(conn, account_id, days)
            if counts.imported or counts.updated:
                # the cache's invalidation, committed with the data (see ebaydash.db.data_versions)
                data_versions.bump(conn, account_id)
    except sa_exc.IntegrityError as exc:
        raise ImportFailed(
            "The import was rolled back and nothing was changed: the database refused a row "
            f"({_first_line(exc.orig)}). Another import may have run at the same moment; try again."
        ) from exc
    except sa_exc.DataError as exc:
        raise ImportFailed(
            "The import was rolled back and nothing was changed: a value did not fit "
            f"({_first_line(exc.orig)})."
        ) from exc
    return ImportWrite(account_id=account_id, account_created=account is None, counts=counts)


def _batch_progress(report: Progress, done: int, size: int, total: int | None) -> Progress:
    """``report`` for one batch of ``size`` orders after ``done`` were written, as a share of
    ``total`` orders (of the batch alone without one)."""
    if not total:
        return report

    def batch(fraction: float, step: str) -> None:
        written = done + fraction * size
        report(min(written / total, 1.0), f"{round(written):,} orders: {step}")

    return batch


def _create_account_once(conn: Connection, **fields: str) -> int:
    """:func:`create_account`, tried again when another transaction took the same eBay user id
    meanwhile (two new accounts from one seller's files, imported at once).

    On Postgres the INSERT waits for that transaction and then fails on the unique id; rolled back
    to a savepoint, the next try sees the committed account and picks the next suffix. SQLite has
    one writer at a time, so it cannot happen there (and pysqlite's savepoints need care)."""
    if conn.dialect.name != "postgresql":
        return create_account(conn, **fields)
    for attempt in range(3):
        try:
            with conn.begin_nested():
                return create_account(conn, **fields)
        except sa_exc.IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _backend(conn: Connection) -> Any:
    """The module that writes on ``conn``'s database (:mod:`.postgres` or :mod:`.sqlite`); looked
    up per call, since tests replace their functions to inject faults."""
    return postgres if conn.dialect.name == "postgresql" else sqlite


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "no detail"


def _find_account(conn: Connection, name: str) -> Row[Any] | None:
    """The account called ``name`` (ignoring case and surrounding spaces), if there is one."""
    wanted = " ".join(name.split()).lower()
    columns = [accounts.c[name] for name in ACCOUNT_FIELDS]
    return conn.execute(select(*columns).where(func.lower(accounts.c.name) == wanted)).first()


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
    conn: Connection,
    account_id: int,
    records: Sequence[OrderRecord],
    *,
    progress: Progress | None = None,
    rollup_days: set[dt.date] | None = None,
) -> UpsertCounts:
    """Insert or update ``records`` (unique by eBay order id) in account ``account_id``, creating
    customers and products as needed, within the caller's transaction.

    The rollups (:mod:`ebaydash.db.rollups`) of every local day an order left or entered are
    recomputed before returning; with ``rollup_days`` those days are added to it instead, and the
    caller must pass it to :func:`ebaydash.db.rollups.refresh_days` before committing."""
    seen: set[str] = set()
    for record in records:
        if record.ebay_order_id in seen:
            raise ValueError(f"order {record.ebay_order_id} appears twice; deduplicate before upserting")
        seen.add(record.ebay_order_id)
    if not records:
        return UpsertCounts()
    report = progress or (lambda _fraction, _step: None)
    backend = _backend(conn)
    # An import allocates several objects per order and keeps them all: the cycle collector
    # would rescan them again and again (a fifth of the time at 100k orders) and find nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        backend.lock(conn, account_id)
        report(0.05, "customers and products")
        customer_ids = backend.customer_ids(conn, account_id, plan.buyer_emails(records))
        product_ids = backend.product_ids(conn, account_id, plan.newest_titles(records))
        report(0.3, "comparing with stored orders")
        rows = plan.make_plan(records, customer_ids, backend.stored(conn, account_id, records))
        # the days stored orders lie in before they change (a new order date moves an order)
        tz = rollups.account_timezone(conn, account_id)
        touched = [row.order_id for row in rows if row.action in ("changed", "patched")]
        days = rollups.days_of_orders(conn, account_id, tz, touched)
        # and their customers: a changed order may leave its buyer, or stop counting them
        customers = rollups.customers_of_orders(conn, account_id, touched)
        report(0.5, "writing orders")
        backend.write_orders(conn, account_id, rows)
        _patch_orders(conn, rows)
        report(0.75, "writing items")
        backend.replace_items(conn, rows, product_ids)
        # New orders are added to their days from the records (Postgres); changed ones, and new
        # ones where that is not possible, have their days recomputed from the orders.
        new = [row.record for row in rows if row.action == "new"]
        added = rollups.add_new_orders(conn, account_id, tz, new)
        kinds = ("changed", "patched") if added else ("new", "changed", "patched")
        written = [row.order_id for row in rows if row.action in kinds]
        days |= rollups.days_of_orders(conn, account_id, tz, written)
        # new orders join their customers' rows from the records; customers of changed ones are
        # recomputed from the orders (after, so they see the new orders' share too)
        rollups.add_new_customer_orders(
            conn, account_id, tz, [(row.customer_id, row.record) for row in rows if row.action == "new"]
        )
        customers.update(
            row.customer_id
            for row in rows
            if row.action in ("changed", "patched") and row.customer_id is not None
        )
        rollups.refresh_customers(conn, account_id, customers, tz)
        if rollup_days is None:
            rollups.refresh_days(conn, account_id, days, tz)
        else:
            rollup_days |= days
    finally:
        if collecting:
            gc.enable()
    report(1.0, "done")
    actions = Counter(row.action for row in rows)
    return UpsertCounts(
        imported=actions["new"],
        updated=actions["changed"] + actions["patched"],
        unchanged=actions["same"],
        older=actions["older"],
    )


def _patch_orders(conn: Connection, rows: Sequence[plan.PlanRow]) -> None:
    """Older copies that still add a refund or cancellation (see :mod:`.plan`): only those two
    fields change. Rare and small, so one statement both backends run alike."""
    patches = [
        {"order": row.order_id, "status": row.record.status, "refunded": row.record.refunded_amount}
        for row in plan.to_patch(rows)
    ]
    if patches:
        stmt = (
            update(orders)
            .where(orders.c.id == bindparam("order"))
            .values(status=bindparam("status"), refunded_amount=bindparam("refunded"))
        )
        conn.execute(stmt, patches)
