"""The cache namespaces of the services, spelled once.

Everything cached about one account lives in its namespace, so a write to the account (an
import, a status change) invalidates exactly that account's figures; what spans accounts (the
accounts list) lives in ``global``.
"""

from __future__ import annotations

ACCOUNT = "acct:{account_id}"  # a @cacheable template over the function's ``account_id``
GLOBAL = "global"


def account(account_id: int) -> str:
    """The namespace of account ``account_id``, as :data:`ACCOUNT` names it in ``@cacheable``."""
    return ACCOUNT.format(account_id=account_id)
