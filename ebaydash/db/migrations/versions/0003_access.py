"""Access: users, their grants per account (seller, manager, admin) and the audit log.

Only new tables: no existing row changes. The definitions are frozen here (a later change is a
new revision); ebaydash.db.schema describes the same tables for the code.

Revision ID: 0003
Revises: 0002

Every revision comes with a test in tests/test_migrations.py that upgrades a database holding
data from the revision before (see tests/migration_support.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ebaydash.db.types import UTCDateTime

revision = "0003"
down_revision: str | None = "0002"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_sign_in_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
    )
    op.create_table(
        "grants",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("granted_at", UTCDateTime, nullable=False),
        sa.Column("granted_by", sa.String(320), nullable=False),
        sa.PrimaryKeyConstraint("id", name="grants_pkey"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="grants_user_id_fkey", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="grants_account_id_fkey", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("user_id", "account_id", name="uq_grants_user_account"),
        sa.CheckConstraint("role IN ('seller', 'manager', 'admin')", name="ck_grants_role"),
    )
    op.create_index("ix_grants_account", "grants", ["account_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("account_id", Id),
        sa.Column("account_name", sa.String(100)),
        sa.Column("subject", sa.String(320)),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="audit_log_pkey"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("grants")
    op.drop_table("users")
