"""Order sets built in Python for the analytics tests, and ground truth computed from them with
pandas — never by calling the code under test.

A :class:`Shop` holds plain rows (Decimal money, aware UTC datetimes). ``load`` writes them with
SQLAlchemy Core inserts; ``frame`` gives pandas the very same rows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import insert

from ebaydash.db import migrations, rollups
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import accounts, customers, listings, order_items, orders, products
from ebaydash.settings import Settings

UTC = dt.UTC
ZERO = Decimal("0.00")
TABLES = {
    "accounts": accounts,
    "customers": customers,
    "products": products,
    "listings": listings,
    "orders": orders,
    "order_items": order_items,
}


def local_midnight(day: dt.date, tz: str) -> dt.datetime:
    """Midnight at the start of ``day`` in ``tz``, as an aware UTC datetime."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def day_bounds(first: dt.date, last: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    return local_midnight(first, tz), local_midnight(last + dt.timedelta(days=1), tz)


def cents(n: int) -> Decimal:
    return (Decimal(n) / 100).quantize(Decimal("0.01"))


@dataclass
class Shop:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in TABLES})

    def next_id(self, table: str) -> int:
        return max((r["id"] for r in self.rows[table]), default=0) + 1

    # -- building ------------------------------------------------------------------------------

    def account(self, name: str, tz: str = "UTC", currency: str = "USD") -> int:
        account_id = self.next_id("accounts")
        self.rows["accounts"].append(
            dict(id=account_id, name=name, ebay_user_id=name.lower(), currency=currency, timezone=tz)
        )
        return account_id

    def customer(self, account_id: int, username: str, email: str | None = None) -> int:
        cid = self.next_id("customers")
        self.rows["customers"].append(
            dict(id=cid, account_id=account_id, ebay_username=username, email=email)
        )
        return cid

    def product(self, account_id: int, sku: str, title: str) -> int:
        pid = self.next_id("products")
        self.rows["products"].append(dict(id=pid, account_id=account_id, sku=sku, title=title, active=True))
        return pid

    def listing(
        self,
        account_id: int,
        product_id: int,
        started: dt.datetime,
        ended: dt.datetime | None = None,
        status: str = "active",
    ) -> int:
        lid = self.next_id("listings")
        self.rows["listings"].append(
            dict(
                id=lid,
                account_id=account_id,
                product_id=product_id,
                ebay_item_id=f"item-{lid}",
                status=status,
                price=Decimal("9.99"),
                quantity=1,
                started_at=started,
                ended_at=ended,
            )
        )
        return lid

    def order(
        self,
        account_id: int,
        when: dt.datetime,
        lines: Iterable[tuple[str, str, int, Decimal]],
        *,
        customer_id: int | None = None,
        status: str = "paid",
        shipping: Decimal = ZERO,
        refunded: Decimal = ZERO,
        ebay_order_id: str | None = None,
        order_id: int | None = None,
    ) -> int:
        """An order whose total is its lines plus ``shipping``; ``lines`` are (sku, title, qty, price)."""
        oid = order_id or self.next_id("orders")
        total = shipping
        for sku, title, quantity, price in lines:
            total += price * quantity
            self.rows["order_items"].append(
                dict(
                    id=self.next_id("order_items"),
                    order_id=oid,
                    product_id=None,
                    sku=sku,
                    title=title,
                    quantity=quantity,
                    unit_price=price,
                )
            )
        self.rows["orders"].append(
            dict(
                id=oid,
                account_id=account_id,
                ebay_order_id=ebay_order_id or f"ord-{oid:05d}",
                customer_id=customer_id,
                status=status,
                total_amount=total,
                refunded_amount=refunded,
                currency="USD",
                order_date=when,
                updated_at=when + dt.timedelta(hours=1),
            )
        )
        return oid

    # -- storing -------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items()}

    def load(self, db: Database, *, since: dict[str, int] | None = None) -> None:
        """Insert the rows (only those added after ``since = shop.counts()``, when given), and
        rebuild the rollups of the accounts in the same transaction, as the bulk loads do."""
        with db.transaction() as conn:
            for name, table in TABLES.items():
                rows = self.rows[name][(since or {}).get(name, 0) :]
                if rows:
                    conn.execute(insert(table), rows)
            rollups.rebuild(conn, [int(a["id"]) for a in self.rows["accounts"]])

    def serve(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
        """A fixture's body: a new SQLite database at ``path`` with these rows, the app's
        EBAYDASH_DATABASE_URL pointing at it, and Streamlit's cached resources (the app's context)
        cleared before and after, so an AppTest opens this database."""
        url = f"sqlite:///{path}"
        db = Database(make_engine(Settings(database_url=url)), timeout_ms=5000)
        migrations.upgrade(db)
        self.load(db)
        db.dispose()
        monkeypatch.setenv("EBAYDASH_DATABASE_URL", url)
        st.cache_resource.clear()
        yield self
        st.cache_resource.clear()

    def frame(self, table: str) -> pd.DataFrame:
        columns = [c.name for c in TABLES[table].columns]
        return pd.DataFrame(self.rows[table], columns=columns)


# -- random shops -----------------------------------------------------------------------------------


def random_shop(
    seed: int,
    *,
    n_orders: int,
    tz: str,
    first: dt.date,
    last: dt.date,
    n_customers: int = 12,
    n_skus: int = 8,
) -> tuple[Shop, int]:
    """One account with orders spread over the window, the window before it and a margin, with
    many of them exactly on window edges and on local midnights; all statuses, full and partial
    refunds, buyers that are unknown."""
    rng = random.Random(seed)
    shop = Shop()
    account_id = shop.account(f"Shop{seed}", tz)
    customer_ids = [shop.customer(account_id, f"buyer{n}") for n in range(n_customers)]
    skus = [(f"SKU-{n}", f"Thing {n}", cents(rng.randint(50, 20_000))) for n in range(n_skus)]
    for sku, title, _ in skus[: n_skus // 2]:
        shop.product(account_id, sku, f"Catalogue {title}")  # titles from the catalogue win
    days = (last - first).days + 1
    earliest = first - dt.timedelta(days=days + 2)
    span_days = (last - earliest).days + 3
    start, end = day_bounds(first, last, tz)
    edges = [start, end, start - dt.timedelta(microseconds=1), end - dt.timedelta(seconds=1)]
    for _ in range(n_orders):
        kind = rng.random()
        if kind < 0.2:
            when = rng.choice(edges)
        elif kind < 0.45:  # a local midnight, or a second either side of one
            midnight = local_midnight(earliest + dt.timedelta(days=rng.randrange(span_days)), tz)
            when = midnight + dt.timedelta(seconds=rng.choice((-1, 0, 1)))
        else:
            when = local_midnight(earliest, tz) + dt.timedelta(seconds=rng.randrange(span_days * 86400))
        lines = [
            (sku, title, rng.choice((1, 1, 2, 3)), price)
            for sku, title, price in rng.sample(skus, rng.choice((1, 1, 2, 3)))
        ]
        status = rng.choice(("paid", "shipped", "delivered", "pending", "cancelled", "refunded"))
        shipping = rng.choice((ZERO, Decimal("4.99"), Decimal("0.01")))
        total = sum((p * q for _, _, q, p in lines), shipping)
        refunded = ZERO
        if status == "refunded":
            refunded = total
        elif status != "cancelled" and rng.random() < 0.15:
            refunded = cents(rng.randint(1, int(total * 100)))
        shop.order(
            account_id,
            when,
            lines,
            customer_id=rng.choice([*customer_ids, None]),
            status=status,
            shipping=shipping,
            refunded=refunded,
        )
    return shop, account_id


# -- ground truth -----------------------------------------------------------------------------------


def in_range(frame: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    return frame[(frame.order_date >= start) & (frame.order_date < end)]


def money_sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def order_figures(shop: Shop, account_id: int, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    frame = shop.frame("orders")
    inside = in_range(frame[frame.account_id == account_id], start, end)
    live = inside[inside.status != "cancelled"]
    revenue = money_sum(t - r for t, r in zip(live.total_amount, live.refunded_amount, strict=True))
    return {
        "orders": len(live),
        "revenue": revenue,
        "customers": live.customer_id.dropna().nunique(),
        "refunds": int((live.refunded_amount > 0).sum()),
        "refunded": money_sum(live.refunded_amount),
        "cancelled": int((inside.status == "cancelled").sum()),
        "aov": (revenue / len(live)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        if len(live)
        else ZERO,
    }


def listing_figures(shop: Shop, account_id: int, moment: dt.datetime) -> dict[str, int]:
    frame = shop.frame("listings")
    mine = frame[frame.account_id == account_id]
    ended = mine.ended_at.map(lambda e: e is not None and not pd.isna(e) and e < moment)
    no_end_but_ended = mine.ended_at.map(lambda e: e is None or pd.isna(e)) & (mine.status == "ended")
    live = mine[(mine.started_at < moment) & ~ended & ~no_end_but_ended]
    return {"listings": len(live), "products": live.product_id.nunique()}


def local_bucket(moment: dt.datetime, tz: str, weekly: bool) -> dt.date:
    day = moment.astimezone(ZoneInfo(tz)).date()
    return day - dt.timedelta(days=day.weekday()) if weekly else day


def trend_truth(
    shop: Shop, account_id: int, start: dt.datetime, end: dt.datetime, tz: str, weekly: bool
) -> dict[dt.date, tuple[int, Decimal]]:
    frame = shop.frame("orders")
    live = in_range(frame[(frame.account_id == account_id) & (frame.status != "cancelled")], start, end)
    out: dict[dt.date, tuple[int, Decimal]] = {}
    if live.empty:
        return out
    live = live.assign(
        bucket=live.order_date.map(lambda m: local_bucket(m, tz, weekly)),
        net=[t - r for t, r in zip(live.total_amount, live.refunded_amount, strict=True)],
    )
    for bucket, group in live.groupby("bucket"):
        out[bucket] = (len(group), money_sum(group.net))  # type: ignore[index]
    return out


def top_products_truth(
    shop: Shop, account_id: int, start: dt.datetime, end: dt.datetime, by: str, limit: int
) -> list[tuple[str, str, int, Decimal, int]]:
    frame = shop.frame("orders")
    kept = in_range(
        frame[(frame.account_id == account_id) & ~frame.status.isin(["cancelled", "refunded"])], start, end
    )
    items = shop.frame("order_items").merge(kept[["id"]], left_on="order_id", right_on="id")
    if items.empty:
        return []
    items = items.assign(line=[q * p for q, p in zip(items.quantity, items.unit_price, strict=True)])
    catalogue = {p["sku"]: p["title"] for p in shop.rows["products"] if p["account_id"] == account_id}
    rows = []
    for sku, group in items.groupby("sku"):
        title = catalogue.get(str(sku), max(group.title))
        rows.append(
            (str(sku), title, int(group.quantity.sum()), money_sum(group.line), group.order_id.nunique())
        )
    if by == "revenue":
        rows.sort(key=lambda r: (-r[3], -r[2], r[0]))
    else:
        rows.sort(key=lambda r: (-r[2], -r[3], r[0]))
    return rows[:limit]


def top_buyers_truth(
    shop: Shop, account_id: int, start: dt.datetime, end: dt.datetime, limit: int
) -> list[tuple[str, int, Decimal]]:
    frame = shop.frame("orders")
    live = in_range(frame[(frame.account_id == account_id) & (frame.status != "cancelled")], start, end)
    live = live[live.customer_id.notna()]
    names = {c["id"]: c["ebay_username"] for c in shop.rows["customers"]}
    rows = []
    for cid, group in live.groupby("customer_id"):
        net = money_sum(t - r for t, r in zip(group.total_amount, group.refunded_amount, strict=True))
        rows.append((int(cid), names[int(cid)], len(group), net))  # type: ignore[call-overload]
    rows.sort(key=lambda r: (-r[3], -r[2], r[0]))
    return [(name, n, net) for _, name, n, net in rows[:limit]]


def status_truth(
    shop: Shop, account_id: int, start: dt.datetime, end: dt.datetime
) -> dict[str, tuple[int, Decimal]]:
    frame = shop.frame("orders")
    inside = in_range(frame[frame.account_id == account_id], start, end)
    return {
        str(status): (len(group), money_sum(group.total_amount)) for status, group in inside.groupby("status")
    }
