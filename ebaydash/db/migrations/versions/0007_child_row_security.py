"""Row-level security on the tables scoped through a parent row (Postgres; nothing on SQLite).

``order_items`` and ``money_lines`` hold no ``account_id`` of their own: they belong to an
account through their order or transaction. Revision 0006 left them open to a
statement that reads them without joining the parent. Each gets ROW LEVEL SECURITY enabled and
FORCED with the policy ``ebaydash_account_isolation`` admitting a row while its parent row is
visible (see :data:`ebaydash.db.security.CHILD_TABLES`). No row changes.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from ebaydash.db import security

revision = "0007"
down_revision: str | None = "0006"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, (parent, column) in security.live_child_tables(bind).items():
        for statement in security.enable_child_statements(table, parent, column):
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in security.live_child_tables(bind):
        for statement in security.disable_statements(table):
            op.execute(statement)
