"""Putting data into a database: the demo set (idempotent) and large synthetic sets (fast).

This module picks the data and reports; :mod:`ebaydash.db.bulk` writes it, one transaction each.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ebaydash import sample_data
from ebaydash.db import bulk
from ebaydash.db.engine import Database
from ebaydash.demo_money import write_demo_money

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedResult:
    action: str  # loaded | reloaded | kept
    counts: dict[str, int]
    seconds: float
    message: str


def seed_demo(db: Database, sample_dir: Path, *, now: dt.datetime | None = None) -> SeedResult:
    """Load the demo CSVs into an empty database, dates shifted so the newest order was placed in
    the minute before ``now`` (:func:`ebaydash.sample_data.shift_to_now`). The schema must be
    current (:func:`ebaydash.context.open_database` sees to it).

    With the orders come their money records, payouts and costs of goods
    (:func:`ebaydash.demo_money.write_demo_money`), in the same transaction.

    Idempotent: a database that already holds data is left alone, except a demo database loaded in
    an earlier hour and never imported into, which is reloaded so the demo stays current.
    """
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    action, counts = bulk.load_demo(
        db,
        lambda: sample_data.shift_to_now(sample_data.read_csvs(sample_dir), now),
        # reloaded when an hour has turned since: a demo started again later shows recent orders
        today=now.strftime("%Y-%m-%dT%H"),
        then=lambda conn: write_demo_money(conn, now=now),
    )
    seconds = time.perf_counter() - started
    if action == "kept":
        return SeedResult("kept", {}, seconds, "The database already holds data; nothing to do.")
    return SeedResult(
        action,
        counts,
        seconds,
        f"Demo data {action}: {counts.get('orders', 0):,} orders in "
        f"{counts.get('accounts', 0)} accounts, {counts.get('money_transactions', 0):,} money "
        f"records, {counts.get('payouts', 0):,} payouts and {counts.get('sku_costs', 0):,} costs of "
        f"goods ({seconds:.1f} s).",
    )


def seed_synthetic(db: Database, orders: int, *, accounts: int = 20, seed: int = 42) -> SeedResult:
    """Add a large synthetic data set (new accounts) with bulk loading (the schema must be current)."""
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
