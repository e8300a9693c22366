"""The profit figures' SQL (issue 15): one statement per function, aggregated in the database.

Periods are local days of the account (``booked_on`` is the day in its time zone): the current
period is ``[first, last]`` and the previous one ``[previous_first, first)``, read in one range and
split with FILTER, like :func:`ebaydash.db.queries.account_kpis`. Amounts are the ``*_payout``
columns: the account's currency, converted at each transaction's own rate when it was written.

A transaction names its order by eBay's id (text): the order may be imported after its money, so
the join to ``orders`` on (account_id, ebay_order_id) is made here, when a figure runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select, true, type_coerce, union_all
from sqlalchemy.engine import Row

from ebaydash.db.engine import Database
from ebaydash.db.schema import (
    accounts,
    money_fees,
    money_lines,
    money_transactions,
    order_items,
    orders,
    payouts,
    products,
    sku_costs,
)
from ebaydash.db.types import Money

__all__ = [
    "Period",
    "cost_of_goods",
    "fees_by_type",
    "money_figures",
    "payout_summaries",
    "payout_transactions",
    "product_profits",
    "skus_without_cost",
]

t = money_transactions.c
f = money_fees.c


class Period:
    """The current days ``[first, last]`` and the previous ones from ``previous_first``."""

    def __init__(self, first: dt.date, last: dt.date, previous_first: dt.date) -> None:
        self.first, self.last, self.previous_first = first, last, previous_first

    def span(self, account_id: int) -> ColumnElement[bool]:
        return and_(t.account_id == account_id, t.booked_on >= self.previous_first, t.booked_on <= self.last)

    def current(self) -> ColumnElement[bool]:
        return t.booked_on >= self.first


def _money(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    return type_coerce(func.coalesce(expression, literal(0)), Money)


def money_figures(
    db: Database,
    account_id: int,
    period: Period,
    bounds: tuple[dt.datetime, dt.datetime, dt.datetime] | None = None,
) -> Row[Any]:
    """One row: for ``_cur`` and ``_prev``, ``transactions`` (count), ``sales`` (gross of sales),
    ``net`` (net proceeds: every net amount but holds), ``labels`` (shipping labels, positive),
    ``fees`` (fees proper: ``fees_payout``) and ``ads`` (Promoted Listings fees), plus the account's
    ``currency`` (``None``: no such account), ``any_money`` (the account has a money record at all)
    and, given ``bounds`` (previous start, current start, end: UTC instants, half-open),
    ``orders_cur``/``orders_prev`` (an order was placed in that window; False without bounds), which
    tell a period without activity (known zeros) from one whose money is not imported. One index
    range, no fee lines read; the rest are EXISTS probes of indexes."""
    cur = period.current()

    def figures(when: ColumnElement[bool], suffix: str) -> list[ColumnElement[Any]]:
        return [
            func.count().filter(when).label(f"transactions_{suffix}"),
            _money(func.sum(t.gross_payout).filter(and_(when, t.type == "sale"))).label(f"sales_{suffix}"),
            _money(func.sum(t.net).filter(and_(when, t.type != "hold"))).label(f"net_{suffix}"),
            _money(-func.sum(t.net).filter(and_(when, t.type == "shipping_label"))).label(f"labels_{suffix}"),
            _money(func.sum(t.fees_payout).filter(when)).label(f"fees_{suffix}"),
            _money(func.sum(t.ad_fees_payout).filter(when)).label(f"ads_{suffix}"),
        ]

    agg = select(*figures(cur, "cur"), *figures(~cur, "prev")).where(period.span(account_id)).subquery()
    currency = select(accounts.c.currency).where(accounts.c.id == account_id).scalar_subquery()
    any_money = exists().where(t.account_id == account_id)

    def placed(start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
        o = orders.c
        return exists().where(o.account_id == account_id, o.order_date >= start, o.order_date < end)

    orders_cur: ColumnElement[bool]
    orders_prev: ColumnElement[bool]
    if bounds is None:
        orders_cur, orders_prev = literal(False), literal(False)
    else:
        previous_start, start, end = bounds
        orders_cur, orders_prev = placed(start, end), placed(previous_start, start)
    stmt = select(
        agg,
        currency.label("currency"),
        any_money.label("any_money"),
        orders_cur.label("orders_cur"),
        orders_prev.label("orders_prev"),
    )
    row = db.fetch_one("money_figures", stmt, replica_ok=True)
    assert row is not None
    return row


def fees_by_type(
    db: Database, account_id: int, period: Period, *, excluded_fee_types: Sequence[str]
) -> Sequence[Row[Any]]:
    """``fee_type, cur, prev``: fees of each type (but ``excluded_fee_types``) in both periods,
    largest current first."""
    cur = f.booked_on >= period.first
    stmt = (
        select(
            f.fee_type,
            _money(func.sum(f.amount_payout).filter(cur)).label("cur"),
            _money(func.sum(f.amount_payout).filter(~cur)).label("prev"),
        )
        .where(
            f.account_id == account_id,
            f.booked_on >= period.previous_first,
            f.booked_on <= period.last,
            f.fee_type.not_in(list(excluded_fee_types)),
        )
        .group_by(f.fee_type)
        .order_by(func.sum(f.amount_payout).filter(cur).desc(), f.fee_type)
    )
    return db.fetch_all("fees_by_type", stmt, replica_ok=True)


def _linked_order(account_id: int) -> ColumnElement[bool]:
    return and_(orders.c.account_id == account_id, orders.c.ebay_order_id == t.order_id)


def _sold_units(account_id: int, span: ColumnElement[bool], *, cte: bool = False) -> Any:
    """Units sold by the sales of ``span``: ``transaction_id, booked_on, sku, quantity``. From the
    order's lines when the order is imported, else from the lines the money record carries (the
    Transaction report names SKU and quantity; getTransactions does not)."""
    oi = order_items.c
    from_orders = (
        select(t.id.label("transaction_id"), t.booked_on, oi.sku, oi.quantity)
        .select_from(
            money_transactions.join(orders, _linked_order(account_id)).join(
                order_items, oi.order_id == orders.c.id
            )
        )
        .where(span, t.type == "sale")
    )
    ml = money_lines.c
    from_records = (
        select(t.id.label("transaction_id"), t.booked_on, ml.sku, ml.quantity)
        .select_from(money_transactions.join(money_lines, ml.transaction_id == t.id))
        .where(
            span,
            t.type == "sale",
            ml.sku.is_not(None),
            ml.quantity.is_not(None),
            ~exists().where(_linked_order(account_id)),
        )
    )
    both = union_all(from_orders, from_records)
    return both.cte("units") if cte else both.subquery("units")


def _cost_periods(account_id: int) -> Any:
    """The account's costs as periods: ``sku, valid_from, valid_to`` (the SKU's next valid-from,
    NULL for the latest) and ``unit_cost``. Joined on the SKU and the day, each sold row meets at
    most one period, so the join never fans out; one hash join instead of a lookup per row."""
    c = sku_costs.c
    return (
        select(
            c.sku,
            c.valid_from,
            func.lead(c.valid_from).over(partition_by=c.sku, order_by=c.valid_from).label("valid_to"),
            c.unit_cost,
        )
        .where(c.account_id == account_id)
        .subquery("cost_periods")
    )


def _in_force(costs: Any, sku: Any, day: Any) -> ColumnElement[bool]:
    return and_(
        costs.c.sku == sku,
        costs.c.valid_from <= day,
        or_(costs.c.valid_to.is_(None), day < costs.c.valid_to),
    )


def cost_of_goods(db: Database, account_id: int, period: Period) -> Row[Any]:
    """One row: ``cogs_cur/prev`` (Σ units × the cost in force on the sale's day), ``missing_cur/prev``
    (SKU-days sold without a cost in force) and ``unitless_cur/prev`` (sales whose units are not
    known: neither the order nor SKU lines imported)."""
    # a CTE: read by the cost aggregate and by the count of sales that have units
    units = _sold_units(account_id, period.span(account_id), cte=True)
    # units summed per SKU and day first: fewer rows to meet their cost
    per_day = (
        select(units.c.sku, units.c.booked_on, func.sum(units.c.quantity).label("quantity"))
        .group_by(units.c.sku, units.c.booked_on)
        .subquery("per_day")
    )
    costs = _cost_periods(account_id)
    costed = (
        select(per_day.c.booked_on, per_day.c.quantity, costs.c.unit_cost)
        .select_from(per_day.outerjoin(costs, _in_force(costs, per_day.c.sku, per_day.c.booked_on)))
        .subquery("costed")
    )
    cur = costed.c.booked_on >= period.first
    line_cost = costed.c.quantity * costed.c.unit_cost
    cost_agg = select(
        _money(func.sum(line_cost).filter(cur)).label("cogs_cur"),
        _money(func.sum(line_cost).filter(~cur)).label("cogs_prev"),
        func.count().filter(and_(cur, costed.c.unit_cost.is_(None))).label("missing_cur"),
        func.count().filter(and_(~cur, costed.c.unit_cost.is_(None))).label("missing_prev"),
    ).subquery("cost_agg")
    # sales whose units are not known = the period's sales − those with a row in units (cheaper
    # than two anti-joins per sale: the units are read anyway)
    with_units = select(units.c.transaction_id, units.c.booked_on).distinct().subquery("with_units")
    known = with_units.c.booked_on >= period.first
    known_agg = select(
        func.count().filter(known).label("known_cur"), func.count().filter(~known).label("known_prev")
    ).subquery("known_agg")
    sales_agg = (
        select(
            func.count().filter(period.current()).label("sales_cur"),
            func.count().filter(~period.current()).label("sales_prev"),
        )
        .where(period.span(account_id), t.type == "sale")
        .subquery("sales_agg")
    )
    unitless_agg = (
        select(
            (sales_agg.c.sales_cur - known_agg.c.known_cur).label("unitless_cur"),
            (sales_agg.c.sales_prev - known_agg.c.known_prev).label("unitless_prev"),
        )
        .select_from(sales_agg.join(known_agg, true()))
        .subquery("unitless_agg")
    )
    stmt = select(cost_agg, unitless_agg).select_from(cost_agg.join(unitless_agg, true()))
    row = db.fetch_one("cost_of_goods", stmt, replica_ok=True)
    assert row is not None
    return row


def skus_without_cost(db: Database, account_id: int, period: Period, limit: int = 20) -> list[str]:
    """SKUs sold in the current period with no cost in force on a day they sold, by SKU."""
    current = and_(t.account_id == account_id, t.booked_on >= period.first, t.booked_on <= period.last)
    units = _sold_units(account_id, current)
    per_day = select(units.c.sku, units.c.booked_on).distinct().subquery("per_day")
    costs = _cost_periods(account_id)
    stmt = (
        select(per_day.c.sku)
        .select_from(per_day.outerjoin(costs, _in_force(costs, per_day.c.sku, per_day.c.booked_on)))
        .where(costs.c.unit_cost.is_(None))
        .group_by(per_day.c.sku)
        .order_by(per_day.c.sku)
        .limit(limit)
    )
    return [str(r.sku) for r in db.fetch_all("skus_without_cost", stmt, replica_ok=True)]


def product_profits(
    db: Database, account_id: int, period: Period, *, excluded_fee_types: Sequence[str], limit: int
) -> Sequence[Row[Any]]:
    """``sku, title, units, revenue, fees, cogs, missing`` per SKU over the lines of the current
    period's sales whose order is imported (a line's price comes with its order): revenue =
    quantity × unit price, fees = those eBay charged on that line (matched by line item id), cogs =
    quantity × the cost in force. Ranked by revenue − fees − cogs; SKUs with a missing cost last."""
    oi = order_items.c
    ml = money_lines.c
    current = and_(t.account_id == account_id, t.booked_on >= period.first, t.booked_on <= period.last)
    costs = _cost_periods(account_id)
    line_fees = (
        select(func.sum(f.amount_payout))
        .select_from(
            money_fees.join(money_lines, and_(ml.transaction_id == f.transaction_id, ml.line_no == f.line_no))
        )
        .where(
            f.transaction_id == t.id,
            ml.line_item_id == oi.line_item_id,
            f.fee_type.not_in(list(excluded_fee_types)),
        )
        .scalar_subquery()
    )
    lines = (
        select(
            oi.sku,
            oi.title,
            oi.quantity,
            (oi.quantity * oi.unit_price).label("revenue"),
            func.coalesce(line_fees, literal(0)).label("fees"),
            costs.c.unit_cost,
        )
        .select_from(
            money_transactions.join(orders, _linked_order(account_id))
            .join(order_items, oi.order_id == orders.c.id)
            .outerjoin(costs, _in_force(costs, oi.sku, t.booked_on))
        )
        .where(current, t.type == "sale")
        .offset(0)  # each line's cost and fees looked up once, not once per aggregate reading them
        .subquery("lines")
    )
    cogs = func.sum(lines.c.quantity * lines.c.unit_cost)
    missing = func.count().filter(lines.c.unit_cost.is_(None))
    profit = func.sum(lines.c.revenue) - func.sum(lines.c.fees) - func.coalesce(cogs, literal(0))
    agg = (
        select(
            lines.c.sku,
            func.max(lines.c.title).label("line_title"),
            func.sum(lines.c.quantity).label("units"),
            _money(func.sum(lines.c.revenue)).label("revenue"),
            _money(func.sum(lines.c.fees)).label("fees"),
            _money(cogs).label("cogs"),
            missing.label("missing"),
            profit.label("profit"),
        )
        .group_by(lines.c.sku)
        .subquery("agg")
    )
    stmt = (
        select(
            agg.c.sku,
            func.coalesce(products.c.title, agg.c.line_title).label("title"),
            agg.c.units,
            type_coerce(agg.c.revenue, Money).label("revenue"),
            type_coerce(agg.c.fees, Money).label("fees"),
            type_coerce(agg.c.cogs, Money).label("cogs"),
            agg.c.missing,
        )
        .select_from(
            agg.outerjoin(products, and_(products.c.account_id == account_id, products.c.sku == agg.c.sku))
        )
        .order_by((agg.c.missing > 0).asc(), agg.c.profit.desc(), agg.c.sku)
        .limit(limit)
    )
    return db.fetch_all("product_profits", stmt, replica_ok=True)


def payout_summaries(
    db: Database, account_id: int, limit: int = 100, days: tuple[dt.date, dt.date] | None = None
) -> Sequence[Row[Any]]:
    """The newest ``limit`` payouts (paid on ``days``, first and last inclusive, when given):
    ``payout_id, paid_on, amount, currency, status, transactions, transactions_net`` (Σ net of the
    transactions naming the payout, in its currency)."""
    p = payouts.c
    paid = [p.account_id == account_id]
    if days is not None:
        paid += [p.paid_on >= days[0], p.paid_on <= days[1]]  # ix_payouts_account_paid
    named = (
        select(
            t.payout_id,
            func.count().label("transactions"),
            func.sum(t.net).label("transactions_net"),
        )
        .where(t.account_id == account_id, t.payout_id.is_not(None))
        .group_by(t.payout_id)
        .subquery("named")
    )
    stmt = (
        select(
            p.ebay_payout_id.label("payout_id"),
            p.paid_on,
            p.amount,
            p.currency,
            p.status,
            func.coalesce(named.c.transactions, literal(0)).label("transactions"),
            _money(named.c.transactions_net).label("transactions_net"),
        )
        .select_from(payouts.outerjoin(named, named.c.payout_id == p.ebay_payout_id))
        .where(*paid)
        .order_by(p.paid_on.desc(), p.ebay_payout_id.desc())
        .limit(limit)
    )
    return db.fetch_all("payout_summaries", stmt, replica_ok=True)


def payout_transactions(db: Database, account_id: int, payout_id: str) -> Sequence[Row[Any]]:
    """The transactions paid out in one payout, by day."""
    stmt = (
        select(
            t.ebay_transaction_id.label("transaction_id"),
            t.type,
            t.booked_on,
            t.order_id,
            t.gross,
            t.fee_total.label("fees"),
            t.net,
            t.currency,
            t.payout_currency,
            t.exchange_rate,
        )
        .where(t.account_id == account_id, t.payout_id == payout_id)
        .order_by(t.booked_on, t.ebay_transaction_id)
    )
    return db.fetch_all("payout_transactions", stmt, replica_ok=True)
