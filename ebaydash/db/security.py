"""Postgres row-level security: the policy on every account-scoped table, and the checks around it.

Every table with an ``account_id`` column, and ``accounts`` itself by ``id``, has row-level security
enabled *and forced* (so even the tables' owner is filtered) with one policy,
:data:`POLICY_NAME`: a row is visible and writable when the transaction's settings allow its
account (see :mod:`ebaydash.db.scope` for how they are set)::

    current_setting('ebaydash.all_accounts', true) = 'on'
    OR account_id = ANY (NULLIF(current_setting('ebaydash.allowed_accounts', true), '')::bigint[])

Unset settings allow nothing (fail closed). Each ``current_setting`` sits in a scalar subquery so
Postgres evaluates it (and parses the array) once per statement, an InitPlan, rather than once per
row; the outer no-op cast makes ``ANY`` take that subquery as one array value, not as a set of rows.

Superusers and ``BYPASSRLS`` roles skip every policy, and FORCE does not change that: the app must
log in as a role that is neither (``EBAYDASH_DATABASE_APP_ROLE``, checked by :func:`check_app_role`
before the first statement), while migrations run as the owner (``EBAYDASH_DATABASE_ADMIN_URL``).
Migration 0006 creates the policies; a later revision that adds an account-scoped table calls
:func:`enable_statements` for it (tests/test_row_security.py fails while one lacks them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from ebaydash.db import schema

__all__ = [
    "ALLOWED_SETTING",
    "ALL_SETTING",
    "POLICY_NAME",
    "RoleCheck",
    "TableSecurity",
    "account_scoped_tables",
    "check_app_role",
    "disable_statements",
    "enable_statements",
    "grant_app_role",
    "live_account_scoped_tables",
    "missing_row_security",
    "row_security_status",
]

ALLOWED_SETTING = "ebaydash.allowed_accounts"
ALL_SETTING = "ebaydash.all_accounts"
POLICY_NAME = "ebaydash_account_isolation"
ACCOUNT_COLUMN = "account_id"


def account_scoped_tables(metadata: MetaData = schema.metadata) -> dict[str, str]:
    """Table name -> the column holding its account id: every table of ``metadata`` with an
    ``account_id`` column, and ``accounts`` by ``id``."""
    found = {"accounts": "id"} if "accounts" in metadata.tables else {}
    for name, table in sorted(metadata.tables.items()):
        if ACCOUNT_COLUMN in table.columns:
            found[name] = ACCOUNT_COLUMN
    return found


#: Tables whose rows belong to an account through a parent row, not a column of their own:
#: table -> (parent table, the column holding the parent's id). Their policy admits a row while
#: its parent row is visible, and the parent is scoped by its own policy (revision 0007).
CHILD_TABLES: dict[str, tuple[str, str]] = {
    "order_items": ("orders", "order_id"),
    "money_lines": ("money_transactions", "transaction_id"),
}


def live_account_scoped_tables(conn: Connection) -> dict[str, str]:
    """The same for the tables as they are in the database ``conn`` is connected to (its current
    schema): what a migration sees at its own revision."""
    rows = conn.execute(
        text(
            "SELECT c.table_name, bool_or(c.column_name = 'account_id') AS scoped "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
            "GROUP BY c.table_name ORDER BY c.table_name"
        )
    ).all()
    names = {row.table_name for row in rows}
    found = {"accounts": "id"} if "accounts" in names else {}
    found.update({row.table_name: ACCOUNT_COLUMN for row in rows if row.scoped})
    return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def policy_predicate(column: str) -> str:
    """The policy's condition on ``column`` (SQL text)."""
    return (
        f"((SELECT current_setting('{ALL_SETTING}', true)) = 'on' OR {_quote(column)} = ANY ("
        f"(SELECT NULLIF(current_setting('{ALLOWED_SETTING}', true), '')::bigint[])::bigint[]))"
    )


def enable_statements(table: str, column: str) -> list[str]:
    """DDL that enables and forces row-level security on ``table`` with :data:`POLICY_NAME` on
    ``column``: rows of other accounts can be neither read nor written."""
    predicate = policy_predicate(column)
    return [
        f"ALTER TABLE {_quote(table)} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {_quote(table)} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {_quote(table)}",
        f"CREATE POLICY {POLICY_NAME} ON {_quote(table)} USING {predicate} WITH CHECK {predicate}",
    ]


def child_predicate(table: str, parent: str, column: str) -> str:
    """The policy's condition on a row of ``table`` whose ``column`` holds the id of a row of
    ``parent`` (SQL text): that parent row is visible (its own policy applies inside EXISTS)."""
    return (
        f"((SELECT current_setting('{ALL_SETTING}', true)) = 'on' OR EXISTS (SELECT 1 FROM "
        f"{_quote(parent)} parent WHERE parent.id = {_quote(table)}.{_quote(column)}))"
    )


def enable_child_statements(table: str, parent: str, column: str) -> list[str]:
    """DDL that enables and forces row-level security on the child ``table`` with
    :data:`POLICY_NAME` through its ``parent`` (see :data:`CHILD_TABLES`)."""
    predicate = child_predicate(table, parent, column)
    return [
        f"ALTER TABLE {_quote(table)} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {_quote(table)} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {_quote(table)}",
        f"CREATE POLICY {POLICY_NAME} ON {_quote(table)} USING {predicate} WITH CHECK {predicate}",
    ]


def live_child_tables(conn: Connection) -> dict[str, tuple[str, str]]:
    """:data:`CHILD_TABLES` that the database ``conn`` is connected to holds (its revision's)."""
    names = set(
        conn.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        ).scalars()
    )
    return {table: link for table, link in CHILD_TABLES.items() if table in names}


def disable_statements(table: str) -> list[str]:
    """The reverse of :func:`enable_statements`."""
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {_quote(table)}",
        f"ALTER TABLE {_quote(table)} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {_quote(table)} DISABLE ROW LEVEL SECURITY",
    ]


def grant_app_role(conn: Connection, role: str) -> None:
    """Let ``role`` read and write the rows of every table (and use the id sequences) of the
    current schema, without owning anything, so the policies apply to it. Run as the owner."""
    schema_name = _quote(conn.execute(text("SELECT current_schema()")).scalar_one())
    for statement in (
        f"GRANT USAGE ON SCHEMA {schema_name} TO {_quote(role)}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_name} TO {_quote(role)}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_name} TO {_quote(role)}",
    ):
        conn.execute(text(statement))


@dataclass(frozen=True)
class TableSecurity:
    """One table's row-level security as the database has it."""

    table: str
    enabled: bool
    forced: bool
    policies: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.enabled and self.forced and POLICY_NAME in self.policies


def row_security_status(conn: Connection) -> dict[str, TableSecurity]:
    """Every table of the current schema: RLS enabled, forced, and its policies' names (Postgres)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "coalesce(array_agg(p.polname) FILTER (WHERE p.polname IS NOT NULL), '{}') AS policies "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
            "GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity"
        )
    ).all()
    return {
        row.relname: TableSecurity(
            row.relname, row.relrowsecurity, row.relforcerowsecurity, tuple(sorted(row.policies))
        )
        for row in rows
    }


def missing_row_security(conn: Connection) -> list[str]:
    """The account-scoped tables of the database ``conn`` is connected to whose row-level security
    is not complete (not enabled, not forced, or without :data:`POLICY_NAME`), by name. Postgres."""
    status = row_security_status(conn)
    tables = [*live_account_scoped_tables(conn), *live_child_tables(conn)]
    return sorted(table for table in tables if table not in status or not status[table].complete)


@dataclass(frozen=True)
class RoleCheck:
    """Who the app is logged in as, and why the policies would not apply to it."""

    role: str
    superuser: bool
    bypass_rls: bool
    owns: tuple[str, ...]  # account-scoped tables this role owns (directly or through membership)

    @property
    def problems(self) -> list[str]:
        found = []
        if self.superuser:
            found.append("is a superuser (superusers skip every row-level security policy)")
        if self.bypass_rls:
            found.append("has BYPASSRLS")
        if self.owns:
            found.append(f"owns {', '.join(self.owns)} (owners can turn the policies off)")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems


def check_app_role(conn: Connection, tables: list[str] | None = None) -> RoleCheck:
    """Whether the role ``conn`` is logged in as is subject to the policies on ``tables``
    (default: :func:`account_scoped_tables`). Postgres only."""
    names = tables if tables is not None else [*account_scoped_tables(), *CHILD_TABLES]
    row = conn.execute(
        text("SELECT current_user AS role, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    owned = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ANY(:names) "
            "AND pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY c.relname"
        ),
        {"names": names},
    ).all()
    return RoleCheck(row.role, row.rolsuper, row.rolbypassrls, tuple(r.relname for r in owned))
