"""Which accounts the database work of the current request may touch (Postgres row-level security).

A service wraps its work in a scope; :class:`~ebaydash.db.engine.Database` hands the scope to
Postgres at the start of every transaction it opens, with ``set_config(..., true)`` (local to that
transaction, so a pooled connection never carries one caller's accounts to the next), and the
policies of migration 0006 (:mod:`ebaydash.db.security`) then hide every other account's rows, even
from a query that forgot its ``account_id`` filter::

    with db_scope.allowed_accounts({1, 2}):
        figures = services.kpis(ctx, 1, window)      # unchanged query functions

    with db_scope.all_accounts():                    # imports, system pages, admin paths
        ...

Scopes are per thread and per asyncio task (a :class:`~contextvars.ContextVar`): a thread started
inside a scope does not inherit it and must open its own. Nested scopes only narrow: the inner one
is intersected with the outer, so no callee can widen what its caller was allowed.

Outside any scope: with ``EBAYDASH_DATABASE_APP_ROLE`` set (row-level security on), a transaction
sees no account-scoped row at all (fail closed); with it empty (the default), every row, as before.
On SQLite a scope changes nothing: SQLite has no row-level security, and isolation rests on the
services' grant checks and the queries' ``account_id`` filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["AccountScope", "all_accounts", "allowed_accounts", "current"]


@dataclass(frozen=True)
class AccountScope:
    """The accounts a transaction may see: every account (``all``), or exactly ``account_ids``."""

    account_ids: frozenset[int] = frozenset()
    all: bool = False

    def narrowed_by(self, outer: AccountScope | None) -> AccountScope:
        """This scope inside ``outer``: never more than ``outer`` allows."""
        if outer is None or outer.all:
            return self
        if self.all:
            return outer
        return AccountScope(self.account_ids & outer.account_ids)

    def allows(self, account_id: int) -> bool:
        return self.all or account_id in self.account_ids

    @property
    def setting_values(self) -> tuple[str, str]:
        """The values of ``ebaydash.allowed_accounts`` (a Postgres ``bigint[]`` literal, e.g.
        ``{1,2}``; ``{}`` for none) and ``ebaydash.all_accounts`` (``on``/``off``)."""
        ids = ",".join(str(int(i)) for i in sorted(self.account_ids))
        return "{" + ids + "}", "on" if self.all else "off"


#: Every account: imports, the system pages, admin commands, migrations.
ALL = AccountScope(all=True)
#: No account at all: what a transaction outside any scope gets while row-level security is on.
NONE = AccountScope()

_current: ContextVar[AccountScope | None] = ContextVar("ebaydash_account_scope", default=None)


def current() -> AccountScope | None:
    """The innermost scope around this call, or None outside any."""
    return _current.get()


@contextmanager
def _enter(scope: AccountScope) -> Iterator[AccountScope]:
    effective = scope.narrowed_by(_current.get())
    token = _current.set(effective)
    try:
        yield effective
    finally:
        _current.reset(token)


def allowed_accounts(account_ids: Iterable[int]) -> AbstractContextManager[AccountScope]:
    """Database work inside the block sees only rows of ``account_ids`` (ints; an empty set: none).
    Yields the effective :class:`AccountScope` (narrowed by an enclosing scope)."""
    ids = frozenset(int(i) for i in account_ids)
    return _enter(AccountScope(ids))


def all_accounts() -> AbstractContextManager[AccountScope]:
    """Database work inside the block sees every account (unless an enclosing scope is narrower).
    For imports, system pages and admin paths."""
    return _enter(ALL)
