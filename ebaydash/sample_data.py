"""Deterministic demo data: a few shops of very different sizes, 13 months of orders.

``generate(seed)`` returns one DataFrame per table, always the same for the same seed. The shipped
CSVs in ``sample_data/`` are its output (``ebaydash sample``). Dates are generated up to a fixed
anchor; :func:`shift_to_now` moves them so the newest order lands in the last minute, which keeps
the demo alive whenever it is loaded.

:func:`synthetic` builds a large data set fast (numpy, vectorised) for benchmarks.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from ebaydash.db.schema import TABLE_NAMES
from ebaydash.errors import ConfigError
from ebaydash.money import to_money

ANCHOR = dt.datetime(2026, 1, 31, 21, 0, tzinfo=dt.UTC)  # newest possible generated order
HISTORY_DAYS = 396  # 13 months

MONEY_COLUMNS = {
    "listings": ["price"],
    "orders": ["total_amount", "refunded_amount"],
    "order_items": ["unit_price"],
}
DATE_COLUMNS = {
    "listings": ["started_at", "ended_at"],
    "orders": ["order_date", "updated_at"],
}


@dataclass(frozen=True)
class ShopProfile:
    name: str
    ebay_user_id: str
    marketplace: str
    currency: str
    timezone: str
    orders: int
    products: int
    customers: int
    price_range: tuple[float, float]
    catalogue: tuple[str, ...]
    quiet_days: int = 0  # no orders in the last N days
    growth: float = 0.0  # yearly growth of the order rate


SHOPS: tuple[ShopProfile, ...] = (
    ShopProfile(
        "Retro Records",
        "retro_records_us",
        "EBAY_US",
        "USD",
        "America/New_York",
        orders=1900,
        products=120,
        customers=900,
        price_range=(8, 85),
        growth=0.6,
        catalogue=("Vinyl LP", "7-inch Single", "Box Set", "Picture Disc", "Cassette"),
    ),
    ShopProfile(
        "Gadget Garage",
        "gadget_garage",
        "EBAY_US",
        "USD",
        "America/Los_Angeles",
        orders=1100,
        products=70,
        customers=700,
        price_range=(15, 420),
        growth=0.2,
        catalogue=(
            "USB-C Hub",
            "Mechanical Keyboard",
            "Smart Plug",
            "Headphones",
            "Phone Case",
            "Action Camera",
        ),
    ),
    ShopProfile(
        "Stitch & Thread",
        "stitch_and_thread",
        "EBAY_GB",
        "GBP",
        "Europe/London",
        orders=480,
        products=45,
        customers=260,
        price_range=(3, 40),
        growth=0.1,
        catalogue=("Embroidery Kit", "Yarn Bundle", "Quilting Pattern", "Needle Set"),
    ),
    ShopProfile(
        "Tiny Treasures",
        "tiny_treasures_au",
        "EBAY_AU",
        "AUD",
        "Australia/Sydney",
        orders=90,
        products=15,
        customers=70,
        price_range=(12, 150),
        catalogue=("Vintage Brooch", "Silver Locket", "Enamel Pin"),
    ),
    ShopProfile(
        "Dormant Depot",
        "dormant_depot",
        "EBAY_US",
        "USD",
        "America/Chicago",
        orders=160,
        products=25,
        customers=120,
        price_range=(5, 60),
        quiet_days=100,
        catalogue=("Garden Tool", "Bird Feeder", "Plant Pot"),
    ),
)

ADJECTIVES = (
    "Classic",
    "Rare",
    "Deluxe",
    "Limited",
    "Handmade",
    "Vintage",
    "Compact",
    "Pro",
    "Mini",
    "Original",
    "Signed",
    "Colour",
    "Heavy-Duty",
    "Eco",
    "Collector's",
)
FIRST = (
    "alex",
    "sam",
    "jo",
    "chris",
    "pat",
    "kim",
    "lee",
    "max",
    "robin",
    "casey",
    "jamie",
    "taylor",
    "morgan",
    "drew",
    "quinn",
    "sky",
    "ash",
    "reese",
    "rory",
    "dana",
)
LAST = (
    "smith",
    "jones",
    "garcia",
    "brown",
    "lee",
    "wilson",
    "taylor",
    "martin",
    "clark",
    "walker",
    "young",
    "king",
    "wright",
    "hill",
    "green",
    "baker",
    "adams",
    "nelson",
)
MONTH_WEIGHT = {
    1: 0.85,
    2: 0.8,
    3: 0.9,
    4: 0.9,
    5: 0.95,
    6: 0.9,
    7: 0.85,
    8: 0.9,
    9: 0.95,
    10: 1.0,
    11: 1.1,
    12: 1.15,
}
HOUR_WEIGHT = [
    1,
    0.6,
    0.4,
    0.3,
    0.3,
    0.4,
    0.7,
    1.0,
    1.3,
    1.5,
    1.6,
    1.7,
    1.8,
    1.7,
    1.6,
    1.6,
    1.7,
    1.9,
    2.2,
    2.5,
    2.6,
    2.3,
    1.8,
    1.3,
]


def generate(seed: int = 7) -> dict[str, pd.DataFrame]:
    """One DataFrame per table, ids assigned, dates up to :data:`ANCHOR`."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in TABLE_NAMES}
    ids = {name: 0 for name in TABLE_NAMES}

    def new_id(table: str) -> int:
        ids[table] += 1
        return ids[table]

    first_day = ANCHOR - dt.timedelta(days=HISTORY_DAYS)
    for shop in SHOPS:
        account_id = new_id("accounts")
        rows["accounts"].append(
            dict(
                id=account_id,
                name=shop.name,
                ebay_user_id=shop.ebay_user_id,
                marketplace=shop.marketplace,
                currency=shop.currency,
                timezone=shop.timezone,
            )
        )
        customer_ids = []
        for n in range(shop.customers):
            cid = new_id("customers")
            username = f"{rng.choice(FIRST)}_{rng.choice(LAST)}{rng.randint(1, 9999)}"
            if any(c["ebay_username"] == username for c in rows["customers"][-n:] if n):
                username += f"_{n}"
            email = f"{username}@example.com" if rng.random() < 0.7 else None
            rows["customers"].append(dict(id=cid, account_id=account_id, ebay_username=username, email=email))
            customer_ids.append(cid)

        product_rows = []
        for n in range(shop.products):
            pid = new_id("products")
            kind = rng.choice(shop.catalogue)
            title = f"{rng.choice(ADJECTIVES)} {kind} #{n + 1:03d}"
            low, high = shop.price_range
            price = to_money(math.exp(rng.uniform(math.log(low), math.log(high))))
            product = dict(
                id=pid,
                account_id=account_id,
                sku=f"{shop.ebay_user_id[:3].upper()}-{n + 1:04d}",
                title=title,
                active=rng.random() > 0.12,
            )
            rows["products"].append(product)
            product_rows.append((product, price))
            started = first_day + dt.timedelta(days=rng.uniform(-60, HISTORY_DAYS * 0.7))
            listing_status, ended = "active", None
            if not product["active"]:
                listing_status = "ended"
                ended = started + dt.timedelta(days=rng.uniform(20, 200))
            elif rng.random() < 0.08:
                listing_status = "sold_out"
            if ended is not None and ended > ANCHOR:
                ended = ANCHOR - dt.timedelta(days=rng.uniform(1, 30))
            rows["listings"].append(
                dict(
                    id=new_id("listings"),
                    account_id=account_id,
                    product_id=pid,
                    ebay_item_id=str(110_000_000_000 + rng.randint(0, 9_999_999_999)),
                    status=listing_status,
                    price=price,
                    quantity=0 if listing_status != "active" else rng.randint(1, 40),
                    started_at=_second(started),
                    ended_at=_second(ended) if ended else None,
                )
            )

        # Repeat buyers: a few customers place many orders (Zipf-like weights).
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(customer_ids))]
        days = _order_days(rng, shop, first_day)
        for order_day in days:
            oid = new_id("orders")
            hour = rng.choices(range(24), HOUR_WEIGHT)[0]
            local_zone_offset = dt.timedelta(hours=rng.choice((-5, -6, -8, 0, 10)))
            when = (
                order_day
                + dt.timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
                - local_zone_offset
            )
            when = min(when, ANCHOR - dt.timedelta(minutes=rng.randint(1, 600)))
            customer = rng.choices(customer_ids, weights)[0]
            lines = rng.choices((1, 2, 3, 4), (70, 20, 7, 3))[0]
            items_total = Decimal("0.00")
            for product, price in rng.sample(product_rows, min(lines, len(product_rows))):
                quantity = rng.choices((1, 2, 3, 5), (80, 13, 5, 2))[0]
                unit = to_money(price * Decimal(str(rng.choice((1, 1, 1, 0.9, 0.85)))))
                items_total += unit * quantity
                rows["order_items"].append(
                    dict(
                        id=new_id("order_items"),
                        order_id=oid,
                        product_id=product["id"],
                        line_item_id=str(10_000_000_000 + ids["order_items"]),
                        sku=product["sku"],
                        title=product["title"],
                        quantity=quantity,
                        unit_price=unit,
                    )
                )
            shipping = rng.choice(
                (Decimal("0.00"), Decimal("0.00"), Decimal("3.99"), Decimal("5.49"), Decimal("9.99"))
            )
            total = items_total + shipping
            status, refunded = _status(rng, ANCHOR - when, total)
            updated = when + dt.timedelta(hours=rng.uniform(0.1, 24 * min(10, (ANCHOR - when).days + 1)))
            rows["orders"].append(
                dict(
                    id=oid,
                    account_id=account_id,
                    ebay_order_id=f"{rng.randint(10, 27):02d}-{rng.randint(10000, 99999)}-"
                    f"{rng.randint(10000, 99999)}",
                    customer_id=customer,
                    status=status,
                    total_amount=total,
                    refunded_amount=refunded,
                    currency=shop.currency,
                    order_date=_second(when),
                    updated_at=_second(min(updated, ANCHOR)),
                )
            )
    frames = {name: pd.DataFrame(data) for name, data in rows.items()}
    _dedupe_order_ids(frames["orders"])
    return frames


def _second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def _order_days(rng: random.Random, shop: ShopProfile, first_day: dt.datetime) -> list[dt.datetime]:
    """Order days with seasonality, weekend bumps and growth, newest last."""
    last_day = HISTORY_DAYS - shop.quiet_days
    day_weights = []
    for offset in range(last_day):
        day = first_day + dt.timedelta(days=offset)
        weight = MONTH_WEIGHT[day.month] * (1.25 if day.weekday() >= 5 else 1.0)
        weight *= 1 + shop.growth * offset / HISTORY_DAYS
        day_weights.append(weight)
    chosen = rng.choices(range(last_day), day_weights, k=shop.orders)
    days = sorted(first_day.replace(hour=0, minute=0, second=0) + dt.timedelta(days=d) for d in chosen)
    return days


def _status(rng: random.Random, age: dt.timedelta, total: Decimal) -> tuple[str, Decimal]:
    roll = rng.random()
    if roll < 0.03:
        return "cancelled", Decimal("0.00")
    if roll < 0.05 and age.days > 3:
        return "refunded", total
    refunded = Decimal("0.00")
    if roll < 0.06 and age.days > 3:  # a partial refund on an order that was otherwise kept
        refunded = to_money(total * Decimal("0.25"))
    if age.days < 1:
        return rng.choice(("pending", "paid")), refunded
    if age.days < 4:
        return rng.choice(("paid", "shipped")), refunded
    if age.days < 10:
        return rng.choice(("shipped", "delivered")), refunded
    return "delivered", refunded


def _dedupe_order_ids(orders: pd.DataFrame) -> None:
    duplicated = orders.duplicated(["account_id", "ebay_order_id"])
    orders.loc[duplicated, "ebay_order_id"] = orders.loc[duplicated, "ebay_order_id"] + "-2"


# -- shifting and CSV round trip ------------------------------------------------------------------


def shift_to_now(frames: Mapping[str, pd.DataFrame], now: dt.datetime) -> dict[str, pd.DataFrame]:
    """Move every date by the same whole number of minutes so the newest order was placed in the
    minute before ``now`` (the demo opens on a shop that sold something just now, not a day and a
    half ago); a moment the move would put after ``now`` (an update made after the newest order)
    becomes ``now``. The same frames and ``now`` give the same result."""
    newest = frames["orders"]["order_date"].dropna().max()
    if pd.isna(newest):
        return dict(frames)  # no order to anchor on
    minutes = max((now - newest) // dt.timedelta(minutes=1), 0)
    delta = dt.timedelta(minutes=minutes)
    shifted = {}
    for name, frame in frames.items():
        frame = frame.copy()
        for column in DATE_COLUMNS.get(name, []):
            frame[column] = frame[column].map(lambda v: None if pd.isna(v) else min(v + delta, now))
        shifted[name] = frame
    return shifted


def write_csvs(frames: Mapping[str, pd.DataFrame], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        if frame.empty:
            continue
        path = directory / f"{name}.csv"
        out = frame.copy()
        for column in DATE_COLUMNS.get(name, []):
            out[column] = out[column].map(lambda v: "" if pd.isna(v) else v.isoformat())
        out.to_csv(path, index=False)
        written.append(path)
    return written


# the checkout the package lives in (or an editable install of one), which ships sample_data/
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def demo_dir(configured: str | Path) -> Path:
    """Where the demo CSVs are: ``configured`` (EBAYDASH_SAMPLE_DIR or ``--sample-dir``) when it
    holds them; a relative path that does not, from another working directory, is looked up
    beside the package too, so ``ebaydash seed-demo`` works from anywhere."""
    path = Path(configured)
    if not path.is_absolute() and not (path / f"{TABLE_NAMES[0]}.csv").exists():
        shipped = PROJECT_ROOT / path
        if (shipped / f"{TABLE_NAMES[0]}.csv").exists():
            return shipped
    return path


def read_csvs(directory: Path) -> dict[str, pd.DataFrame]:
    """Read the shipped CSVs back with exact types: Decimal money, aware UTC datetimes.

    Raises ConfigError naming the missing file and how to write the set again."""
    frames = {}
    for table in TABLE_NAMES:
        path = directory / f"{table}.csv"
        if not path.exists():
            raise ConfigError(
                f"The demo data is incomplete: {path} is missing. Write the demo files with "
                f"`ebaydash sample --out {directory}`, or point EBAYDASH_SAMPLE_DIR at them."
            )
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            if column == "id" or (
                column.endswith("_id")
                and column not in ("ebay_user_id", "ebay_order_id", "ebay_item_id", "line_item_id")
            ):
                frame[column] = frame[column].astype("int64")
        for column in MONEY_COLUMNS.get(table, []):
            frame[column] = frame[column].map(to_money)
        for column in DATE_COLUMNS.get(table, []):
            frame[column] = frame[column].map(
                lambda v: dt.datetime.fromisoformat(v).astimezone(dt.UTC) if v else None
            )
        for column in ("quantity",):
            if column in frame.columns:
                frame[column] = frame[column].astype("int64")
        if "active" in frame.columns:
            frame["active"] = frame["active"].map({"True": True, "False": False})
        for column in ("email", "line_item_id"):
            if column in frame.columns:
                frame[column] = frame[column].replace("", None)
        frames[table] = frame
    return frames


# -- large synthetic data set ---------------------------------------------------------------------


def synthetic(
    orders: int,
    *,
    accounts: int = 20,
    seed: int = 42,
    start_ids: Mapping[str, int] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, pd.DataFrame]:
    """A large data set for benchmarks: one account holds ~30 % of the orders, the rest share the
    remainder unevenly; 13 months of dates; 1–4 items per order. Vectorised with numpy."""
    rng = np.random.default_rng(seed)
    start = {name: 1 for name in TABLE_NAMES} | dict(start_ids or {})
    now = now or dt.datetime.now(dt.UTC)

    def ids(table: str, n: int) -> np.ndarray:
        return np.arange(start[table], start[table] + n, dtype=np.int64)

    account_ids = ids("accounts", accounts)
    account_frame = pd.DataFrame(
        {
            "id": account_ids,
            # account ids are unique in the database, so names built from them are too
            "name": [f"Bench Shop {i:03d}" for i in account_ids],
            "ebay_user_id": [f"bench_{i:03d}" for i in account_ids],
            "marketplace": "EBAY_US",
            "currency": "USD",
            "timezone": "UTC",
        }
    )
    # the others decay geometrically (with noise), so none of them outgrows the big one
    rest = 0.85 ** np.arange(accounts - 1) * rng.uniform(0.8, 1.2, accounts - 1)
    shares = np.concatenate([[0.3], 0.7 * rest / rest.sum()]) if accounts > 1 else np.array([1.0])
    per_account = np.floor(shares * orders).astype(np.int64)
    per_account[0] += orders - per_account.sum()

    # customers and products scale with each account's order count
    customers_per = np.maximum(per_account // 3, 5)
    products_per = np.maximum(np.minimum(per_account // 50, 2000), 5)
    customer_account = np.repeat(account_ids, customers_per)
    customer_ids = ids("customers", len(customer_account))
    product_account = np.repeat(account_ids, products_per)
    product_ids = ids("products", len(product_account))
    customers_frame = pd.DataFrame(
        {
            "id": customer_ids,
            "account_id": customer_account,
            "ebay_username": [f"buyer{i}" for i in customer_ids],
            "email": None,
        }
    )
    product_price_cents = np.round(np.exp(rng.uniform(np.log(500), np.log(20000), len(product_ids))))
    products_frame = pd.DataFrame(
        {
            "id": product_ids,
            "account_id": product_account,
            "sku": [f"SKU-{i}" for i in product_ids],
            "title": [f"Product {i}" for i in product_ids],
            "active": rng.random(len(product_ids)) > 0.1,
        }
    )
    listing_ids = ids("listings", len(product_ids))
    started = now - pd.to_timedelta(rng.uniform(30, 500, len(product_ids)), unit="D")
    ended_mask = ~products_frame["active"].to_numpy()
    listings_frame = pd.DataFrame(
        {
            "id": listing_ids,
            "account_id": product_account,
            "product_id": product_ids,
            "ebay_item_id": [str(200_000_000_000 + i) for i in listing_ids],
            "status": np.where(ended_mask, "ended", "active"),
            "price": _cents_to_money(product_price_cents),
            "quantity": np.where(ended_mask, 0, rng.integers(1, 50, len(product_ids))),
            "started_at": started.floor("s"),
            "ended_at": pd.Series(started + pd.Timedelta(days=20)).where(ended_mask).dt.floor("s"),
        }
    )

    order_account = np.repeat(account_ids, per_account)
    order_ids = ids("orders", orders)
    # customer and product index ranges per account
    c_offset = np.concatenate([[0], np.cumsum(customers_per)[:-1]])
    p_offset = np.concatenate([[0], np.cumsum(products_per)[:-1]])
    account_index = np.repeat(np.arange(accounts), per_account)
    order_customer = customer_ids[
        c_offset[account_index]
        + np.floor(rng.power(0.5, orders) * customers_per[account_index]).astype(np.int64)
    ]
    age_days = rng.uniform(0, HISTORY_DAYS, orders)
    order_date = (now - pd.to_timedelta(age_days, unit="D")).floor("s")
    status_roll = rng.random(orders)
    status = np.select(
        [status_roll < 0.03, status_roll < 0.05, age_days < 1, age_days < 4],
        ["cancelled", "refunded", "paid", "shipped"],
        default="delivered",
    )

    lines = rng.choice([1, 2, 3, 4], size=orders, p=[0.7, 0.2, 0.07, 0.03])
    item_order_index = np.repeat(np.arange(orders), lines)
    n_items = len(item_order_index)
    item_product_local = rng.integers(0, products_per[account_index[item_order_index]])
    item_product_index = p_offset[account_index[item_order_index]] + item_product_local
    quantity = rng.choice([1, 2, 3], size=n_items, p=[0.85, 0.12, 0.03])
    unit_cents = product_price_cents[item_product_index]
    line_cents = unit_cents * quantity
    total_cents = np.bincount(item_order_index, weights=line_cents, minlength=orders)
    refunded_cents = np.where(status == "refunded", total_cents, 0)

    orders_frame = pd.DataFrame(
        {
            "id": order_ids,
            "account_id": order_account,
            "ebay_order_id": [f"S-{i}" for i in order_ids],
            "customer_id": order_customer,
            "status": status,
            "total_amount": _cents_to_money(total_cents),
            "refunded_amount": _cents_to_money(refunded_cents),
            "currency": "USD",
            "order_date": order_date,
            "updated_at": order_date + pd.Timedelta(hours=1),
        }
    )
    items_frame = pd.DataFrame(
        {
            "id": ids("order_items", n_items),
            "order_id": order_ids[item_order_index],
            "product_id": product_ids[item_product_index],
            "line_item_id": None,
            "sku": products_frame["sku"].to_numpy()[item_product_index],
            "title": products_frame["title"].to_numpy()[item_product_index],
            "quantity": quantity,
            "unit_price": _cents_to_money(unit_cents),
        }
    )
    return {
        "accounts": account_frame,
        "customers": customers_frame,
        "products": products_frame,
        "listings": listings_frame,
        "orders": orders_frame,
        "order_items": items_frame,
    }


def _cents_to_money(cents: np.ndarray) -> list[str]:
    """Exact two-place strings from integer cents (no float rounding on the way)."""
    as_int = np.asarray(np.round(cents), dtype=np.int64)
    return [f"{c // 100}.{c % 100:02d}" for c in as_int.tolist()]
