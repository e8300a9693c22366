"""The demo's money records (ebaydash.demo_money), on SQLite and Postgres.

After ``seed_demo`` every stored transaction adds up, every payout is the sum of the nets it pays,
the records follow the demo's orders, and the profit figures equal pandas over the stored rows;
seeding again changes nothing. Negative controls show the checks catch a wrong fee.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import func, inspect, select
from streamlit.testing.v1 import AppTest

from ebaydash.context import Context, build_context
from ebaydash.db import meta
from ebaydash.db.engine import Database
from ebaydash.db.schema import (
    accounts,
    money_fees,
    money_transactions,
    order_items,
    orders,
    payouts,
    sku_cost_changes,
    sku_costs,
)
from ebaydash.demo_money import COST_FILE, COSTED_DAYS, FVF_RATE, SOURCE_FORMAT, write_demo_money
from ebaydash.models import Window
from ebaydash.money import to_money
from ebaydash.seeding import seed_demo
from ebaydash.services import profit as profit_service
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT, SAMPLE_DIR
from tests.migration_support import database_at, revision_before
from tests.test_profit import profit_tiles

D = Decimal
ZERO = D("0.00")
NOW = dt.datetime(2026, 3, 1, 15, 7, tzinfo=dt.UTC)
AD = ("AD_FEE", "PREMIUM_AD_FEES")


def total(values: Any) -> Decimal:
    """Decimals summed exactly (pandas would go through floats)."""
    return sum(values, ZERO)


@pytest.fixture
def demo(db: Database) -> Database:
    result = seed_demo(db, SAMPLE_DIR, now=NOW)
    assert result.action == "loaded"
    assert result.money["money_transactions"] > 3_000 and "money records" in result.message
    assert "money_transactions" not in result.counts  # the rows of the demo's CSVs, as before
    return db


@pytest.fixture
def ctx(demo: Database, settings: Settings) -> Iterator[Context]:
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def frames(db: Database) -> dict[str, pd.DataFrame]:
    """The stored rows the checks recompute from."""
    t = money_transactions.c
    queries = {
        "accounts": select(accounts.c.id, accounts.c.currency, accounts.c.timezone),
        "transactions": select(
            t.id,
            t.account_id,
            t.ebay_transaction_id,
            t.type,
            t.booking_entry,
            t.booked_on,
            t.currency,
            t.payout_currency,
            t.exchange_rate,
            t.gross,
            t.fee_total,
            t.net,
            t.gross_payout,
            t.fees_payout,
            t.ad_fees_payout,
            t.order_id,
            t.payout_id,
            t.source_format,
        ),
        "fees": select(money_fees),
        "payouts": select(payouts),
        "costs": select(sku_costs),
        "orders": select(orders),
        "items": select(order_items),
    }
    with db.connect() as conn:
        return {
            name: pd.DataFrame([dict(r._mapping) for r in conn.execute(stmt)])
            for name, stmt in queries.items()
        }


def broken_transactions(transactions: pd.DataFrame, fees: pd.DataFrame) -> list[str]:
    """eBay ids of transactions that do not add up: net ≠ gross − fees, fee total ≠ its fee rows,
    the fees/ad columns ≠ their rows, or a conversion where there is none."""
    by_tx = fees.groupby("transaction_id")
    rows = {tid: group for tid, group in by_tx}
    bad = []
    for tx in transactions.itertuples():
        own = rows.get(tx.id, fees.iloc[0:0])
        if (
            tx.net != tx.gross - tx.fee_total
            or tx.fee_total != total(own.amount)
            or tx.fees_payout != total(own[own.fee_type != "CHARITY_DONATION"].amount_payout)
            or tx.ad_fees_payout != total(own[own.fee_type.isin(AD)].amount_payout)
            or tx.exchange_rate is not None
            or tx.gross_payout != tx.gross
            or tx.currency != tx.payout_currency
            or tx.booking_entry != ("CREDIT" if tx.net >= 0 else "DEBIT")
        ):
            bad.append(tx.ebay_transaction_id)
    return bad


def test_every_transaction_adds_up_and_every_payout_is_its_transactions(demo: Database) -> None:
    f = frames(demo)
    tx, fees, paid = f["transactions"], f["fees"], f["payouts"]
    assert broken_transactions(tx, fees) == []
    currency = f["accounts"].set_index("id").currency
    assert (tx.currency == tx.account_id.map(currency)).all()
    assert set(tx.source_format) == {SOURCE_FORMAT}
    # negative control: a copy of one sale with a fee a cent off is caught, and only it
    wrong = fees.copy()
    sale = tx[tx.type == "sale"].iloc[0]
    first = wrong.index[wrong.transaction_id == sale.id][0]
    wrong.loc[first, "amount"] = wrong.loc[first, "amount"] + D("0.01")
    assert broken_transactions(tx, wrong) == [sale.ebay_transaction_id]

    assert (paid.amount > 0).all() and set(paid.status) == {"SUCCEEDED"}
    assert (paid.currency == paid.account_id.map(currency)).all()
    for payout in paid.itertuples():
        covered = tx[(tx.account_id == payout.account_id) & (tx.payout_id == payout.ebay_payout_id)]
        assert len(covered) == payout.transaction_count > 0
        assert total(covered.net) == payout.amount
        assert (covered.booked_on < payout.paid_on).all()  # paid out what was booked before it
    assert tx.payout_id.notna().sum() == paid.transaction_count.sum()  # no id names a missing payout

    zones = f["accounts"].set_index("id").timezone
    for account_id, own in tx.groupby("account_id"):
        today = NOW.astimezone(ZoneInfo(zones[account_id])).date()
        own_payouts = paid[paid.account_id == account_id].sort_values("paid_on")
        last_paid = own_payouts.paid_on.max()
        assert last_paid <= today - dt.timedelta(days=1)
        unpaid = own[own.payout_id.isna()]
        # the last two days wait for the next payout; nothing older than the last payout waits
        assert (own[own.booked_on >= today - dt.timedelta(days=1)].payout_id.isna()).all()
        assert (unpaid.booked_on >= last_paid).all() or total(unpaid.net) <= 0
        if len(own) > 1_000:
            # a busy shop is paid every 2 or 3 days; a day whose balance is not above 0 (a refund
            # and a label, no sale) waits for the next
            days = list(own_payouts.paid_on)
            gaps = [(b - a).days for a, b in itertools.pairwise(days)]
            assert max(gaps) <= 6 and sum(g in (2, 3) for g in gaps) >= 0.95 * len(gaps), gaps
            assert last_paid == today - dt.timedelta(days=1)


def test_the_records_follow_the_demo_orders(demo: Database) -> None:
    f = frames(demo)
    tx, fees, ords, items = f["transactions"], f["fees"], f["orders"], f["items"]
    zones = f["accounts"].set_index("id").timezone
    sold = ords[~ords.status.isin(["cancelled", "pending"])]
    sales = tx[tx.type == "sale"]
    assert sorted(zip(sales.account_id, sales.ebay_transaction_id, strict=True)) == sorted(
        zip(sold.account_id, sold.ebay_order_id, strict=True)
    )
    by_order = sold.set_index(["account_id", "ebay_order_id"])
    revenue = items.assign(revenue=[q * p for q, p in zip(items.quantity, items.unit_price, strict=True)])
    items_total = revenue.groupby("order_id").revenue.agg(total)
    lines = items.groupby("order_id").size()
    fee_of = fees.pivot_table(index="transaction_id", columns="fee_type", values="amount", aggfunc=total)
    ads = 0
    for sale in sales.itertuples():
        order = by_order.loc[(sale.account_id, sale.ebay_transaction_id)]
        assert sale.gross == order.total_amount
        assert sale.booked_on == order.order_date.astimezone(ZoneInfo(zones[sale.account_id])).date()
        own = fee_of.loc[sale.id]
        # the variable fee: 13.25 % half-up, each line's rounded on its own
        assert (
            abs(own["FINAL_VALUE_FEE"] - to_money(order.total_amount * FVF_RATE))
            <= D("0.01") * lines[order.id]
        )
        assert own["FINAL_VALUE_FEE_FIXED_PER_ORDER"] == (D("0.40") if order.total_amount > 10 else D("0.30"))
        if pd.notna(own.get("AD_FEE")):
            ads += 1
            # 2-6 % of the items, each line's rounded half-up on its own
            slack, base = D("0.005") * lines[order.id], items_total[order.id]
            assert base * D("0.02") - slack <= own["AD_FEE"] <= base * D("0.06") + slack
    assert 0.25 <= ads / len(sales) <= 0.35  # about 30 % of the orders were promoted

    refunds = tx[tx.type == "refund"]
    refunded = ords[ords.refunded_amount > 0]
    assert len(refunds) == len(refunded) > 0
    for refund in refunds.itertuples():
        order = by_order.loc[(refund.account_id, refund.order_id)]
        assert refund.gross == -order.refunded_amount
        credit = fee_of.loc[refund.id]["FINAL_VALUE_FEE"]
        sale_fvf = fee_of.loc[sales[sales.ebay_transaction_id == refund.order_id].id.iloc[0]][
            "FINAL_VALUE_FEE"
        ]
        assert credit < 0
        if order.refunded_amount == order.total_amount:
            assert credit == -sale_fvf  # a full refund returns the variable fee, all of it
    assert (tx.type == "shipping_label").sum() > 100 and (tx.type == "non_sale_charge").sum() > 20
    assert set(fees.fee_type) == {
        "FINAL_VALUE_FEE",
        "FINAL_VALUE_FEE_FIXED_PER_ORDER",
        "AD_FEE",
        "INSERTION_FEE",
    }

    # a cost for every SKU sold in the costed days (here: every SKU sold), 35-60 % of its median
    # price, valid from the account's first sale but not before COSTED_DAYS before today
    costs = f["costs"]
    sold_items = items[items.order_id.isin(sold.id)].merge(
        sold[["id", "account_id"]], left_on="order_id", right_on="id"
    )
    sold_skus = set(zip(sold_items.account_id, sold_items.sku, strict=True))
    costed = set(zip(costs.account_id, costs.sku, strict=True))
    assert costed == sold_skus
    sales = tx[tx.type == "sale"]
    for account in f["accounts"].itertuples():
        today = NOW.astimezone(ZoneInfo(account.timezone)).date()
        first_sale = pd.to_datetime(sales[sales.account_id == account.id].booked_on).min().date()
        starts = set(pd.to_datetime(costs[costs.account_id == account.id].valid_from).dt.date)
        assert starts == {max(first_sale, today - dt.timedelta(days=COSTED_DAYS))}, account.id
        assert first_sale < today - dt.timedelta(days=COSTED_DAYS)  # so the demo's first days lack costs
    for cost in costs.itertuples():
        prices = sorted(
            sold_items[(sold_items.account_id == cost.account_id) & (sold_items.sku == cost.sku)].unit_price
        )
        share = cost.unit_cost / prices[(len(prices) - 1) // 2]
        assert D("0.345") <= share <= D("0.605"), (cost.sku, share)
    with demo.connect() as conn:
        logged = conn.execute(
            select(sku_cost_changes.c.file, func.count()).group_by(sku_cost_changes.c.file)
        ).all()
    assert [tuple(r) for r in logged] == [(COST_FILE, len(costs))]


def truth(
    f: dict[str, pd.DataFrame], account_id: int, first: dt.date, last: dt.date
) -> tuple[dict[str, Decimal | None], list[str]]:
    """The profit figures of [first, last] recomputed from the stored rows, per README's
    "Figures", and the SKUs sold without a cost in force."""
    tx = f["transactions"]
    tx = tx[(tx.account_id == account_id) & (tx.booked_on >= first) & (tx.booked_on <= last)]
    fees = f["fees"]
    fees = fees[(fees.account_id == account_id) & (fees.booked_on >= first) & (fees.booked_on <= last)]
    if tx.empty:
        # the demo books a sale for every paid order: days without money records had no sale, so
        # their figures are known zeros (services.profit: no orders and no money records)
        return dict.fromkeys(("sales", "fees", "ads", "labels", "net", "cogs", "profit"), ZERO), []
    result: dict[str, Decimal | None] = {
        "sales": total(tx[tx.type == "sale"].gross),
        "fees": total(fees[fees.fee_type != "CHARITY_DONATION"].amount),
        "ads": total(fees[fees.fee_type.isin(AD)].amount),
        "labels": -total(tx[tx.type == "shipping_label"].net),
        "net": total(tx[tx.type != "hold"].net),
    }
    ords = f["orders"]
    sales = tx[tx.type == "sale"][["order_id", "booked_on"]].merge(
        ords[ords.account_id == account_id][["id", "ebay_order_id"]],
        left_on="order_id",
        right_on="ebay_order_id",
    )
    units = sales.merge(f["items"][["order_id", "sku", "quantity"]], left_on="id", right_on="order_id")
    costs = f["costs"]
    costs = costs[costs.account_id == account_id][["sku", "valid_from", "unit_cost"]]
    units["when"] = pd.to_datetime(units.booked_on)
    costs = costs.assign(when=pd.to_datetime(costs.valid_from))
    priced = pd.merge_asof(units.sort_values("when"), costs.sort_values("when"), on="when", by="sku")
    missing = sorted(set(priced[priced.unit_cost.isna()].sku))
    cogs = None if missing else total(q * c for q, c in zip(priced.quantity, priced.unit_cost, strict=True))
    result["cogs"] = cogs
    result["profit"] = None if cogs is None else result["net"] - cogs  # type: ignore[operator]
    return result, missing


def shown(figures: Any, when: str) -> dict[str, Decimal | None]:
    return {name: getattr(kpi, when) for name, kpi in profit_tiles(figures).items() if name != "margin"}


@pytest.mark.parametrize("days", [7, 30, 90, 365])
def test_the_profit_figures_equal_pandas_over_the_stored_rows(ctx: Context, days: int) -> None:
    f = frames(ctx.db)
    for account in f["accounts"].itertuples():
        today = NOW.astimezone(ZoneInfo(account.timezone)).date()
        first = today - dt.timedelta(days=days - 1)
        figures = profit_service.profit_figures(
            ctx, OPERATOR, account.id, Window.for_dates(first, today, account.timezone)
        )
        expected, missing = truth(f, account.id, first, today)
        before, _ = truth(f, account.id, first - dt.timedelta(days=days), first - dt.timedelta(days=1))
        assert shown(figures, "current") == expected, account.id
        assert shown(figures, "previous") == before, account.id
        assert list(figures.skus_without_cost) == missing
        if expected["sales"]:
            assert total(t.current for t in figures.fees_by_type) == figures.fees.current
            assert figures.margin.current == (
                None if expected["profit"] is None else to_money(expected["profit"] * 100 / expected["sales"])
            )
        if account.id != 5 and days <= 30:
            # the shops that sell show every figure of the short periods, and their change
            assert None not in expected.values() and None not in before.values(), account.id
            assert expected["profit"] > 0 and expected["ads"] > 0  # type: ignore[operator]
        # every standard period is known (Dormant Depot's quiet ones as zeros); so are the 7-, 30- and 90-day
        # comparisons' previous periods (the one before the 12 months reaches the uncosted days)
        assert not missing and figures.profit.current is not None, (account.id, missing)
        if days <= 90:
            assert figures.profit.previous is not None, account.id
        # negative control: a fee a cent off in a copy of the rows changes the recomputation
        if expected["fees"]:
            wrong = dict(f)
            in_period = f["fees"][(f["fees"].account_id == account.id) & (f["fees"].booked_on >= first)]
            wrong["fees"] = f["fees"].copy()
            wrong["fees"].loc[in_period.index[0], "amount"] += D("0.01")
            assert truth(wrong, account.id, first, today)[0]["fees"] != figures.fees.current


def test_only_an_old_custom_range_shows_cost_of_goods_unknown(ctx: Context) -> None:
    """The demo's costs start COSTED_DAYS before today: its first days name SKUs without a cost;
    the same number of days just after that start is known (negative control)."""
    f = frames(ctx.db)
    for account in f["accounts"].itertuples():
        today = NOW.astimezone(ZoneInfo(account.timezone)).date()
        start = today - dt.timedelta(days=COSTED_DAYS)
        old = Window.for_dates(start - dt.timedelta(days=20), start - dt.timedelta(days=1), account.timezone)
        figures = profit_service.profit_figures(ctx, OPERATOR, account.id, old)
        _, missing = truth(f, account.id, start - dt.timedelta(days=20), start - dt.timedelta(days=1))
        assert missing and list(figures.skus_without_cost) == missing[:20], account.id
        assert figures.profit.current is None and "no cost for" in (figures.profit.reason or "")
        after = Window.for_dates(start, start + dt.timedelta(days=19), account.timezone)
        known = profit_service.profit_figures(ctx, OPERATOR, account.id, after)
        assert known.profit.current is not None and not known.skus_without_cost, account.id


def test_the_payouts_page_figures_match_their_transactions(ctx: Context) -> None:
    f = frames(ctx.db)
    tx = f["transactions"]
    for account in f["accounts"].itertuples():
        listed = profit_service.payouts(ctx, OPERATOR, account.id, limit=1_000)
        own = tx[tx.account_id == account.id]
        assert listed and all(p.difference == 0 and p.amount > 0 for p in listed)
        assert total(p.amount for p in listed) == total(own[own.payout_id.notna()].net)
        newest = listed[0]
        lines = profit_service.payout_transactions(ctx, OPERATOR, account.id, newest.payout_id)
        assert total(t.net for t in lines) == newest.amount and len(lines) == newest.transactions


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    t = money_transactions.c
    f = money_fees.c
    p = payouts.c
    c = sku_costs.c
    stmts = {
        "transactions": select(
            t.account_id, t.ebay_transaction_id, t.type, t.booked_on, t.gross, t.fee_total, t.net, t.payout_id
        ),
        "fees": select(t.account_id, t.ebay_transaction_id, f.line_no, f.fee_type, f.amount).join_from(
            money_fees, money_transactions, f.transaction_id == t.id
        ),
        "payouts": select(p.account_id, p.ebay_payout_id, p.amount, p.paid_on, p.transaction_count),
        "costs": select(c.account_id, c.sku, c.valid_from, c.unit_cost),
        "cost_changes": select(sku_cost_changes.c.account_id, sku_cost_changes.c.sku),
    }
    with db.connect() as conn:
        return {name: sorted(tuple(r) for r in conn.execute(stmt)) for name, stmt in stmts.items()}


def test_seeding_again_changes_nothing_and_a_reload_makes_the_same_money(demo: Database) -> None:
    before = snapshot(demo)
    assert len(before["transactions"]) > 3_000 and before["payouts"] and before["costs"]
    with demo.connect() as conn:
        assert meta.get_meta(conn, meta.DEMO_PRISTINE) == "yes"  # the demo's money is not an import

    again = seed_demo(demo, SAMPLE_DIR, now=NOW + dt.timedelta(minutes=30))
    assert again.action == "kept" and snapshot(demo) == before
    # written again through the import path over the same orders: every row already there
    with demo.transaction() as conn:
        assert write_demo_money(conn, now=NOW) == {"money_transactions": 0, "payouts": 0, "sku_costs": 0}
    assert snapshot(demo) == before
    # negative control: the snapshot does see a changed amount
    with demo.transaction() as conn:
        conn.execute(
            payouts.update()
            .where(payouts.c.id == select(func.min(payouts.c.id)).scalar_subquery())
            .values(fee=D("1.00"), amount=D("1.00"))
        )
    assert snapshot(demo) != before

    # an hour later the demo is reloaded (still pristine): the same sales, refunds and labels again
    reloaded = seed_demo(demo, SAMPLE_DIR, now=NOW + dt.timedelta(hours=1))
    assert reloaded.action == "reloaded"
    assert reloaded.money["money_transactions"] == len(before["transactions"])  # all made anew
    after = snapshot(demo)

    def amounts(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted((r[0], r[1], r[2], r[4], r[5], r[6]) for r in rows if r[2] != "non_sale_charge")

    assert amounts(after["transactions"]) == amounts(before["transactions"])
    assert after["payouts"] and len(after["costs"]) >= 0.9 * len(before["costs"])


def test_a_database_from_before_the_money_tables_gets_the_orders_only(tmp_path: Path) -> None:
    """The migration tests seed the demo at revisions before 0005 (no money tables)."""
    db = database_at(f"sqlite:///{tmp_path / 'old.sqlite3'}", revision_before("0005"))
    try:
        result = seed_demo(db, SAMPLE_DIR, now=NOW)
        with db.connect() as conn:
            assert not inspect(conn).has_table("money_transactions")
    finally:
        db.dispose()
    assert result.action == "loaded" and result.counts["orders"] > 3_000
    assert result.money == {} and "money" not in result.message


# -- the pages ----------------------------------------------------------------------------------------


@pytest.fixture
def demo_env(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_the_demo_pages_show_profit_payouts_and_costs(demo_env: None) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at.switch_page("pages/profit.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    tiles = {m.label: m.value for m in at.metric}
    for label in ("Sales", "Fees", "Ad spend", "Shipping labels", "Net proceeds", "Cost of goods", "Profit"):
        assert tiles[label].startswith("$") and tiles[label] != "$0.00", (label, tiles[label])
    assert tiles["Margin"].endswith("%")
    fee_types = at.dataframe[0].value
    assert {"FINAL_VALUE_FEE", "FINAL_VALUE_FEE_FIXED_PER_ORDER", "AD_FEE"} <= set(fee_types["eBay code"])
    assert len(at.dataframe[1].value) > 0  # top products by profit
    # the comparison names the previous period's days, as the overview's does
    assert any(
        "Changes compare with the same number of days just before this period (" in c.value
        for c in at.caption
    ), [c.value for c in at.caption]

    # Dormant Depot (no sale in the last 30 days, money records imported): known zeros, no hint
    dormant = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    dormant.query_params.update(account="5", period="30d")
    dormant.run()
    dormant.switch_page("pages/profit.py").run()
    assert not dormant.exception and not dormant.error, [e.value for e in dormant.error]
    quiet = {m.label: m.value for m in dormant.metric}
    assert quiet["Sales"] == quiet["Profit"] == "$0.00" and quiet["Margin"] == "unknown", quiet
    assert not [c.value for c in dormant.caption if "import the Transaction report" in c.value]
    assert not [i.value for i in dormant.info if "Transaction report" in i.value]

    at.switch_page("pages/payouts.py").run()
    assert not at.exception and not at.error
    assert not at.warning  # every payout equals its transactions
    listed = at.dataframe[0].value
    assert len(listed) > 5 and set(listed["Difference"]) == {""}  # the last 30 days' (every 2-3 days)
    assert set(listed["Status"]) == {"Sent"}
    assert len(at.dataframe[1].value) > 0  # the newest payout's transactions

    at.switch_page("pages/costs.py").run()
    assert not at.exception and not at.error
    tables = [d.value for d in at.dataframe]
    editor = next(t for t in tables if "unit_cost" in t.columns)
    changes = next(t for t in tables if "By" in t.columns)
    assert len(editor) > 10 and (editor.unit_cost > 0).all()
    assert len(changes) > 10 and set(changes["By"]) == {f"csv ({COST_FILE})"}
    # the demo's costs are all new: nothing was before; now is an amount in the account's currency
    assert set(changes["Was"]) == {"— (new)"}
    assert all(re.fullmatch(r"\$[\d,]+\.\d\d", now) for now in changes["Now"]), list(changes["Now"])[:5]
