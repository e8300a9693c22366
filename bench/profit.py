"""Profit at scale (issue 15), on a Postgres database of its own (``profit_bench_<orders>``, made
once and reused while its size matches; the shared benchmark database is never written):

- the profit figures (money figures, fees by type, cost of goods: three statements) for the biggest
  account on a cold cache, against the KPI statement over the same window;
- import speed of money transactions through the import's write path (``db.money.write_money``:
  idempotent upsert of transactions, lines and fee rows in one transaction), in rows/s.

The data: ``--orders`` synthetic orders (``seed_synthetic``), then three money transactions per
order — its sale (two fee rows: final value fee, fixed per order), a Promoted Listings fee, a
shipping label for nine orders in ten and a refund for one in ten —
loaded with COPY; every SKU of the biggest account gets a cost, half of them two cost periods.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, text

from bench import VIEWER, BenchEnv, Measurement, median_ms, timings
from bench import _admin as admin
from ebaydash.context import Context, build_context
from ebaydash.db import bulk, migrations, queries
from ebaydash.db import money as money_db
from ebaydash.db import profit as profit_db
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import money_fees, money_transactions, orders, products, sku_costs
from ebaydash.errors import QueryTimeout
from ebaydash.models import Window
from ebaydash.seeding import seed_synthetic
from ebaydash.services import profit as profit_service
from ebaydash.services.money import NOT_FEES
from ebaydash.settings import Settings

SECTION = "profit"
BIG_ACCOUNT = 1


def _database(env: BenchEnv, orders_wanted: int) -> Settings:
    name = f"profit_bench_{orders_wanted}"
    admin.create_database(env.admin_url, name, exist_ok=True)
    url = admin.url_for(env.admin_url, name)
    settings = Settings(database_url=url, statement_timeout_ms=600_000)
    db = Database(make_engine(settings), timeout_ms=600_000)
    try:
        try:
            have = queries.order_count_total(db)
            with db.connect() as conn:
                money = int(conn.execute(select(func.count()).select_from(money_transactions)).scalar_one())
        except Exception:
            have, money = -1, 0
        if have != orders_wanted or money == 0:
            print(f"bench profit: seeding {orders_wanted:,} orders and their money into {name}", flush=True)
            admin.reset_schema(url)
            migrations.upgrade(db)
            seed_synthetic(db, orders_wanted, accounts=20, seed=42)
            _load_money(db)
            admin.vacuum_analyze(url)
    finally:
        db.dispose()
    return Settings(database_url=url)


def _load_money(db: Database) -> None:
    with db.connect() as conn:
        frame = pd.read_sql(
            select(orders.c.account_id, orders.c.ebay_order_id, orders.c.order_date, orders.c.total_amount),
            conn,
        )
    n = len(frame)
    rng = np.random.default_rng(15)
    day = pd.to_datetime(frame.order_date, utc=True).dt.date
    total = frame.total_amount.astype(float)
    cents = (total * 100).round().astype("int64")
    fvf = (cents * 0.1325).round().astype("int64")
    sales = pd.DataFrame(
        {
            "account_id": frame.account_id,
            "ebay_transaction_id": frame.ebay_order_id,
            "type": "sale",
            "booked_on": day,
            "order_id": frame.ebay_order_id,
            "gross_c": cents,
            "fee_c": fvf + 40,
        }
    )
    label = rng.random(n) < 0.9
    labels = pd.DataFrame(
        {
            "account_id": frame.account_id[label],
            "ebay_transaction_id": "SL-" + frame.ebay_order_id[label],
            "type": "shipping_label",
            "booked_on": day[label],
            "order_id": frame.ebay_order_id[label],
            "gross_c": -rng.integers(300, 1200, int(label.sum())),
            "fee_c": 0,
        }
    )
    ad = np.ones(n, dtype=bool)  # Promoted Listings fees: one per order, so 3 transactions per order
    ads = pd.DataFrame(
        {
            "account_id": frame.account_id[ad],
            "ebay_transaction_id": "AD-" + frame.ebay_order_id[ad],
            "type": "non_sale_charge",
            "booked_on": day[ad],
            "order_id": None,
            "gross_c": 0,
            "fee_c": (cents[ad] * 0.05).round().astype("int64"),
        }
    )
    refund = rng.random(n) < 0.1
    refunds = pd.DataFrame(
        {
            "account_id": frame.account_id[refund],
            "ebay_transaction_id": "RF-" + frame.ebay_order_id[refund],
            "type": "refund",
            "booked_on": day[refund],
            "order_id": frame.ebay_order_id[refund],
            "gross_c": -(cents[refund] // 2),
            "fee_c": -(fvf[refund] // 2),
        }
    )
    tx = pd.concat([sales, labels, ads, refunds], ignore_index=True)
    tx.insert(0, "id", np.arange(1, len(tx) + 1))

    def money(c: Any) -> Any:  # exact text for COPY: whole cents printed with two places
        return (c / 100).map("{:.2f}".format)

    net_c = tx.gross_c - tx.fee_c
    rows = pd.DataFrame(
        {
            "id": tx.id,
            "account_id": tx.account_id,
            "ebay_transaction_id": tx.ebay_transaction_id,
            "type": tx.type,
            "booking_entry": np.where(net_c >= 0, "CREDIT", "DEBIT"),
            "booked_on": tx.booked_on,
            "transaction_date": pd.to_datetime(tx.booked_on).dt.tz_localize("UTC"),
            "time_known": False,
            "currency": "USD",
            "payout_currency": "USD",
            "gross": money(tx.gross_c),
            "fee_total": money(tx.fee_c),
            "net": money(net_c),
            "gross_payout": money(tx.gross_c),
            "fee_total_payout": money(tx.fee_c),
            "fees_payout": money(tx.fee_c),
            "ad_fees_payout": money(tx.fee_c.where(tx.type == "non_sale_charge", 0)),
            "order_id": tx.order_id,
            "ebay_type": "bench",  # COPY reads an empty field as NULL
            "source_format": "bench",
        }
    )
    sale = tx.type == "sale"
    fee_rows: pd.DataFrame = pd.concat(
        [
            pd.DataFrame(
                {
                    "transaction_id": tx.id[sale],
                    "line_no": 0,
                    "fee_type": "FINAL_VALUE_FEE",
                    "amount": money(tx.fee_c[sale] - 40),
                }
            ),
            pd.DataFrame(
                {
                    "transaction_id": tx.id[sale],
                    "line_no": 0,
                    "fee_type": "FINAL_VALUE_FEE_FIXED_PER_ORDER",
                    "amount": "0.40",
                }
            ),
            pd.DataFrame(
                {
                    "transaction_id": tx.id[tx.type == "non_sale_charge"],
                    "line_no": 0,
                    "fee_type": "AD_FEE",
                    "amount": money(tx.fee_c[tx.type == "non_sale_charge"]),
                }
            ),
            pd.DataFrame(
                {
                    "transaction_id": tx.id[tx.type == "refund"],
                    "line_no": 0,
                    "fee_type": "FINAL_VALUE_FEE",
                    "amount": money(tx.fee_c[tx.type == "refund"]),
                }
            ),
        ],
        ignore_index=True,
    )
    fee_rows["amount_payout"] = fee_rows.amount
    by_id = tx.set_index("id")
    fee_rows["account_id"] = by_id.account_id.loc[fee_rows.transaction_id].to_numpy()
    fee_rows["booked_on"] = by_id.booked_on.loc[fee_rows.transaction_id].to_numpy()
    with db.transaction(timeout_ms=3_600_000) as conn:
        with bulk.indexes_and_keys_deferred(conn, [money_transactions, money_fees]):
            bulk.bulk_insert(conn, money_transactions, rows)
            bulk.bulk_insert(conn, money_fees, fee_rows)
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('money_transactions', 'id'), :n + 1, false)"),
            {"n": len(rows)},
        )
        skus = list(
            conn.execute(select(products.c.sku).where(products.c.account_id == BIG_ACCOUNT)).scalars()
        )
    costs = [
        money_db.CostRow(sku, dt.date(2000, 1, 1), Decimal(100 + i % 900) / 100) for i, sku in enumerate(skus)
    ]
    costs += [
        money_db.CostRow(sku, dt.date(2026, 1, 1), Decimal(150 + i % 900) / 100)
        for i, sku in enumerate(skus[::2])
    ]
    money_db.write_costs(db, BIG_ACCOUNT, costs, file=None, now=dt.datetime.now(dt.UTC))
    print(
        f"bench profit: {len(rows):,} transactions, {len(fee_rows):,} fee rows, {len(costs):,} costs",
        flush=True,
    )


def _import_speed(ctx: Context, count: int) -> tuple[float, float]:
    """Seconds and rows/s to write ``count`` new sales (each with a line and two fee rows) into a
    new account through the import's write path; a second write of the same rows (all unchanged)."""
    from ebaydash.importers.money.records import MoneyLine, MoneyTransaction, fee_tuple
    from ebaydash.services.money import transaction_write

    day = dt.date(2026, 9, 1)
    writes = []
    for i in range(count):
        fees = {"FINAL_VALUE_FEE": Decimal("2.65"), "FINAL_VALUE_FEE_FIXED_PER_ORDER": Decimal("0.40")}
        record = MoneyTransaction(
            transaction_id=f"B{i:09d}",
            type="sale",
            booking_entry="CREDIT",
            booked_on=day,
            gross=Decimal("20.00"),
            fees=fee_tuple(fees),
            net=Decimal("16.95"),
            currency="USD",
            payout_currency="USD",
            order_id=f"B{i:09d}",
            lines=(MoneyLine(f"L{i}", fee_tuple(fees), sku="SKU-1", quantity=1),),
        )
        writes.append(transaction_write(record, "bench"))
    name = f"Import speed {time.time_ns()}"
    started = time.perf_counter()
    money_db.write_money(
        ctx.db,
        writes,
        [],
        account_name=name,
        ebay_user_id=name,
        currency="USD",
        timezone="UTC",
        marketplace="EBAY_US",
    )
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = money_db.write_money(
        ctx.db,
        writes,
        [],
        account_name=name,
        ebay_user_id=name,
        currency="USD",
        timezone="UTC",
        marketplace="EBAY_US",
    )
    second = time.perf_counter() - started
    assert again.unchanged == count
    with ctx.db.transaction(timeout_ms=600_000) as conn:  # leave the database as it was for the next run
        conn.execute(text("DELETE FROM accounts WHERE id = :id"), {"id": again.account_id})
    return first, second


def run(env: BenchEnv) -> list[Measurement]:
    settings = _database(env, env.orders)
    ctx = build_context(settings, start_sampler=False)
    out = []
    try:
        with ctx.db.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(money_transactions)).scalar_one())
            mine = int(
                conn.execute(
                    select(func.count())
                    .select_from(money_transactions)
                    .where(money_transactions.c.account_id == BIG_ACCOUNT)
                ).scalar_one()
            )
            cost_rows = int(conn.execute(select(func.count()).select_from(sku_costs)).scalar_one())
        facts = (
            f"{env.orders:,} orders, {total:,} transactions ({mine:,} of the account), {cost_rows:,} costs"
        )
        repeat = 5 if env.quick else 15
        now = dt.datetime.now(dt.UTC)
        for days in (30, 90, 365):
            window = Window.last_days(days, "UTC")

            def kpi_statement(w: Window = window) -> object:
                return queries.account_kpis(ctx.db, BIG_ACCOUNT, w, now)

            def profit_cold(w: Window = window) -> object:
                ctx.cache.l1.clear()
                return profit_service.profit_figures(ctx, VIEWER, BIG_ACCOUNT, w)

            kpi = median_ms(
                timings(
                    kpi_statement,
                    repeat=repeat,
                    warmup=2,
                )
            )
            try:
                profit_ms = median_ms(timings(profit_cold, repeat=repeat, warmup=1))
                note = f"{profit_ms / kpi:.1f}x the KPI statement"
                # which statement takes the time: each one once, cold
                parts = []
                period = profit_service.periods(window, "UTC")
                for name, part in (
                    ("money", lambda p=period: profit_db.money_figures(ctx.db, BIG_ACCOUNT, p)),
                    ("cost of goods", lambda p=period: profit_db.cost_of_goods(ctx.db, BIG_ACCOUNT, p)),
                    (
                        "fees by type",
                        lambda p=period: profit_db.fees_by_type(
                            ctx.db, BIG_ACCOUNT, p, excluded_fee_types=NOT_FEES
                        ),
                    ),
                ):
                    parts.append(f"{name} {median_ms(timings(part, repeat=3, warmup=0)):,.0f} ms")
                note += "; " + ", ".join(parts)
            except QueryTimeout:
                profit_ms = float("nan")
                note = "a statement ran past the app's 5 s statement limit (QueryTimeout)"
            out += [
                Measurement(
                    SECTION, f"KPI statement, biggest account, last {days} days", kpi, "ms", note=facts
                ),
                Measurement(
                    SECTION,
                    f"profit figures (3 statements + account), cold cache, last {days} days",
                    profit_ms,
                    "ms",
                    note=note,
                ),
            ]
        count = 20_000 if env.quick else 200_000
        first, second = _import_speed(ctx, count)
        out += [
            Measurement(
                SECTION,
                f"money import write, {count:,} new sales (db.money.write_money)",
                count / first,
                "rows/s",
                note=f"{first:.1f} s; 1 line + 2 fee rows each",
            ),
            Measurement(
                SECTION,
                f"money re-import of the same {count:,} (all unchanged)",
                count / second,
                "rows/s",
                note=f"{second:.1f} s",
            ),
        ]
    finally:
        ctx.close()
    return out
