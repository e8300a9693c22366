"""Putting data into a database: the demo set (idempotent) and large synthetic sets (fast)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from ebaydash import sample_data
from ebaydash.db import admin, ingest
from ebaydash.db.engine import Database
from ebaydash.db.schema import TABLES, accounts

log = logging.getLogger(__name__)

DEMO_LOADED_ON = "demo_loaded_on"
DEMO_PRISTINE = "demo_pristine"
LOAD_TIMEOUT_MS = 3_600_000


@dataclass(frozen=True)
class SeedResult:
    action: str  # loaded | reloaded | kept
    counts: dict[str, int]
    seconds: float
    message: str


def seed_demo(db: Database, sample_dir: Path, *, now: dt.datetime | None = None) -> SeedResult:
    """Load the demo CSVs into an empty database, dates shifted so the newest order is recent.
    The schema must be current (:func:`ebaydash.context.open_database` sees to it).

    Idempotent: a database that already holds data is left alone, except a demo database loaded on
    an earlier day and never imported into, which is reloaded so the demo stays current.
    """
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    today = now.date().isoformat()
    # a bulk load, not a page query: the page time limit would abort it on a slow machine
    with db.transaction(timeout_ms=LOAD_TIMEOUT_MS) as conn:
        has_accounts = conn.execute(select(func.count()).select_from(accounts)).scalar_one() > 0
        loaded_on = ingest.get_meta(conn, DEMO_LOADED_ON)
        pristine = ingest.get_meta(conn, DEMO_PRISTINE) == "yes"
        if has_accounts and not (pristine and loaded_on != today):
            return SeedResult(
                "kept", {}, time.perf_counter() - started, "The database already holds data; nothing to do."
            )
        frames = sample_data.shift_to_now(sample_data.read_csvs(sample_dir), now)
        action = "reloaded" if has_accounts else "loaded"
        if has_accounts:
            ingest.delete_all(conn)
        counts = ingest.load_frames(conn, frames)
        ingest.set_meta(conn, DEMO_LOADED_ON, today)
        ingest.set_meta(conn, DEMO_PRISTINE, "yes")
    seconds = time.perf_counter() - started
    return SeedResult(
        action,
        counts,
        seconds,
        f"Demo data {action}: {counts.get('orders', 0):,} orders in "
        f"{counts.get('accounts', 0)} accounts ({seconds:.1f} s).",
    )


def mark_not_pristine(db: Database) -> None:
    """Called after an import: the demo database now holds a seller's data, never reload it."""
    with db.transaction() as conn:
        ingest.set_meta(conn, DEMO_PRISTINE, "no")


def seed_synthetic(db: Database, orders: int, *, accounts: int = 20, seed: int = 42) -> SeedResult:
    """Add a large synthetic data set (new accounts) with bulk loading (the schema must be current)."""
    started = time.perf_counter()
    with db.transaction(timeout_ms=LOAD_TIMEOUT_MS) as conn:
        start_ids = ingest.next_ids(conn)
        frames = sample_data.synthetic(orders, accounts=accounts, seed=seed, start_ids=start_ids)
        generated = time.perf_counter() - started
        with admin.indexes_and_keys_deferred(conn, TABLES[1:]):
            counts = ingest.load_frames(conn, frames)
        ingest.set_meta(conn, DEMO_PRISTINE, "no")
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
