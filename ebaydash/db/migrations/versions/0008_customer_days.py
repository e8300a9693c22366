"""Rollups for long windows and for customers: SKU sums per month, each customer's purchase days,
per day how many of its customers last bought on each earlier day, and each customer's ceiling of
net revenue (ebaydash.db.rollups), built for the orders stored.

A window's unique customers are a distinct count, which does not add up across days. With these
two tables it does: the distinct customers of whole days [first, last] are the day's customers
whose previous purchase day lies before ``first`` (each counts once, on their first day in the
range), a sum over ``customer_day_gaps``. ``customer_totals`` bounds what any window's net revenue
of a customer can be, which lets top buyers stop early. On Postgres the three tables get the
row-level security of every account-scoped table (revision 0006). The orders' index by customer
becomes one by customer and date that carries what top buyers sum.

Revision ID: 0008
Revises: 0007

Every revision comes with a test in tests/test_migrations.py that upgrades a database holding
data from the revision before (see tests/migration_support.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ebaydash.db import security
from ebaydash.db.types import Money

revision = "0008"
down_revision: str | None = "0007"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The local day of an order in its account's zone; on SQLite the engine registers the function.
_DAY = {
    "sqlite": "ebaydash_local_date(o.order_date, a.timezone)",
    "postgresql": "CAST(timezone(a.timezone, o.order_date) AS date)",
}
# a first purchase's previous day: before any real day (schema.NEVER_BOUGHT)
_NEVER = {"sqlite": "'0001-01-01'", "postgresql": "DATE '0001-01-01'"}
_TABLES = ("sku_month_rollups", "customer_days", "customer_day_gaps", "customer_totals")
_MONTH = {"sqlite": "date(day, 'start of month')", "postgresql": "CAST(date_trunc('month', day) AS date)"}
_CUSTOMER_DATE_INCLUDE = ["account_id", "status", "total_amount", "refunded_amount"]


def upgrade() -> None:
    _create()
    bind = op.get_bind()
    backend = "sqlite" if bind.dialect.name == "sqlite" else "postgresql"
    op.execute(
        "INSERT INTO sku_month_rollups (account_id, month, sku, units, revenue, orders, line_title) "
        f"SELECT account_id, {_MONTH[backend]}, sku, sum(units), sum(revenue), sum(orders), max(line_title) "
        f"FROM sku_day_rollups GROUP BY account_id, {_MONTH[backend]}, sku"
    )
    op.execute(
        "INSERT INTO customer_days (account_id, customer_id, day) "
        f"SELECT DISTINCT o.account_id, o.customer_id, {_DAY[backend]} "
        "FROM orders AS o JOIN accounts AS a ON a.id = o.account_id "
        "WHERE o.status <> 'cancelled' AND o.customer_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO customer_day_gaps (account_id, day, previous_day, customers) "
        "SELECT account_id, day, previous_day, count(*) FROM ("
        "SELECT account_id, day, "
        f"COALESCE(lag(day) OVER (PARTITION BY account_id, customer_id ORDER BY day), {_NEVER[backend]}) "
        "AS previous_day FROM customer_days) AS chain "
        "GROUP BY account_id, day, previous_day"
    )
    op.execute(
        "INSERT INTO customer_totals (account_id, customer_id, net_ceiling) "
        "SELECT o.account_id, o.customer_id, "
        "sum(CASE WHEN o.total_amount > o.refunded_amount "
        "THEN o.total_amount - o.refunded_amount ELSE 0 END) "
        "FROM orders AS o WHERE o.status <> 'cancelled' AND o.customer_id IS NOT NULL "
        "GROUP BY o.account_id, o.customer_id"
    )
    op.create_index(
        "ix_customer_totals_ceiling", "customer_totals", ["account_id", "net_ceiling", "customer_id"]
    )
    # top buyers read their candidates' orders in a window: by customer and date, index-only on
    # Postgres; it serves the buyer filter as the index it replaces did
    op.drop_index("ix_orders_customer", table_name="orders")
    op.create_index(
        "ix_orders_customer_date",
        "orders",
        ["customer_id", "order_date"],
        postgresql_include=_CUSTOMER_DATE_INCLUDE,
    )
    if backend == "postgresql":
        for table in _TABLES:
            for statement in security.enable_statements(table, security.ACCOUNT_COLUMN):
                op.execute(statement)


def _create() -> None:
    op.create_table(
        "sku_month_rollups",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("sku", sa.String(80), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("revenue", Money, nullable=False),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("line_title", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "month", "sku", name="sku_month_rollups_pkey"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="sku_month_rollups_account_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "customer_days",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("customer_id", Id, nullable=False, autoincrement=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "customer_id", "day", name="customer_days_pkey"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="customer_days_account_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "customer_day_gaps",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("previous_day", sa.Date, nullable=False),
        sa.Column("customers", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "day", "previous_day", name="customer_day_gaps_pkey"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="customer_day_gaps_account_id_fkey", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "customer_totals",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("customer_id", Id, nullable=False, autoincrement=False),
        sa.Column("net_ceiling", Money, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "customer_id", name="customer_totals_pkey"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="customer_totals_account_id_fkey", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_customer_date", table_name="orders")
    op.create_index("ix_orders_customer", "orders", ["customer_id"])
    op.drop_table("customer_totals")
    op.drop_table("sku_month_rollups")
    op.drop_table("customer_day_gaps")
    op.drop_table("customer_days")
