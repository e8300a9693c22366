"""The cached order repository on SQLite and Postgres: reads are cached, an update invalidates
exactly the account it touched, and bad input changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from ebaydash import services
from ebaydash.context import Context, build_context
from ebaydash.db.engine import Database
from ebaydash.db.schema import orders
from ebaydash.errors import InvalidInput, NotFound
from ebaydash.models import OrderFilter, Window
from ebaydash.seeding import seed_demo
from ebaydash.services import OrderRepository
from ebaydash.settings import Settings
from tests.conftest import SAMPLE_DIR

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    seed_demo(db, SAMPLE_DIR)
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def queries_run(ctx: Context) -> int:
    return ctx.recorder.snapshot(3600, scope="process").queries.count


def two_accounts(ctx: Context) -> tuple[int, int]:
    with ctx.db.connect() as conn:
        rows = conn.execute(
            select(orders.c.account_id).group_by(orders.c.account_id).order_by(func.count().desc()).limit(2)
        ).all()
    return int(rows[0][0]), int(rows[1][0])


def test_get_and_list_read_through_the_cache(ctx: Context) -> None:
    account_id, _ = two_accounts(ctx)
    repo = OrderRepository(ctx, account_id)
    page = repo.list(OrderFilter(statuses=("shipped",)), page_size=50)
    assert page.rows and {r.status for r in page.rows} == {"shipped"}
    with ctx.db.connect() as conn:
        shipped = conn.execute(
            select(func.count()).where(orders.c.account_id == account_id, orders.c.status == "shipped")
        ).scalar_one()
    assert repo.count(OrderFilter(statuses=("shipped",))) == shipped
    detail = repo.get(page.rows[0].id)
    assert detail.order == page.rows[0]
    before = queries_run(ctx)
    assert repo.list(OrderFilter(statuses=("shipped",)), page_size=50) == page
    assert repo.get(page.rows[0].id) == detail
    assert queries_run(ctx) == before  # both from the cache


def test_an_order_of_another_account_is_not_found(ctx: Context) -> None:
    mine, other = two_accounts(ctx)
    theirs = OrderRepository(ctx, other).list().rows[0]
    with pytest.raises(NotFound):
        OrderRepository(ctx, mine).get(theirs.id)
    with pytest.raises(NotFound):
        OrderRepository(ctx, mine).update_status(theirs.id, "shipped")
    assert OrderRepository(ctx, other).get(theirs.id).order.status == theirs.status


def test_update_invalidates_the_account_it_changed_and_no_other(ctx: Context) -> None:
    mine, other = two_accounts(ctx)
    repo = OrderRepository(ctx, mine)
    window = Window(NOW - dt.timedelta(days=3650), NOW + dt.timedelta(days=1))
    order = next(r for r in repo.list(page_size=100).rows if r.status != "cancelled")
    kpis_before = services.kpis(ctx, mine, window)
    other_kpis = services.kpis(ctx, other, window)
    assert repo.get(order.id).order.status == order.status  # cached now

    updated = repo.update_status(order.id, "cancelled")

    assert updated.order.status == "cancelled"
    assert updated.updated_at > order.order_date
    assert repo.get(order.id).order.status == "cancelled"  # not the cached old row
    kpis_after = services.kpis(ctx, mine, window)
    assert kpis_after.cancelled.current == kpis_before.cancelled.current + 1
    assert kpis_after.orders.current == kpis_before.orders.current - 1
    assert kpis_after.revenue.current == kpis_before.revenue.current - (
        order.total_amount - order.refunded_amount
    )
    before = queries_run(ctx)
    assert services.kpis(ctx, other, window) == other_kpis
    assert queries_run(ctx) == before  # the other account's figures were left in the cache


def test_bad_updates_change_nothing(ctx: Context) -> None:
    mine, _ = two_accounts(ctx)
    repo = OrderRepository(ctx, mine)
    order = repo.list().rows[0]
    version = ctx.cache.version(f"acct:{mine}")
    with pytest.raises(InvalidInput, match="Unknown order status"):
        repo.update_status(order.id, "teleported")
    with pytest.raises(NotFound, match="does not exist"):
        repo.update_status(10**12, "shipped")
    assert repo.get(order.id, fresh=True).order.status == order.status
    assert ctx.cache.version(f"acct:{mine}") == version  # nothing was invalidated for nothing


def test_the_service_function_goes_through_the_repository(ctx: Context) -> None:
    mine, _ = two_accounts(ctx)
    order = OrderRepository(ctx, mine).list().rows[0]
    status = "refunded" if order.status != "refunded" else "paid"
    assert services.update_order_status(ctx, mine, order.id, status).order.status == status
    assert services.order_detail(ctx, mine, order.id).order.status == status
