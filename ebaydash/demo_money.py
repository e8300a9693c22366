"""The demo's money: eBay's sales, refunds, fees, shipping labels and payouts, and the seller's cost of
goods, made from the demo's orders as stored, so the Profit, Payouts and Cost of goods pages have
something to show.

Made inside the demo load's transaction (:func:`ebaydash.db.bulk.load_demo`'s ``then``), so a demo
with orders always has its money too, and a database the load keeps gets nothing. Deterministic:
the same orders and ``now`` give the same records (draws are hashes of ids, never ``random``).
Written through the path a real import takes: :class:`MoneyTransaction` and :class:`Payout`
records → :func:`ebaydash.services.money.transaction_write` / ``payout_row`` →
:func:`ebaydash.db.money.write_account_money`; the costs as a CSV file read by
:func:`ebaydash.services.money.parse_costs` → :func:`ebaydash.db.money.apply_costs`. The record
conventions are :mod:`ebaydash.importers.money.records`' (docs/money-records.md).

Per account (amounts in its currency, which is also the payout currency: no exchange rate):

- a SALE per paid order (not cancelled, not pending: eBay books no sale before the buyer pays), id
  = the eBay order id, booked on the order's local day; gross = the order total; fees with eBay's
  ``FeeTypeEnum`` codes: ``FINAL_VALUE_FEE`` 13.25 % (each line's on its own, the rest — shipping
  and tax — on the order, each half-up to the cent), ``FINAL_VALUE_FEE_FIXED_PER_ORDER`` 0.30 (0.40
  over 10.00), and on about 30 % of orders a Promoted Listings ``AD_FEE`` of 2–6 % of each line;
  net = gross − fees;
- a REFUND for each order with a refunded amount, booked on the order's last update: gross = −the
  refund, and the variable final value fee on it credited back (all of it on a full refund; the
  fixed fee and ad fees are not returned);
- a SHIPPING_LABEL bought on eBay for about 12 % of shipped orders, and a monthly NON_SALE_CHARGE
  of insertion fees while the account sells;
- payouts (SUCCEEDED) every 2 or 3 days, the last on yesterday, each of the unpaid transactions
  booked before its day, its amount their nets summed (a sum not above 0 waits for the next one);
  today's and yesterday's transactions are not paid out yet;
- a unit cost for each SKU sold, 35–60 % of its median unit price, valid from the account's first
  sale but not before :data:`COSTED_DAYS` before today: the seller entered costs for the last 12
  months and two weeks only. Every standard period (7, 30, 90 and 365 days) and the previous
  periods of the 7-, 30- and 90-day comparisons are known; a custom range reaching back into the
  demo's first days (and the period before the 12 months) shows cost of goods as unknown, naming
  the SKUs sold then.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from ebaydash.db import bulk
from ebaydash.db import money as money_db
from ebaydash.importers.money.fees import FEE_GROUPS
from ebaydash.importers.money.records import MoneyLine, MoneyTransaction, Payout, fee_tuple
from ebaydash.money import to_money
from ebaydash.services.money import parse_costs, payout_row, transaction_write

__all__ = [
    "AD_FEE",
    "COSTED_DAYS",
    "COST_FILE",
    "FVF_RATE",
    "SOURCE_FORMAT",
    "write_demo_money",
]

ZERO = Decimal("0.00")
FVF = "FINAL_VALUE_FEE"
FVF_FIXED = "FINAL_VALUE_FEE_FIXED_PER_ORDER"
AD_FEE = "AD_FEE"  # Promoted Listings (general): the "advertising" group of the fee module
INSERTION_FEE = "INSERTION_FEE"
assert FEE_GROUPS[AD_FEE] == "advertising"

FVF_RATE = Decimal("0.1325")
FIXED_FEE, FIXED_FEE_OVER, FIXED_FEE_THRESHOLD = Decimal("0.30"), Decimal("0.40"), Decimal("10.00")
AD_SHARE_PERCENT = 30
AD_RATES = tuple(Decimal(tenths) / 1000 for tenths in range(20, 61, 5))  # 2.0 %, 2.5 % … 6.0 %
LABEL_SHARE_PERCENT = 12
SHIPPED = ("shipped", "delivered", "refunded")
NOT_SOLD = ("cancelled", "pending")
UNPAID_DAYS = 2  # today and yesterday
COST_SHARE_PERCENT = (35, 60)
COSTED_DAYS = 365 + 14  # the 12 months and two weeks before them: sales older have no cost
SOURCE_FORMAT = "demo"  # money_transactions.source_format: which kind of file wrote a row
COST_FILE = "demo-costs.csv"  # the change log's file name for the demo's costs


@dataclass(frozen=True)
class _Item:
    line_item_id: str | None
    sku: str
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class _Order:
    ebay_order_id: str
    status: str
    total: Decimal
    refunded: Decimal
    order_date: dt.datetime
    updated_at: dt.datetime
    buyer: str | None
    items: tuple[_Item, ...]


@dataclass(frozen=True)
class _AccountMoney:
    """One account's demo money: its transactions and payouts (payout ids set) and the cost file
    (CSV bytes, the columns :func:`~ebaydash.services.money.parse_costs` reads)."""

    transactions: tuple[MoneyTransaction, ...]
    payouts: tuple[Payout, ...]
    cost_file: bytes


def _draw(*parts: object) -> int:
    """A deterministic draw in [0, 2**64) from ``parts`` (Python's ``hash`` of text changes per
    process)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _at(day: dt.date, hour: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), zone).astimezone(dt.UTC)


def _transaction(
    transaction_id: str,
    kind: str,
    ebay_type: str,
    when: dt.datetime,
    zone: ZoneInfo,
    gross: Decimal,
    fees: dict[str, Decimal],
    currency: str,
    *,
    order_id: str | None = None,
    lines: tuple[MoneyLine, ...] = (),
    buyer: str | None = None,
    memo: str | None = None,
) -> MoneyTransaction:
    fee_list = fee_tuple(fees)
    net = gross - sum((amount for _, amount in fee_list), ZERO)
    return MoneyTransaction(
        transaction_id=transaction_id,
        type=kind,
        booking_entry="CREDIT" if net >= 0 else "DEBIT",
        booked_on=when.astimezone(zone).date(),
        gross=gross,
        fees=fee_list,
        net=net,
        currency=currency,
        payout_currency=currency,
        transaction_date=when,
        time_known=True,
        ebay_type=ebay_type,
        order_id=order_id,
        lines=lines,
        buyer=buyer,
        memo=memo,
    )


def _sale(order: _Order, zone: ZoneInfo, currency: str) -> MoneyTransaction:
    ad_rate = (
        AD_RATES[_draw("ad-rate", order.ebay_order_id) % len(AD_RATES)]
        if _draw("ad", order.ebay_order_id) % 100 < AD_SHARE_PERCENT
        else None
    )
    lines = []
    line_fvf = line_ads = items_total = ZERO
    for item in sorted(order.items, key=lambda i: i.line_item_id or ""):
        revenue = item.quantity * item.unit_price
        fees = {FVF: to_money(revenue * FVF_RATE)}
        if ad_rate is not None:
            fees[AD_FEE] = to_money(revenue * ad_rate)
        items_total += revenue
        line_fvf += fees[FVF]
        line_ads += fees.get(AD_FEE, ZERO)
        lines.append(
            MoneyLine(
                item.line_item_id, fee_tuple(fees), sku=item.sku, title=item.title, quantity=item.quantity
            )
        )
    fees = {
        # what the lines leave (shipping, tax) is charged on the order, rounded once
        FVF: line_fvf + to_money((order.total - items_total) * FVF_RATE),
        FVF_FIXED: FIXED_FEE_OVER if order.total > FIXED_FEE_THRESHOLD else FIXED_FEE,
        AD_FEE: line_ads,
    }
    return _transaction(
        order.ebay_order_id,
        "sale",
        "SALE",
        order.order_date,
        zone,
        order.total,
        fees,
        currency,
        order_id=order.ebay_order_id,
        lines=tuple(lines),
        buyer=order.buyer,
    )


def _refund(order: _Order, sale: MoneyTransaction, zone: ZoneInfo, currency: str) -> MoneyTransaction:
    charged = sale.fee(FVF)
    credit = charged if order.refunded >= order.total else min(to_money(order.refunded * FVF_RATE), charged)
    return _transaction(
        f"RF-{order.ebay_order_id}",
        "refund",
        "REFUND",
        max(order.updated_at, order.order_date),
        zone,
        -order.refunded,
        {FVF: -credit},
        currency,
        order_id=order.ebay_order_id,
        buyer=order.buyer,
        memo="Refund",
    )


def _label(order: _Order, zone: ZoneInfo, currency: str, now: dt.datetime) -> MoneyTransaction | None:
    if order.status not in SHIPPED or _draw("label", order.ebay_order_id) % 100 >= LABEL_SHARE_PERCENT:
        return None
    cost = Decimal(395 + _draw("label-cost", order.ebay_order_id) % 800) / 100  # 3.95 … 11.94
    return _transaction(
        f"SL-{order.ebay_order_id}",
        "shipping_label",
        "SHIPPING_LABEL",
        min(order.order_date + dt.timedelta(hours=18), now),
        zone,
        -cost,
        {},
        currency,
        order_id=order.ebay_order_id,
        memo="Shipping label",
    )


def _insertion_fees(
    account_id: int, first: dt.date, last: dt.date, zone: ZoneInfo, currency: str
) -> list[MoneyTransaction]:
    """One NON_SALE_CHARGE of insertion fees on the 15th of each month the account sold in."""
    charges = []
    month = first.replace(day=1)
    while month <= last:
        day = month.replace(day=15)
        if first <= day <= last:
            amount = Decimal("0.35") * (5 + _draw("insertion", account_id, month) % 30)
            charges.append(
                _transaction(
                    f"NSC-{day:%Y%m}-INSERTION",
                    "non_sale_charge",
                    "NON_SALE_CHARGE",
                    _at(day, 12, zone),
                    zone,
                    ZERO,
                    {INSERTION_FEE: amount},
                    currency,
                    memo="Insertion fees",
                )
            )
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return charges


def _paid_out(
    account_id: int, transactions: list[MoneyTransaction], today: dt.date, zone: ZoneInfo, currency: str
) -> tuple[list[MoneyTransaction], list[Payout]]:
    """The transactions with their payout ids and statuses, and the payouts."""
    if not transactions:
        return [], []
    first = min(t.booked_on for t in transactions)
    days = []
    day = today - dt.timedelta(days=UNPAID_DAYS - 1)
    while day > first:
        days.append(day)
        day -= dt.timedelta(days=2 + _draw("payout-step", account_id, day) % 2)
    by_day = sorted(transactions, key=lambda t: (t.booked_on, t.transaction_id))
    payout_of: dict[str, str] = {}
    made: list[Payout] = []
    waiting: list[MoneyTransaction] = []
    position = 0
    for day in reversed(days):
        while position < len(by_day) and by_day[position].booked_on < day:
            waiting.append(by_day[position])
            position += 1
        amount = sum((t.net for t in waiting), ZERO)
        if not waiting or amount <= 0:
            continue  # nothing to send: the balance waits for the next payout
        payout_id = str(6_000_000_000 + account_id * 10_000_000 + len(made) + 1)
        made.append(
            Payout(
                payout_id=payout_id,
                amount=amount,
                currency=currency,
                paid_on=day,
                status="SUCCEEDED",
                payout_date=_at(day, 9, zone),
                time_known=True,
                instrument=f"BANK Checking ••••{_draw('bank', account_id) % 10_000:04d}",
                transaction_count=len(waiting),
            )
        )
        payout_of.update((t.transaction_id, payout_id) for t in waiting)
        waiting = []
    return [
        dataclasses.replace(
            t,
            payout_id=payout_of.get(t.transaction_id),
            status="PAYOUT" if t.transaction_id in payout_of else "FUNDS_AVAILABLE_FOR_PAYOUT",
        )
        for t in transactions
    ], made


def _cost_file(
    account_id: int, sales: Iterable[tuple[_Order, dt.date]], currency: str, today: dt.date
) -> bytes:
    prices: dict[str, list[Decimal]] = defaultdict(list)
    last_sold: dict[str, dt.date] = {}
    first = last = None
    for order, day in sales:
        first = day if first is None else min(first, day)
        last = day if last is None else max(last, day)
        for item in order.items:
            prices[item.sku].append(item.unit_price)
            last_sold[item.sku] = max(day, last_sold.get(item.sku, day))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["SKU", "cost", "currency", "valid_from"])
    if first is None or last is None:
        return out.getvalue().encode()
    valid_from = max(first, today - dt.timedelta(days=COSTED_DAYS))
    for sku in sorted(prices):
        if last_sold[sku] < valid_from:
            continue  # never sold in the costed days: the seller left it out
        ordered = sorted(prices[sku])
        median = ordered[(len(ordered) - 1) // 2]
        low, high = COST_SHARE_PERCENT
        share = Decimal(low + _draw("cost", account_id, sku) % (high - low + 1)) / 100
        writer.writerow([sku, to_money(median * share), currency, valid_from.isoformat()])
    return out.getvalue().encode()


def _account_money(
    account_id: int, currency: str, timezone: str, account_orders: Sequence[_Order], now: dt.datetime
) -> _AccountMoney:
    """One account's money records and cost file from its orders (see the module docstring)."""
    zone = ZoneInfo(timezone)
    transactions: list[MoneyTransaction] = []
    sales: list[tuple[_Order, dt.date]] = []
    for order in account_orders:
        if order.status in NOT_SOLD:
            continue
        sale = _sale(order, zone, currency)
        transactions.append(sale)
        sales.append((order, sale.booked_on))
        if order.refunded > 0:
            transactions.append(_refund(order, sale, zone, currency))
        label = _label(order, zone, currency, now)
        if label is not None:
            transactions.append(label)
    if sales:
        days = [day for _, day in sales]
        transactions.extend(_insertion_fees(account_id, min(days), max(days), zone, currency))
    today = now.astimezone(zone).date()
    paid, made = _paid_out(account_id, transactions, today, zone, currency)
    return _AccountMoney(tuple(paid), tuple(made), _cost_file(account_id, sales, currency, today))


def _read_orders(conn: Connection) -> dict[int, list[_Order]]:
    items: dict[int, list[_Item]] = defaultdict(list)
    for line in bulk.every_order_line(conn):
        items[int(line.order_id)].append(
            _Item(line.line_item_id, line.sku, line.title, int(line.quantity), Decimal(line.unit_price))
        )
    by_account: dict[int, list[_Order]] = defaultdict(list)
    for row in bulk.every_order(conn):
        by_account[int(row.account_id)].append(
            _Order(
                row.ebay_order_id,
                row.status,
                Decimal(row.total_amount),
                Decimal(row.refunded_amount),
                row.order_date,
                row.updated_at,
                row.ebay_username,
                tuple(items.get(int(row.id), ())),
            )
        )
    return by_account


def write_demo_money(conn: Connection, *, now: dt.datetime) -> dict[str, int]:
    """Make every account's demo money from its orders as stored and write it, in ``conn``'s
    transaction: ``{"money_transactions": n, "payouts": n, "sku_costs": n}`` (rows written).
    Idempotent: writing again over the same orders and ``now`` changes nothing.

    Raises :class:`RuntimeError` if the cost file it made does not read back (a bug here)."""
    by_account = _read_orders(conn)
    counts = {"money_transactions": 0, "payouts": 0, "sku_costs": 0}
    for row in bulk.every_account(conn):
        account_id = int(row.id)
        made = _account_money(account_id, row.currency, row.timezone, by_account.get(account_id, []), now)
        written = money_db.write_account_money(
            conn,
            account_id,
            [transaction_write(t, SOURCE_FORMAT) for t in made.transactions],
            [payout_row(p) for p in made.payouts],
        )
        costs, problems = parse_costs(COST_FILE, made.cost_file, currency=row.currency)
        if problems:
            raise RuntimeError(f"the demo's cost file does not read back: {problems[0].describe()}")
        applied = money_db.apply_costs(conn, account_id, costs, file=COST_FILE, now=now)
        counts["money_transactions"] += written.imported + written.updated
        counts["payouts"] += written.payouts_imported + written.payouts_updated
        counts["sku_costs"] += applied.added + applied.changed
    return counts
