"""Row-level security on every account-scoped table (Postgres; nothing on SQLite).

Each table of the schema at this revision with an ``account_id`` column, and ``accounts`` by
``id``, gets ROW LEVEL SECURITY enabled and FORCED, and the policy ``ebaydash_account_isolation``
(see :mod:`ebaydash.db.security`): a row is visible and writable only when the transaction's
``ebaydash.all_accounts`` is ``on`` or its account is in ``ebaydash.allowed_accounts``. No row
changes. Connections made by ebaydash default to every account unless EBAYDASH_DATABASE_APP_ROLE is
set, so a deployment that has not set up an app role works as before. SQLite has no row-level
security: there this revision does nothing.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from ebaydash.db import security

revision = "0006"
down_revision: str | None = "0005"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in security.live_account_scoped_tables(bind).items():
        for statement in security.enable_statements(table, column):
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in security.live_account_scoped_tables(bind):
        for statement in security.disable_statements(table):
            op.execute(statement)
