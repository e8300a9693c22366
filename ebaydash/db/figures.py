"""What the statements of the overview share, so that the orders, the rollups kept from them and
the reads of both agree: the local calendar day of a timestamp, and the status that counts in no
figure but its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, cast, func, type_coerce
from sqlalchemy import Date as SADate

__all__ = ["CANCELLED", "local_day"]

CANCELLED = "cancelled"  # the one status that counts in no figure but its own


def local_day(column: ColumnElement[Any], tz: str, backend: str) -> ColumnElement[Any]:
    """The calendar day of a UTC timestamp in zone ``tz``, computed in the database."""
    if backend == "sqlite":
        # registered by the engine on connect: exact zone rules, DST included
        return type_coerce(func.ebaydash_local_date(column, tz), SADate())
    return cast(func.timezone(tz, column), SADate)
