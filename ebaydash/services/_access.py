"""The access check every account-scoped service makes first: ``@for_account``.

A service ``fn(ctx, viewer, account_id, …)`` decorated with it refuses, with
:class:`~ebaydash.errors.NotAllowed`, an account the viewer has no grant for, before its body or
the ``@cacheable`` under it runs: a forged id reads nothing, not even a cached value. A result that
names its account (``account_id``) must name the one asked for.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar

from ebaydash.db import scope
from ebaydash.db.scope import AccountScope
from ebaydash.errors import NotAllowed
from ebaydash.viewer import NOT_YOUR_ACCOUNT, Viewer

P = ParamSpec("P")
T = TypeVar("T")


def viewer_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Viewer:
    viewer = args[1] if len(args) > 1 else kwargs.get("viewer")
    if not isinstance(viewer, Viewer):
        # a programming error, not a user's: every service takes the viewer after the context
        raise TypeError("account-scoped services take the viewer as their second argument")
    return viewer


def scope_of(viewer: Viewer) -> AbstractContextManager[AccountScope]:
    """The database scope of ``viewer``'s work: with Postgres row-level security on
    (EBAYDASH_DATABASE_APP_ROLE), each transaction inside sees only the accounts granted to them,
    so a check forgotten above still reads nothing of another account."""
    ids = viewer.allowed_account_ids
    return scope.all_accounts() if ids is None else scope.allowed_accounts(ids)


def for_account(fn: Callable[P, T]) -> Callable[P, T]:
    """Check ``viewer.require_account(account_id)`` before ``fn(ctx, viewer, account_id, …)``."""
    names = list(inspect.signature(fn).parameters)
    if names[1:3] != ["viewer", "account_id"]:
        raise TypeError(f"{fn.__qualname__} must take (ctx, viewer, account_id, ...)")

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        account_id = args[2] if len(args) > 2 else kwargs.get("account_id")
        viewer = viewer_of(args, kwargs)
        viewer.require_account(account_id)
        with scope_of(viewer):
            result = fn(*args, **kwargs)
        # a value that names its account (KPIs) is checked on the way out, cached or not: a key
        # collision or a poisoned shared cache cannot hand one account's figures to another
        owner = getattr(result, "account_id", None)
        if isinstance(owner, int) and owner != account_id:
            raise NotAllowed(NOT_YOUR_ACCOUNT)
        return result

    return wrapper


def scoped(fn: Callable[P, T]) -> Callable[P, T]:
    """Run ``fn(ctx, viewer, …)`` inside :func:`scope_of` its viewer, for services that check
    their grants themselves (an import names its account, it does not take its id)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with scope_of(viewer_of(args, kwargs)):
            return fn(*args, **kwargs)

    return wrapper


def for_managers(fn: Callable[P, T]) -> Callable[P, T]:
    """Check ``viewer.require_manager()`` before ``fn(ctx, viewer, …)`` (the system pages)."""
    names = list(inspect.signature(fn).parameters)
    if names[1:2] != ["viewer"]:
        raise TypeError(f"{fn.__qualname__} must take (ctx, viewer, ...)")

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        viewer_of(args, kwargs).require_manager()
        with scope.all_accounts():  # the system pages read every account's traffic
            return fn(*args, **kwargs)

    return wrapper
