"""The cached order repository: one account's orders by id and by filter, read through the cache,
and status updates that write through the database gateway and invalidate what they changed.

An update bumps the account's cache namespace (``acct:{id}``), so every cached figure of that
account (KPIs, trend, pages, totals, details) is recomputed on its next read, in this process at
once and in other processes sharing Redis within the L1 TTL. Other accounts keep their entries.
"""

from __future__ import annotations

import datetime as dt

from ebaydash.context import Context
from ebaydash.db import queries
from ebaydash.db.schema import ORDER_STATUSES
from ebaydash.errors import InvalidInput, NotFound
from ebaydash.models import OrderDetail, OrderFilter, OrdersPage
from ebaydash.services import sellers
from ebaydash.services._measure import measured


def account_namespace(account_id: int) -> str:
    """The cache namespace of everything cached about one account (as in ``@cacheable``)."""
    return f"acct:{account_id}"


class OrderRepository:
    def __init__(self, ctx: Context, account_id: int) -> None:
        self.ctx = ctx
        self.account_id = account_id

    def get(self, order_id: int, *, fresh: bool = False) -> OrderDetail:
        """One order with its line items; :class:`NotFound` if the account has no such order."""
        return sellers.order_detail(self.ctx, self.account_id, order_id, fresh=fresh)

    def list(
        self,
        flt: OrderFilter | None = None,
        *,
        sort: str = "newest",
        cursor: str | None = None,
        page_size: int = 25,
        fresh: bool = False,
    ) -> OrdersPage:
        """A page of orders matching ``flt``; pass the page's cursors to walk on."""
        return sellers.orders_page(
            self.ctx,
            self.account_id,
            flt or OrderFilter(),
            sort=sort,
            cursor=cursor,
            page_size=page_size,
            fresh=fresh,
        )

    def count(self, flt: OrderFilter | None = None, *, fresh: bool = False) -> int:
        return sellers.orders_total(self.ctx, self.account_id, flt or OrderFilter(), fresh=fresh)

    def update_status(self, order_id: int, status: str) -> OrderDetail:
        """Change an order's status, then invalidate the account's cached figures and return the
        order as it now is."""
        if status not in ORDER_STATUSES:
            raise InvalidInput(f"Unknown order status {status!r}; choose from {', '.join(ORDER_STATUSES)}.")
        now = dt.datetime.now(dt.UTC)
        if not queries.update_order_status(self.ctx.db, self.account_id, order_id, status, now):
            raise NotFound(f"Order {order_id} does not exist in this account.")
        # after the commit: a reader in between would cache the old row again under the new version
        self.ctx.cache.invalidate(account_namespace(self.account_id))
        return self.get(order_id)


@measured("update_order_status")
def update_order_status(ctx: Context, account_id: int, order_id: int, status: str) -> OrderDetail:
    """Set an order's status; every cached figure of its account reflects it on the next read."""
    return OrderRepository(ctx, account_id).update_status(order_id, status)
