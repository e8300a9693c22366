"""The rollup tables lose their foreign key to accounts: they are derived data, written only next
to their account's orders in the same transaction and checked against them
(``ebaydash db check-rollups``). Postgres checks a foreign key with a lookup per inserted row:
adding 10k new customers' purchase days and ceilings in an import spent 190 ms of 340 ms in those
checks (EXPLAIN ANALYZE at 1M orders). What the keys' ON DELETE CASCADE did, a trigger on
``accounts`` does instead, once per statement on Postgres: an account's rollups go with it (else
the next account given the same id would inherit its sums). No row changes.

Revision ID: 0009
Revises: 0008

Every revision comes with a test in tests/test_migrations.py that upgrades a database holding
data from the revision before (see tests/migration_support.py).
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

TABLES = (
    "day_rollups",
    "sku_day_rollups",
    "sku_month_rollups",
    "customer_days",
    "customer_day_gaps",
    "customer_totals",
)


TRIGGER = "accounts_rollups_go_with_them"
FUNCTION = "ebaydash_delete_account_rollups"


def upgrade() -> None:
    for table in TABLES:
        # on SQLite, which cannot drop a constraint, Alembic copies the table without it
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"{table}_account_id_fkey", type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        deletes = "".join(f"DELETE FROM {t} WHERE account_id IN (SELECT id FROM gone); " for t in TABLES)
        op.execute(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {deletes}RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON accounts REFERENCING OLD TABLE AS gone "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
    else:
        deletes = "".join(f"DELETE FROM {t} WHERE account_id = OLD.id; " for t in TABLES)
        op.execute(f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON accounts FOR EACH ROW BEGIN {deletes}END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON accounts")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(
                f"{table}_account_id_fkey", "accounts", ["account_id"], ["id"], ondelete="CASCADE"
            )
