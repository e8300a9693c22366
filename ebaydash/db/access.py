"""The SQL of access control: users, their grants per account, and the audit log.

Emails are stored in lower case (sign-in providers differ in how they spell them); every change to
a grant writes its audit row in the same transaction, so the log cannot miss one.

Every statement here runs in :func:`~ebaydash.db.scope.all_accounts`: grants decide what a viewer
may see, so with row-level security on they must be read before (and whatever) the viewer's own
scope is; the services above check that only admins change or list them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from ebaydash.db import scope
from ebaydash.db.engine import Database
from ebaydash.db.schema import accounts, audit_log, grants, users
from ebaydash.errors import NotFound


def normal_email(email: str) -> str:
    return email.strip().lower()


def _known_user_id(conn: Connection, email: str) -> int | None:
    found = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
    return None if found is None else int(found)


def _user_id(conn: Connection, email: str, now: dt.datetime) -> int:
    found = _known_user_id(conn, email)
    if found is not None:
        return found
    return int(
        conn.execute(insert(users).values(email=email, created_at=now).returning(users.c.id)).scalar_one()
    )


#: Where a person who named an unknown account finds the names (a test checks the command exists).
LISTS_ACCOUNTS = "`ebaydash accounts` lists them"


def _find(conn: Connection, name: str) -> Any:
    return conn.execute(
        select(accounts.c.id, accounts.c.name).where(
            func.lower(accounts.c.name) == " ".join(name.split()).lower()
        )
    ).first()


def account_named(conn: Connection, name: str) -> Any:
    """``(id, name)`` of the account called ``name`` (ignoring case and extra spaces);
    :class:`~ebaydash.errors.NotFound` naming it when there is none."""
    row = _find(conn, name)
    if row is None:
        raise NotFound(f"There is no account called {name!r}; {LISTS_ACCOUNTS}.")
    return row


def account_named_or_numbered(conn: Connection, name: str) -> Any:
    """:func:`account_named`, or, when ``name`` is all digits and no account is called that, the
    account with that id: scripts written when options took ids keep working, and every account
    stays reachable by its name even if another's id is spelled the same."""
    row = _find(conn, name)
    if row is not None:
        return row
    digits = name.strip()
    # isascii: isdecimal alone passes other scripts' digits; an id past 64 bits cannot exist and
    # would overflow the driver's integer
    if digits.isascii() and digits.isdecimal() and int(digits) < 2**63:
        row = conn.execute(select(accounts.c.id, accounts.c.name).where(accounts.c.id == int(digits))).first()
        if row is not None:
            return row
        raise NotFound(f"There is no account called {name!r} nor with id {digits}; {LISTS_ACCOUNTS}.")
    raise NotFound(f"There is no account called {name!r}; {LISTS_ACCOUNTS}.")


def write_audit(
    conn: Connection,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    account_id: int | None = None,
    account_name: str | None = None,
    subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=at,
            actor=actor[:320],
            action=action,
            account_id=account_id,
            account_name=None if account_name is None else account_name[:100],
            subject=None if subject is None else subject[:320],
            detail=json.dumps(dict(detail or {}), sort_keys=True, default=str),
        )
    )


def audit(db: Database, **entry: Any) -> None:
    """One audit row in a transaction of its own (see :func:`write_audit` for the fields)."""
    with scope.all_accounts(), db.transaction() as conn:
        write_audit(conn, **entry)


def grants_of(db: Database, email: str) -> Sequence[Row[Any]]:
    """``(account_id, role)`` of every grant of ``email`` (none for an unknown person)."""
    stmt = (
        select(grants.c.account_id, grants.c.role)
        .join(users, users.c.id == grants.c.user_id)
        .where(users.c.email == normal_email(email))
    )
    with scope.all_accounts():
        return db.fetch_all("grants_of", stmt)


def revocations_since_last_grant(db: Database, email: str) -> Sequence[Row[Any]]:
    """Every revocation of a grant of ``email`` made after the newest grant to them (audit rows:
    at, actor, account_name, detail), oldest first: for a person without a grant now, the grants
    they held when they last had access. Empty when none of theirs was revoked since.

    The audit log is where a revocation stays: the grant's row is deleted with it, in the same
    transaction (:func:`set_grant`), so a person whose every grant was revoked and one never
    granted anything look alike in ``users`` and ``grants``."""
    email = normal_email(email)
    last_grant = (
        select(func.coalesce(func.max(audit_log.c.id), 0))
        .where(audit_log.c.subject == email, audit_log.c.action == "grant")
        .scalar_subquery()
    )
    stmt = (
        select(audit_log.c.at, audit_log.c.actor, audit_log.c.account_name, audit_log.c.detail)
        .where(audit_log.c.subject == email, audit_log.c.action == "revoke", audit_log.c.id > last_grant)
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    with scope.all_accounts():
        return db.fetch_all("revocations_since_last_grant", stmt)


def record_sign_in(db: Database, email: str, now: dt.datetime, *, granted: bool) -> None:
    """Remember the person and when they last signed in; audit the sign-in."""
    email = normal_email(email)
    with scope.all_accounts(), db.transaction() as conn:
        user_id = _user_id(conn, email, now)
        conn.execute(update(users).where(users.c.id == user_id).values(last_sign_in_at=now))
        write_audit(
            conn, at=now, actor=email, action="sign_in" if granted else "sign_in_no_access", subject=email
        )


@dataclass(frozen=True)
class GrantChange:
    email: str
    account_id: int
    account_name: str
    role: str | None  # None: revoked
    previous: str | None  # the role before, None when there was no grant


def set_grant(
    db: Database, email: str, account_name: str, role: str | None, *, by: str, now: dt.datetime
) -> GrantChange:
    """Give ``email`` ``role`` on the account called ``account_name`` (``None``: revoke), and
    audit it, in one transaction. ``account_name`` may also be the account's id, as
    :func:`account_named_or_numbered` reads it; :class:`~ebaydash.errors.NotFound` when it names no
    account either way."""
    email = normal_email(email)
    with scope.all_accounts(), db.transaction() as conn:
        account = account_named_or_numbered(conn, account_name)
        # a revoke names someone to take access from: a person never seen is not written down
        known = _known_user_id(conn, email) if role is None else _user_id(conn, email, now)
        if known is None:
            return GrantChange(email, int(account.id), str(account.name), None, None)
        user_id = known
        where = (grants.c.user_id == user_id) & (grants.c.account_id == account.id)
        previous = conn.execute(select(grants.c.role).where(where)).scalar()
        if role is None:
            conn.execute(delete(grants).where(where))
        elif previous is None:
            conn.execute(
                insert(grants).values(
                    user_id=user_id, account_id=account.id, role=role, granted_at=now, granted_by=by
                )
            )
        else:
            conn.execute(update(grants).where(where).values(role=role, granted_at=now, granted_by=by))
        if role != previous:
            write_audit(
                conn,
                at=now,
                actor=by,
                action="revoke" if role is None else "grant",
                account_id=int(account.id),
                account_name=account.name,
                subject=email,
                detail={"role": role, "previous": previous},
            )
    return GrantChange(email, int(account.id), str(account.name), role, previous)


def all_grants(db: Database) -> Sequence[Row[Any]]:
    """Every person with their grants (a person without any has one row with NULL account):
    email, last_sign_in_at, account_id, account_name, role, granted_at, granted_by, and
    removed_at: for a person without a grant, when one of theirs was last revoked (NULL when none
    ever was, and for every row of a person with a grant)."""
    last_revoked = (
        select(func.max(audit_log.c.at))
        .where(audit_log.c.subject == users.c.email, audit_log.c.action == "revoke")
        .scalar_subquery()
    )
    stmt = (
        select(
            users.c.email,
            users.c.last_sign_in_at,
            grants.c.account_id,
            accounts.c.name.label("account_name"),
            grants.c.role,
            grants.c.granted_at,
            grants.c.granted_by,
            case((grants.c.id.is_(None), last_revoked), else_=None).label("removed_at"),
        )
        .select_from(users)
        .outerjoin(grants, grants.c.user_id == users.c.id)
        .outerjoin(accounts, accounts.c.id == grants.c.account_id)
        .order_by(users.c.email, accounts.c.name)
    )
    with scope.all_accounts():
        return db.fetch_all("all_grants", stmt)


def audit_entries(db: Database, *, limit: int = 200) -> Sequence[Row[Any]]:
    """The newest ``limit`` audit rows, newest first."""
    stmt = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    with scope.all_accounts():
        return db.fetch_all("audit_entries", stmt)
