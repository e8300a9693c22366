"""Putting data into a database: the demo set (idempotent) and large synthetic sets (fast).

This module picks the data and reports; :mod:`ebaydash.db.bulk` writes it, one transaction each.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from ebaydash import sample_data
from ebaydash.db import bulk
from ebaydash.db import money as money_db
from ebaydash.db.engine import Database
from ebaydash.demo_money import write_demo_money
from ebaydash.errors import InvalidInput

log = logging.getLogger(__name__)


def _check_whole(name: str, value: object, low: int) -> None:
    # numpy would fail deep inside the generator (negative dimensions, negative repeats), and zero
    # orders would still write empty accounts: refuse with the value's name and range instead
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise InvalidInput(f"{name} must be a whole number of at least {low}, not {value!r}.")


@dataclass(frozen=True)
class SeedResult:
    action: str  # loaded | reloaded | kept
    counts: dict[str, int]  # rows loaded per table of the data set
    seconds: float
    message: str
    money: dict[str, int] = field(default_factory=dict)  # the demo's money rows written per table


def seed_demo(db: Database, sample_dir: Path, *, now: dt.datetime | None = None) -> SeedResult:
    """Load the demo CSVs into an empty database, dates shifted so the newest order was placed in
    the minute before ``now`` (:func:`ebaydash.sample_data.shift_to_now`). The schema must be
    current (:func:`ebaydash.context.open_database` sees to it).

    With the orders come their money records, payouts and costs of goods
    (:func:`ebaydash.demo_money.write_demo_money`), in the same transaction; a database at a
    revision before the money tables (0005) gets the orders only.

    Idempotent: a database that already holds data is left alone, except a demo database loaded in
    an earlier hour and never imported into, which is reloaded so the demo stays current.
    """
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    money: dict[str, int] = {}

    def add_money(conn: Connection) -> None:
        if money_db.has_money_tables(conn):
            money.update(write_demo_money(conn, now=now))

    action, counts = bulk.load_demo(
        db,
        lambda: sample_data.shift_to_now(sample_data.read_csvs(sample_dir), now),
        # reloaded when an hour has turned since: a demo started again later shows recent orders
        today=now.strftime("%Y-%m-%dT%H"),
        then=add_money,
    )
    seconds = time.perf_counter() - started
    if action == "kept":
        return SeedResult("kept", {}, seconds, "The database already holds data; nothing to do.")
    return SeedResult(
        action,
        counts,
        seconds,
        f"Demo data {action}: {counts.get('orders', 0):,} orders in {counts.get('accounts', 0)} accounts"
        + (
            f", {money['money_transactions']:,} money records, {money['payouts']:,} payouts and "
            f"{money['sku_costs']:,} costs of goods"
            if money
            else ""
        )
        + f" ({seconds:.1f} s).",
        money,
    )


def seed_synthetic(db: Database, orders: int, *, accounts: int = 20, seed: int = 42) -> SeedResult:
    """Add a large synthetic data set (new accounts) with bulk loading (the schema must be current).

    :class:`~ebaydash.errors.InvalidInput` unless ``orders`` and ``accounts`` are at least 1 and
    ``seed`` at least 0, before anything is written."""
    _check_whole("orders", orders, 1)
    _check_whole("accounts", accounts, 1)
    _check_whole("seed", seed, 0)  # numpy's generators take no negative seed
    started = time.perf_counter()
    generated = 0.0

    def frames(start_ids: Mapping[str, int]) -> dict[str, pd.DataFrame]:
        nonlocal generated
        made = sample_data.synthetic(orders, accounts=accounts, seed=seed, start_ids=start_ids)
        generated = time.perf_counter() - started
        return made

    counts = bulk.load_synthetic(db, frames)
    seconds = time.perf_counter() - started
    log.info("generated in %.1f s, loaded in %.1f s", generated, seconds - generated)
    return SeedResult(
        "loaded",
        counts,
        seconds,
        f"Seeded {counts.get('orders', 0):,} orders and {counts.get('order_items', 0):,} "
        f"items in {accounts} accounts in {seconds:.1f} s "
        f"(generate {generated:.1f} s, load {seconds - generated:.1f} s).",
    )
