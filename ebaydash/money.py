"""Exact money: amounts are :class:`~decimal.Decimal` with two places, never floats.

Shared by every layer (importers, the database types, services), so it depends on nothing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_money(value: Decimal | int | float | str) -> Decimal:
    """A Decimal with exactly two places (half-up, as eBay rounds). A float goes through its
    shortest repr (``0.1`` is 0.10, not 0.1000000000000000055…)."""
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
