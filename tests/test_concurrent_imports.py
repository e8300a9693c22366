"""Writers never fail on each other (issue 10): two imports whose transactions overlap, into the
same account or into different ones, both succeed on Postgres, with no order twice.

The overlap is made certain, not left to timing: the first import stops inside its transaction
(after its first write) until the second has started and had time to reach whatever the first
holds; only then does the first go on and commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from ebaydash import services
from ebaydash.context import Context, build_context
from ebaydash.db import meta as meta_rows
from ebaydash.db.schema import accounts, meta, orders
from ebaydash.db.upsert import postgres
from ebaydash.services import ImportFile, ImportReport
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, PG_ADMIN_URL, _postgres_available, new_postgres_database, require
from tests.test_importers import FIXTURES

PAGES = ("getorders_page1.json", "getorders_page2.json")
HOLD_S = 1.5  # how long the first import keeps its transaction open once the second has started


@pytest.fixture
def pg_url() -> Iterator[str]:
    require(_postgres_available(), f"Postgres at {PG_ADMIN_URL}")
    yield from new_postgres_database()


@pytest.fixture
def two_contexts(pg_url: str, tmp_path: Any) -> Iterator[tuple[Context, Context]]:
    """Two processes' worth of objects on one new database (each with its own pool)."""
    settings = Settings(database_url=pg_url, data_dir=str(tmp_path))
    first, second = build_context(settings, start_sampler=False), build_context(settings, start_sampler=False)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def _files() -> list[ImportFile]:
    return [ImportFile(name, (FIXTURES / name).read_bytes()) for name in PAGES]


def _overlapping(
    monkeypatch: pytest.MonkeyPatch, first: Context, second: Context, first_account: str, second_account: str
) -> tuple[ImportReport, ImportReport]:
    """Run two imports whose transactions overlap; their reports (an exception is re-raised)."""
    inside = threading.Event()
    real_write = postgres.write_orders
    holder: list[int] = []

    def write_orders(conn: Any, account_id: int, plan: Any) -> None:
        real_write(conn, account_id, plan)
        if not holder:  # the first writer to get here waits inside its transaction
            holder.append(account_id)
            inside.set()
            time.sleep(HOLD_S)

    monkeypatch.setattr(postgres, "write_orders", write_orders)
    results: dict[str, ImportReport | BaseException] = {}

    def run(key: str, ctx: Context, account: str) -> None:
        try:
            results[key] = services.import_orders(ctx, OPERATOR, _files(), account_name=account)
        except BaseException as exc:  # reported below, in the test's thread
            results[key] = exc

    a = threading.Thread(target=run, args=("a", first, first_account))
    a.start()
    assert inside.wait(30), "the first import never reached its write"
    b = threading.Thread(target=run, args=("b", second, second_account))
    b.start()
    a.join(60)
    b.join(60)
    for key in ("a", "b"):
        outcome = results[key]
        if isinstance(outcome, BaseException):
            raise AssertionError(f"import {key} failed: {outcome}") from outcome
    ra, rb = results["a"], results["b"]
    assert isinstance(ra, ImportReport) and isinstance(rb, ImportReport)
    return ra, rb


def _duplicates(ctx: Context) -> int:
    with ctx.db.connect() as conn:
        per_key = (
            select(orders.c.account_id, orders.c.ebay_order_id, func.count().label("n"))
            .group_by(orders.c.account_id, orders.c.ebay_order_id)
            .subquery()
        )
        twice = select(func.count()).select_from(per_key).where(per_key.c.n > 1)
        return int(conn.execute(twice).scalar_one())


def _order_counts(ctx: Context) -> dict[str, int]:
    with ctx.db.connect() as conn:
        rows = conn.execute(
            select(accounts.c.name, func.count(orders.c.id))
            .select_from(accounts.outerjoin(orders))
            .group_by(accounts.c.name)
        ).all()
    return {name: int(n) for name, n in rows}


def test_two_overlapping_imports_into_one_new_account_both_succeed(
    two_contexts: tuple[Context, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_contexts
    ra, rb = _overlapping(monkeypatch, first, second, "Shop", "shop")  # one account, any case
    assert ra.committed and rb.committed
    assert ra.account_id == rb.account_id
    assert ra.account_created != rb.account_created  # one made it, the other found it
    assert ra.imported > 0 and rb.imported == 0 and rb.unchanged == ra.imported  # the second saw the first's
    assert _order_counts(first) == {"Shop": ra.imported}
    assert _duplicates(first) == 0


def test_two_overlapping_imports_into_different_accounts_both_succeed(
    two_contexts: tuple[Context, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_contexts
    ra, rb = _overlapping(monkeypatch, first, second, "Shop A", "Shop B")
    assert ra.committed and rb.committed and ra.account_id != rb.account_id
    assert ra.imported == rb.imported > 0
    assert _order_counts(first) == {"Shop A": ra.imported, "Shop B": rb.imported}
    assert _duplicates(first) == 0
    with first.db.connect() as conn:  # same seller in both files: the second got a suffixed id
        ids = sorted(conn.execute(select(accounts.c.ebay_user_id)).scalars())
    assert len(set(ids)) == 2 and ids[1] == f"{ids[0]}-2"


def test_an_import_rewrites_no_global_row(two_contexts: tuple[Context, Context]) -> None:
    """The demo flag is written by the first import into a demo database only; an import into a
    database that is not (or no longer) the demo writes no row of ebaydash_meta at all."""
    ctx, _ = two_contexts
    with ctx.db.transaction() as conn:
        meta_rows.set_meta(conn, meta_rows.DEMO_PRISTINE, "yes")
    services.import_orders(ctx, OPERATOR, _files(), account_name="Shop")
    with ctx.db.connect() as conn:
        assert meta_rows.get_meta(conn, meta_rows.DEMO_PRISTINE) == "no"  # control: the flag works
        xmin = conn.execute(select(meta.c.key, _xmin()).order_by(meta.c.key)).all()
    services.import_orders(ctx, OPERATOR, _files(), account_name="Other")
    with ctx.db.connect() as conn:
        assert conn.execute(select(meta.c.key, _xmin()).order_by(meta.c.key)).all() == xmin


def _xmin() -> Any:
    """Postgres's xmin system column: the transaction that wrote the row version (it changes on
    every UPDATE, and a DELETE + INSERT makes a new row)."""
    from sqlalchemy import literal_column

    return literal_column("ebaydash_meta.xmin::text")
