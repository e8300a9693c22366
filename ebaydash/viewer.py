"""Who is looking: the :class:`Viewer` every account-scoped service takes after the context.

A viewer is built by :func:`ebaydash.services.access.viewer_for` from the grants in the database
(or is the demo's, or the local operator's), never from anything a browser sends: the URL, the
session state and the cursors carry account ids, and the services check each one against the
viewer before they touch the cache or the database.

Roles (per account, the highest wins where a rule spans accounts):

- ``seller``: the account's pages (overview, orders, import into it);
- ``manager``: the same, and the system pages (performance, resources, scaling);
- ``admin``: every account, the system pages, and the grants and audit log.

No streamlit and no SQL here: the database layer may read :attr:`Viewer.allowed_account_ids`
(for row-level security) without importing the services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from ebaydash.errors import NotAllowed

Role = Literal["seller", "manager", "admin"]
ROLES: tuple[Role, ...] = ("seller", "manager", "admin")  # lowest first

#: The one message for a forged or foreign account id: the same whether or not it exists.
NOT_YOUR_ACCOUNT = "You have no access to this account. Ask an admin of this dashboard to grant it to you."
NOT_A_MANAGER = "The system pages are for managers. Ask an admin if you need them."
NOT_AN_ADMIN = "Only an admin may see and change who has access."


@dataclass(frozen=True)
class Viewer:
    """A signed-in person (or the demo, or the local operator) and what they may see.

    ``roles`` maps an account id to the viewer's role on it. ``every_account`` is True for admins,
    the demo (``EBAYDASH_AUTH=none``) and the local operator (the command line): they see every
    account, including ones created after the viewer was built.
    """

    email: str
    roles: Mapping[int, Role] = field(default_factory=dict)
    admin: bool = False
    every_account: bool = False
    kind: Literal["user", "demo", "operator"] = "user"

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", MappingProxyType(dict(self.roles)))

    @classmethod
    def demo(cls) -> Viewer:
        """``EBAYDASH_AUTH=none``: no sign-in, everything visible (the demo on your own machine)."""
        return cls(email="demo", admin=True, every_account=True, kind="demo")

    @classmethod
    def operator(cls, name: str) -> Viewer:
        """Someone at the server's shell (the command line, the demo traffic): they hold the
        database credentials already, so nothing is hidden from them; ``name`` goes in the audit."""
        return cls(email=name, admin=True, every_account=True, kind="operator")

    @property
    def is_admin(self) -> bool:
        return self.admin

    @property
    def is_manager(self) -> bool:
        """May see the system pages: an admin, or a manager of at least one account."""
        return self.admin or "manager" in self.roles.values()

    @property
    def has_access(self) -> bool:
        """False for a signed-in person without any grant (the "ask a manager" page)."""
        return self.every_account or bool(self.roles)

    @property
    def allowed_account_ids(self) -> frozenset[int] | None:
        """The account ids this viewer may read, or ``None`` for every account (admins, the demo,
        the operator). For the database's row-level security, set per transaction."""
        return None if self.every_account else frozenset(self.roles)

    def may_see(self, account_id: int) -> bool:
        return self.every_account or account_id in self.roles

    def role_on(self, account_id: int) -> Role | None:
        return "admin" if self.admin else self.roles.get(account_id)

    def require_account(self, account_id: object) -> None:
        """Raise :class:`~ebaydash.errors.NotAllowed` unless this viewer may see ``account_id``
        (anything but an int, such as a forged string, is refused too)."""
        if not isinstance(account_id, int) or isinstance(account_id, bool) or not self.may_see(account_id):
            raise NotAllowed(NOT_YOUR_ACCOUNT)

    def require_manager(self) -> None:
        if not self.is_manager:
            raise NotAllowed(NOT_A_MANAGER)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise NotAllowed(NOT_AN_ADMIN)
