"""Profit figures, top products by profit and payouts, from eBay's money records and the seller's
cost of goods (issue 15). Cached per account like the overview's KPIs; an import of orders, money
records or costs invalidates them.

Definitions: :data:`PROFIT_FIGURES` (the tiles' help text and README's "Figures" section).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ebaydash.cache import cacheable
from ebaydash.context import Context
from ebaydash.db import profit as profit_db
from ebaydash.errors import InvalidInput, NotFound, QueryTimeout
from ebaydash.importers.money.fees import FEE_TYPES, group_of
from ebaydash.models import (
    FeeTypeAmount,
    MoneyKpi,
    PayoutSummary,
    PayoutTransaction,
    ProductProfit,
    ProfitFigures,
    Window,
)
from ebaydash.money import to_money
from ebaydash.services import namespaces
from ebaydash.services._access import for_account
from ebaydash.services._measure import measured
from ebaydash.services.money import NOT_FEES
from ebaydash.services.sellers import account
from ebaydash.viewer import Viewer

UNKNOWN_MONEY = "unknown — import the Transaction report"
NO_MONEY_RECORDS = (
    "No money records for this account yet: import eBay's Transaction report (or getTransactions "
    "and getPayouts pages) on the Import orders page to see sales, fees, profit and payouts."
)


SALES_VS_REVENUE = (
    "Sales here differ from the Overview's revenue, and neither is wrong: sales are eBay's gross of "
    "the sales it booked in the period (by its booking day), before refunds; the Overview's revenue "
    "is the orders placed in the period, net of their refunds."
)


def unknown_period(first: dt.date, last: dt.date) -> str:
    """The reason of a figure whose window has orders but no money record."""
    return (
        f"unknown — orders were placed {first:%d %b %Y} – {last:%d %b %Y} but no money record is "
        "imported for those days: import the Transaction report covering them"
    )


TOO_LONG = "unknown — cost of goods took longer than the time limit; choose a shorter period"


PROFIT_FIGURES: dict[str, str] = {
    "Sales": "What buyers paid for the period's sales (eBay's gross transaction amount of the "
    '"Order" transactions: items, shipping and the tax the seller collects), before fees. Not the '
    "Overview's revenue: sales count on the day eBay booked them, before refunds (refunds lower net "
    "proceeds); revenue counts orders placed in the period, net of their refunds.",
    "Fees": "eBay's fees on the period's transactions: final value fees (variable and fixed per "
    "order), international, regulatory operating, performance, listing and Promoted Listings fees, "
    "minus fees eBay credited back (with a refund, or an ad fee refunded). Charity donations are not "
    "fees and are left out.",
    "Ad spend": "The Promoted Listings fees among them (eBay's AD_FEE and PREMIUM_AD_FEES: "
    "general and priority campaigns), net of ad fee credits.",
    "Shipping labels": 'What the labels bought on eBay in the period cost (the "Shipping label" '
    "transactions, net of label refunds).",
    "Net proceeds": "What eBay pays out for the period's transactions: the sum of their net amounts "
    "(sales minus fees, refunds, labels, ad fees and other charges, plus credits), in the account's "
    "currency; funds on hold are left out.",
    "Cost of goods": "Units sold in the period's sales × the SKU's cost in force on the sale's day "
    "(its latest valid-from not after it). Units come from the imported order, else from the "
    "Transaction report's lines. Unknown while a sold SKU has no cost.",
    "Profit": "Net proceeds − cost of goods.",
    "Margin": "Profit ÷ sales, in percent.",
    "Top products by profit": "SKUs of the period's sales whose orders are imported, ranked by line "
    "revenue (quantity × unit price) − the fees eBay charged on those lines − their cost of goods. "
    "Shipping, labels, ad fees and fees charged per order are not spread over products.",
}


def periods(window: Window, timezone: str) -> profit_db.Period:
    """The window's local days (current and previous) in the account's zone."""
    zone = ZoneInfo(timezone)
    dates = window.local_dates()
    if dates is None:
        first, last = window.dates_touched(timezone)
    else:
        first, last = dates
    previous = window.previous()
    previous_first = previous.start.astimezone(zone).date()
    if previous_first >= first:
        previous_first = first - (last - first) - dt.timedelta(days=1)
    return profit_db.Period(first, last, previous_first)


def _kpi(current: Decimal | None, previous: Decimal | None, reason: str | None = None) -> MoneyKpi:
    return MoneyKpi(
        None if current is None else to_money(current),
        None if previous is None else to_money(previous),
        reason if current is None else None,
    )


@measured("profit")
@for_account
@cacheable("profit", namespace=namespaces.ACCOUNT)
def profit_figures(
    ctx: Context, viewer: Viewer, account_id: int, window: Window, *, fresh: bool = False
) -> ProfitFigures:
    """The profit tiles for ``window`` and the window before it (definitions: :data:`PROFIT_FIGURES`).

    A window's figures are known when one of the account's money records falls in it, and known
    zeros when none does and no order was placed in it either (an account without activity then).
    They are ``None`` (unknown, with a reason), never 0, when the account has no money record at
    all (``money_imported`` False; reason :data:`UNKNOWN_MONEY`) or when orders were placed in the
    window but no money record is imported for it (reason :func:`unknown_period`). Cost of goods,
    profit and margin are also unknown while a sold SKU has no cost or a sale's units are not
    known. Raises :class:`~ebaydash.errors.NotFound` for an unknown account.
    """
    acct = account(ctx, viewer, account_id)
    period = periods(window, acct.timezone)
    previous = window.previous()
    row = profit_db.money_figures(ctx.db, account_id, period, (previous.start, window.start, window.end))
    if row.currency is None:
        raise NotFound(f"There is no account with id {account_id}.")
    imported = bool(row.any_money)
    # a window without money records is still known (zeros) when nothing was sold in it either
    has = {
        when: imported
        and (int(row._mapping[f"transactions_{when}"]) > 0 or not row._mapping[f"orders_{when}"])
        for when in ("cur", "prev")
    }
    if has["cur"]:
        money_reason = None
    elif not imported:
        money_reason = UNKNOWN_MONEY
    else:
        money_reason = unknown_period(period.first, period.last)
    try:
        cogs_row: Any = profit_db.cost_of_goods(ctx.db, account_id, period)
    except QueryTimeout:
        # degrade, don't break: the money figures stand; cost of goods (and so profit and margin)
        # say why they are missing (a long period of a very large account)
        cogs_row = None

    def money(name: str, when: str) -> Decimal | None:
        return to_money(row._mapping[f"{name}_{when}"]) if has[when] else None

    def figure(name: str) -> MoneyKpi:
        return _kpi(money(name, "cur"), money(name, "prev"), money_reason)

    def cogs(when: str) -> Decimal | None:
        if cogs_row is None:
            return None
        known = (
            has[when]
            and not cogs_row._mapping[f"missing_{when}"]
            and not cogs_row._mapping[f"unitless_{when}"]
        )
        return to_money(cogs_row._mapping[f"cogs_{when}"]) if known else None

    missing = (
        profit_db.skus_without_cost(ctx.db, account_id, period)
        if cogs_row is not None and cogs_row.missing_cur
        else []
    )
    unitless = int(cogs_row.unitless_cur) if cogs_row is not None else 0
    if money_reason is not None:
        cogs_reason: str | None = money_reason
    elif cogs_row is None:
        cogs_reason = TOO_LONG
    elif missing:
        cogs_reason = "unknown — no cost for " + ", ".join(missing)
    elif unitless:
        cogs_reason = f"unknown — import the orders of {unitless:,} sale(s) (their units are not known)"
    else:
        cogs_reason = None

    def profit_of(when: str) -> Decimal | None:
        net, goods = money("net", when), cogs(when)
        return None if net is None or goods is None else net - goods

    def margin_of(when: str) -> Decimal | None:
        value, sales = profit_of(when), money("sales", when)
        if value is None or not sales:
            return None
        return to_money(value * 100 / sales)

    by_type = tuple(
        FeeTypeAmount(
            fee_type=r.fee_type,
            label=FEE_TYPES[r.fee_type].label if r.fee_type in FEE_TYPES else r.fee_type,
            group=group_of(r.fee_type),
            current=to_money(r.cur),
            previous=to_money(r.prev),
        )
        for r in profit_db.fees_by_type(ctx.db, account_id, period, excluded_fee_types=NOT_FEES)
    )
    return ProfitFigures(
        account_id=account_id,
        currency=row.currency,
        window=window,
        transactions=(int(row.transactions_cur), int(row.transactions_prev)),
        sales=figure("sales"),
        fees=figure("fees"),
        ad_spend=figure("ads"),
        shipping_labels=figure("labels"),
        net_proceeds=figure("net"),
        cost_of_goods=_kpi(cogs("cur"), cogs("prev"), cogs_reason),
        profit=_kpi(profit_of("cur"), profit_of("prev"), cogs_reason),
        margin=_kpi(margin_of("cur"), margin_of("prev"), cogs_reason or "unknown — no sales in the period"),
        fees_by_type=by_type,
        skus_without_cost=tuple(missing),
        sales_without_units=unitless,
        money_imported=imported,
    )


MAX_TOP = 100


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@measured("top_products_by_profit")
@for_account
@cacheable("top_products_by_profit", namespace=namespaces.ACCOUNT)
def top_products_by_profit(
    ctx: Context, viewer: Viewer, account_id: int, window: Window, *, limit: int = 10, fresh: bool = False
) -> list[ProductProfit]:
    """SKUs of the window's sales ranked by profit (:data:`PROFIT_FIGURES`); those with a unit
    without cost come last with ``profit`` None. Raises :class:`~ebaydash.errors.InvalidInput`
    for a limit outside 1..100."""
    if not 1 <= limit <= MAX_TOP:
        raise InvalidInput(f"A top list holds between 1 and {MAX_TOP} entries.")
    acct = account(ctx, viewer, account_id)
    rows = profit_db.product_profits(
        ctx.db, account_id, periods(window, acct.timezone), excluded_fee_types=NOT_FEES, limit=limit
    )
    result = []
    for r in rows:
        revenue, fees = to_money(r.revenue), to_money(r.fees)
        cogs = None if r.missing else to_money(r.cogs)
        result.append(
            ProductProfit(
                sku=r.sku,
                title=r.title,
                units=int(r.units),
                revenue=revenue,
                fees=fees,
                cost_of_goods=cogs,
                profit=None if cogs is None else revenue - fees - cogs,
            )
        )
    return result


@measured("payouts")
@for_account
@cacheable("payouts", namespace=namespaces.ACCOUNT)
def payouts(
    ctx: Context,
    viewer: Viewer,
    account_id: int,
    window: Window | None = None,
    *,
    limit: int = 100,
    fresh: bool = False,
) -> list[PayoutSummary]:
    """The account's newest ``limit`` payouts — those paid on the window's local days (the account's
    zone) when a window is given, else all — each beside the sum of the net amounts of the
    transactions paid out in it; ``difference`` is not 0 when they do not match (transactions not
    imported, or something eBay deducted that the files do not show)."""
    days = None
    if window is not None:
        period = periods(window, account(ctx, viewer, account_id).timezone)
        days = (period.first, period.last)
    return [
        PayoutSummary(
            payout_id=r.payout_id,
            paid_on=_date(r.paid_on),
            amount=to_money(r.amount),
            currency=r.currency,
            status=r.status,
            transactions=int(r.transactions),
            transactions_net=to_money(r.transactions_net),
            difference=to_money(r.amount) - to_money(r.transactions_net),
        )
        for r in profit_db.payout_summaries(ctx.db, account_id, limit, days)
    ]


@measured("payout_transactions")
@for_account
def payout_transactions(
    ctx: Context, viewer: Viewer, account_id: int, payout_id: str
) -> list[PayoutTransaction]:
    """The transactions of one payout: gross and fees in the transaction currency, net in the
    payout currency, with the exchange rate eBay applied."""
    return [
        PayoutTransaction(
            transaction_id=r.transaction_id,
            type=r.type,
            booked_on=r.booked_on
            if isinstance(r.booked_on, dt.date)
            else dt.date.fromisoformat(str(r.booked_on)),
            order_id=r.order_id,
            gross=to_money(r.gross),
            fees=to_money(r.fees),
            net=to_money(r.net),
            currency=r.currency,
            payout_currency=r.payout_currency,
            exchange_rate=None if r.exchange_rate is None else Decimal(str(r.exchange_rate)),
        )
        for r in profit_db.payout_transactions(ctx.db, account_id, payout_id)
    ]
