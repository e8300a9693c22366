"""Who may see what: viewers built from the grants, granting and revoking, the audit log.

Roles are per account (seller, manager, admin; see :mod:`ebaydash.viewer`). The person named by
``EBAYDASH_ADMIN_EMAIL`` is an admin whatever the grants say: the first admin, who grants the
others. Every grant, revocation, sign-in and import is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from dataclasses import dataclass
from typing import Any

from ebaydash.context import Context
from ebaydash.db import access as db_access
from ebaydash.errors import InvalidInput
from ebaydash.formatting import and_list
from ebaydash.services._measure import measured
from ebaydash.viewer import ROLES, Role, Viewer

MAX_AUDIT_ROWS = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_email(email: str) -> str:
    cleaned = db_access.normal_email(email or "")
    if cleaned.count("@") != 1 or len(cleaned) > 320 or any(c.isspace() for c in cleaned):
        raise InvalidInput(f"{email!r} is not an email address.")
    return cleaned


def operator() -> Viewer:
    """The person at the server's shell (the command line), named in the audit log by their
    operating-system user."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Viewer.operator(f"cli:{name}")


@measured("viewer_for")
def viewer_for(ctx: Context, email: str) -> Viewer:
    """The viewer signed in as ``email``: their grants, read now (so a revocation counts from the
    next page view), admin when any grant is or when ``email`` is ``EBAYDASH_ADMIN_EMAIL``."""
    email = db_access.normal_email(email)
    roles: dict[int, Role] = {}
    for row in db_access.grants_of(ctx.db, email):
        if row.role in ROLES:
            roles[int(row.account_id)] = row.role
    bootstrap = db_access.normal_email(ctx.settings.admin_email)
    admin = "admin" in roles.values() or (bool(bootstrap) and email == bootstrap)
    return Viewer(email=email, roles=roles, admin=admin, every_account=admin)


def sign_in(ctx: Context, email: str) -> Viewer:
    """Once per browser session after the identity provider vouched for ``email``: remember the
    person (so an admin can grant them something) and audit the sign-in."""
    viewer = viewer_for(ctx, _check_email(email))
    db_access.record_sign_in(ctx.db, viewer.email, _now(), granted=viewer.has_access)
    return viewer


@dataclass(frozen=True)
class Revoked:
    """One grant taken away: the role, on which account (None when the log does not say), when."""

    role: str | None
    account_name: str | None
    at: dt.datetime


def _revoked_phrase(revoked: tuple[Revoked, ...]) -> tuple[str, bool]:
    """``your seller roles on 'A' and 'B', and your manager role on 'C'`` (roles in the order they
    were first revoked), and whether it names more than one grant (for "was"/"were")."""
    by_role: dict[str | None, list[str]] = {}
    unnamed = False
    for r in revoked:
        if r.account_name is None:
            unnamed = True
        elif r.account_name not in by_role.setdefault(r.role, []):
            by_role[r.role].append(r.account_name)
    parts = []
    for role, names in by_role.items():
        if not names:
            continue
        noun = f"{role} role" if role else "role"
        parts.append(f"your {noun}{'s' if len(names) > 1 else ''} on {and_list([repr(n) for n in names])}")
    if unnamed or not parts:
        parts.append("your other roles" if parts else "your role")
    phrase = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])}, and {parts[-1]}"
    return phrase, len(revoked) > 1


@dataclass(frozen=True)
class Removal:
    """A signed-in person's access was revoked, and nothing has been granted since: what they read
    instead of "no access yet" (:func:`access_removal`)."""

    email: str
    at: dt.datetime  # when the last grant was revoked
    account_name: str | None  # the last grant's account
    role: str | None  # the role revoked with it
    ask: str  # whom to ask for access again, for a sentence: an address, or "an admin"
    # every grant revoked since the person last had access, oldest first (the last one included)
    revoked: tuple[Revoked, ...] = ()

    @property
    def message(self) -> str:
        """The sentence the person reads: what was revoked, when, and whom to ask."""
        revoked = self.revoked or (Revoked(self.role, self.account_name, self.at),)
        what, several = _revoked_phrase(revoked)
        first = min(r.at for r in revoked)
        when = f"on {self.at:%Y-%m-%d %H:%M} UTC"
        if f"{first:%Y-%m-%d %H:%M}" != f"{self.at:%Y-%m-%d %H:%M}":
            when = f"between {first:%Y-%m-%d %H:%M} and {self.at:%Y-%m-%d %H:%M} UTC"
        return (
            f"You are signed in as {self.email}, but your access was removed: {what} "
            f"{'were' if several else 'was'} revoked {when}. If you still need it, ask {self.ask} "
            "to grant it again; then reload this page."
        )


def _previous_role(detail: str | None) -> str | None:
    previous = json.loads(detail or "{}").get("previous")
    return previous if isinstance(previous, str) else None


def _looks_like_email(text: str) -> bool:
    try:
        return _check_email(text) == text
    except InvalidInput:
        return False


@measured("access_removal")
def access_removal(ctx: Context, viewer: Viewer) -> Removal | None:
    """Why ``viewer`` has no access, when it is because their grants were revoked: every grant
    revoked since they last had access (after the newest grant to them), and whom to ask (the
    admin who revoked the last one when that was a person signed in, else
    ``EBAYDASH_ADMIN_EMAIL``, else any admin). None for a viewer with access or one never granted
    anything: they read "no access yet"."""
    if viewer.has_access:
        return None
    rows = db_access.revocations_since_last_grant(ctx.db, viewer.email)
    if not rows:
        return None
    row = rows[-1]  # the last grant taken away
    bootstrap = db_access.normal_email(ctx.settings.admin_email)
    # only admins revoke; one at the shell is named "cli:USER", which the person cannot write to
    if _looks_like_email(row.actor):
        ask = f"{row.actor} (who removed it) or another admin"
    elif bootstrap:
        ask = f"{bootstrap} (the dashboard's admin)"
    else:
        ask = "an admin of this dashboard"
    revoked = tuple(Revoked(_previous_role(r.detail), r.account_name, r.at) for r in rows)
    return Removal(
        email=viewer.email,
        at=row.at,
        account_name=row.account_name,
        role=_previous_role(row.detail),
        ask=ask,
        revoked=revoked,
    )


@dataclass(frozen=True)
class GrantRow:
    email: str
    account_id: int | None
    account_name: str | None
    role: str | None
    granted_at: dt.datetime | None
    granted_by: str | None
    last_sign_in_at: dt.datetime | None
    removed_at: dt.datetime | None = None  # without a grant: when one was last revoked, if ever
    every_account: bool = False  # without a grant: the EBAYDASH_ADMIN_EMAIL admin

    @property
    def standing(self) -> str:
        """What a row without an account says of the person: ``admin (every account)`` for the
        EBAYDASH_ADMIN_EMAIL admin, ``access removed (2026-11-30 09:12 UTC)`` for one whose grants
        were revoked, else ``no access yet``; a row with an account, the role on it."""
        if self.account_name is not None:
            return f"{self.role} of {self.account_name!r}"
        if self.every_account:
            return "admin (every account)"
        if self.removed_at is not None:
            return f"access removed ({self.removed_at:%Y-%m-%d %H:%M} UTC)"
        return "no access yet"


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    actor: str
    action: str
    account_id: int | None
    account_name: str | None
    subject: str | None
    detail: dict[str, Any]


def grant(ctx: Context, viewer: Viewer, email: str, account_name: str, role: str) -> db_access.GrantChange:
    """Give ``email`` ``role`` on the account called ``account_name`` (replacing their role on it);
    an id, all digits, names the account too when no account has that name.
    :class:`~ebaydash.errors.NotAllowed` unless ``viewer`` is an admin;
    :class:`~ebaydash.errors.InvalidInput` for an unknown role or a malformed email;
    :class:`~ebaydash.errors.NotFound` for an unknown account."""
    viewer.require_admin()
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose from {', '.join(ROLES)}.")
    return db_access.set_grant(ctx.db, _check_email(email), account_name, role, by=viewer.email, now=_now())


def revoke(ctx: Context, viewer: Viewer, email: str, account_name: str) -> db_access.GrantChange:
    """Take ``email``'s grant on ``account_name`` (a name, or an id as :func:`grant` takes it) away
    (``previous`` is None when there was none)."""
    viewer.require_admin()
    return db_access.set_grant(ctx.db, _check_email(email), account_name, None, by=viewer.email, now=_now())


def grants(ctx: Context, viewer: Viewer) -> list[GrantRow]:
    """Everyone known (signed in once, or granted something) with each of their grants; a person
    without any has one row saying why (:attr:`GrantRow.standing`)."""
    viewer.require_admin()
    bootstrap = db_access.normal_email(ctx.settings.admin_email)
    return [
        GrantRow(
            **row._mapping,
            every_account=bool(bootstrap) and row.account_id is None and row.email == bootstrap,
        )
        for row in db_access.all_grants(ctx.db)
    ]


def audit_log(ctx: Context, viewer: Viewer, *, limit: int = MAX_AUDIT_ROWS) -> list[AuditEntry]:
    """The newest ``limit`` audit entries, newest first."""
    viewer.require_admin()
    return [
        AuditEntry(
            at=row.at,
            actor=row.actor,
            action=row.action,
            account_id=row.account_id,
            account_name=row.account_name,
            subject=row.subject,
            detail=json.loads(row.detail or "{}"),
        )
        for row in db_access.audit_entries(ctx.db, limit=limit)
    ]


def audit_import(
    ctx: Context,
    viewer: Viewer,
    *,
    account_id: int,
    account_name: str,
    files: list[str],
    counts: dict[str, int],
) -> None:
    """Record who imported which files into which account, and what came of it."""
    db_access.audit(
        ctx.db,
        at=_now(),
        actor=viewer.email,
        action="import",
        account_id=account_id,
        account_name=account_name,
        detail={"files": files, **counts},
    )
