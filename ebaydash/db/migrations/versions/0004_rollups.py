"""Rollups: per account and local day, the order sums the overview reads (ebaydash.db.rollups),
built for the orders already stored.

Revision ID: 0004
Revises: 0003

Every revision comes with a test in tests/test_migrations.py that upgrades a database holding
data from the revision before (see tests/migration_support.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ebaydash.db.types import Money

revision = "0004"
down_revision: str | None = "0003"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# The local day of an order in its account's zone; on SQLite the engine registers the function.
_DAY = {
    "sqlite": "ebaydash_local_date(o.order_date, a.timezone)",
    "postgresql": "CAST(timezone(a.timezone, o.order_date) AS date)",
}


def upgrade() -> None:
    _create()
    bind = op.get_bind()
    day = _DAY["sqlite" if bind.dialect.name == "sqlite" else "postgresql"]
    # Money is stored the same way in orders and rollups (integer cents on SQLite, NUMERIC on
    # Postgres), so the sums go across as they are.
    op.execute(
        "INSERT INTO day_rollups "
        "(account_id, day, status, orders, total_amount, refunded_amount, refund_orders) "
        f"SELECT o.account_id, {day}, o.status, count(*), sum(o.total_amount), sum(o.refunded_amount), "
        "sum(CASE WHEN o.refunded_amount > 0 THEN 1 ELSE 0 END) "
        "FROM orders AS o JOIN accounts AS a ON a.id = o.account_id GROUP BY 1, 2, 3"
    )
    op.execute(
        "INSERT INTO sku_day_rollups (account_id, day, sku, units, revenue, orders, line_title) "
        f"SELECT o.account_id, {day}, i.sku, sum(i.quantity), sum(i.quantity * i.unit_price), "
        "count(DISTINCT i.order_id), max(i.title) "
        "FROM order_items AS i JOIN orders AS o ON o.id = i.order_id "
        "JOIN accounts AS a ON a.id = o.account_id "
        "WHERE o.status NOT IN ('cancelled', 'refunded') GROUP BY 1, 2, 3"
    )


def _create() -> None:
    op.create_table(
        "day_rollups",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("total_amount", Money, nullable=False),
        sa.Column("refunded_amount", Money, nullable=False),
        sa.Column("refund_orders", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "day", "status", name="day_rollups_pkey"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="day_rollups_account_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "sku_day_rollups",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("sku", sa.String(80), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("revenue", Money, nullable=False),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("line_title", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "day", "sku", name="sku_day_rollups_pkey"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="sku_day_rollups_account_id_fkey", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("sku_day_rollups")
    op.drop_table("day_rollups")
