"""Orders by id and by filter, and status updates, on SQLite and Postgres: reads are cached, an
update invalidates exactly the account it touched, and bad input changes nothing."""

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
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, SAMPLE_DIR

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
    shipped_only = OrderFilter(statuses=("shipped",))
    page = services.orders_page(ctx, OPERATOR, account_id, shipped_only, page_size=50)
    assert page.rows and {r.status for r in page.rows} == {"shipped"}
    with ctx.db.connect() as conn:
        shipped = conn.execute(
            select(func.count()).where(orders.c.account_id == account_id, orders.c.status == "shipped")
        ).scalar_one()
    assert services.orders_total(ctx, OPERATOR, account_id, shipped_only) == shipped
    detail = services.order_detail(ctx, OPERATOR, account_id, page.rows[0].id)
    assert detail.order == page.rows[0]
    before = queries_run(ctx)
    assert services.orders_page(ctx, OPERATOR, account_id, shipped_only, page_size=50) == page
    assert services.order_detail(ctx, OPERATOR, account_id, page.rows[0].id) == detail
    assert queries_run(ctx) == before  # both from the cache


def test_an_order_of_another_account_is_not_found(ctx: Context) -> None:
    mine, other = two_accounts(ctx)
    theirs = services.orders_page(ctx, OPERATOR, other, OrderFilter()).rows[0]
    with pytest.raises(NotFound):
        services.order_detail(ctx, OPERATOR, mine, theirs.id)
    with pytest.raises(NotFound):
        services.update_order_status(ctx, OPERATOR, mine, theirs.id, "shipped")
    assert services.order_detail(ctx, OPERATOR, other, theirs.id).order.status == theirs.status


def test_update_invalidates_the_account_it_changed_and_no_other(ctx: Context) -> None:
    mine, other = two_accounts(ctx)
    window = Window(NOW - dt.timedelta(days=3650), NOW + dt.timedelta(days=1))
    order = next(
        r
        for r in services.orders_page(ctx, OPERATOR, mine, OrderFilter(), page_size=100).rows
        if r.status != "cancelled"
    )
    kpis_before = services.kpis(ctx, OPERATOR, mine, window)
    other_kpis = services.kpis(ctx, OPERATOR, other, window)
    assert services.order_detail(ctx, OPERATOR, mine, order.id).order.status == order.status  # cached now

    updated = services.update_order_status(ctx, OPERATOR, mine, order.id, "cancelled")

    assert updated.order.status == "cancelled"
    assert updated.updated_at > order.order_date
    assert (
        services.order_detail(ctx, OPERATOR, mine, order.id).order.status == "cancelled"
    )  # not the cached row
    kpis_after = services.kpis(ctx, OPERATOR, mine, window)
    assert kpis_after.cancelled.current == kpis_before.cancelled.current + 1
    assert kpis_after.orders.current == kpis_before.orders.current - 1
    assert kpis_after.revenue.current == kpis_before.revenue.current - (
        order.total_amount - order.refunded_amount
    )
    before = queries_run(ctx)
    assert services.kpis(ctx, OPERATOR, other, window) == other_kpis
    assert queries_run(ctx) == before  # the other account's figures were left in the cache


def test_bad_updates_change_nothing(ctx: Context) -> None:
    mine, _ = two_accounts(ctx)
    order = services.orders_page(ctx, OPERATOR, mine, OrderFilter()).rows[0]
    version = ctx.cache.version(f"acct:{mine}")
    with pytest.raises(InvalidInput, match="Unknown order status"):
        services.update_order_status(ctx, OPERATOR, mine, order.id, "teleported")
    with pytest.raises(NotFound, match="does not exist"):
        services.update_order_status(ctx, OPERATOR, mine, 10**12, "shipped")
    assert services.order_detail(ctx, OPERATOR, mine, order.id, fresh=True).order.status == order.status
    assert ctx.cache.version(f"acct:{mine}") == version  # nothing was invalidated for nothing


def test_an_update_is_seen_by_the_next_read(ctx: Context) -> None:
    mine, _ = two_accounts(ctx)
    order = services.orders_page(ctx, OPERATOR, mine, OrderFilter()).rows[0]
    status = "refunded" if order.status != "refunded" else "paid"
    assert services.update_order_status(ctx, OPERATOR, mine, order.id, status).order.status == status
    assert services.order_detail(ctx, OPERATOR, mine, order.id).order.status == status
