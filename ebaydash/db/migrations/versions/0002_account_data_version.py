"""Accounts get a data version: the part of every cache key a write to the account changes.

``accounts.data_version`` is bumped in the same transaction as every write to the account's data
(an import, a status change, a demo load), so the cache's invalidation lives in the database
itself and cannot be lost with a process, whether Redis is reachable or not (see
:mod:`ebaydash.db.data_versions`). Existing accounts start at 0.

Revision ID: 0002
Revises: 0001

Every revision comes with a test in tests/test_migrations.py that upgrades a database holding
data from the revision before (see tests/migration_support.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    # ADD COLUMN with a constant default: no table rewrite on Postgres 11+, and SQLite's
    # ALTER TABLE supports it directly
    op.add_column(
        "accounts",
        sa.Column("data_version", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("data_version")
