"""Bulk seeding: ``ebaydash seed --orders N`` into a fresh Postgres database (target: 1M < 3 min)."""

from __future__ import annotations

import uuid

from bench import BenchEnv, Measurement, check
from bench import _admin as admin
from ebaydash.db import migrations
from ebaydash.db.engine import Database, make_engine
from ebaydash.seeding import seed_synthetic
from ebaydash.settings import Settings


def run(env: BenchEnv) -> list[Measurement]:
    name = f"ebaydash_seedbench_{uuid.uuid4().hex[:8]}"
    admin.create_database(env.admin_url, name)
    try:
        settings = Settings(database_url=admin.url_for(env.admin_url, name))
        db = Database(make_engine(settings), timeout_ms=600_000)
        try:
            migrations.upgrade(db)
            result = seed_synthetic(db, env.orders, accounts=20, seed=7)
        finally:
            db.dispose()
    finally:
        admin.drop_database(env.admin_url, name)
    seconds = result.seconds
    items = result.counts.get("order_items", 0)
    target_s = 180 * env.orders / 1_000_000
    return [
        Measurement(
            "seed",
            f"seed {env.orders:,} orders + {items:,} items (Postgres, COPY)",
            seconds,
            "s",
            f"<= {target_s:.0f} s",
            check(seconds, at_most=target_s),
            result.message,
        ),
        Measurement("seed", "orders per second", env.orders / seconds, "orders/s"),
    ]
