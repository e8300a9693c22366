"""Parsing single values exactly: money, quantities, currencies and dates.

Every parser raises :class:`ValueProblem` with a reason a seller can act on; the format parsers turn
it into a :class:`~ebaydash.importers.records.RowError` with the file, line and field.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ebaydash.db.types import CENT, to_money

# NUMERIC(12,2): the largest amount the database holds.
MAX_MONEY = Decimal("9999999999.99")
MAX_QUANTITY = 1_000_000

CURRENCY_SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "US $": "USD",
    "AU $": "AUD",
    "AU$": "AUD",
    "A$": "AUD",
    "C $": "CAD",
    "C$": "CAD",
    "CA$": "CAD",
    "£": "GBP",
    "€": "EUR",
}
_CODE = re.compile(r"[A-Z]{3}")
_MONEY = re.compile(r"(?P<pre>[^\d.,()\-]*?)\s*(?P<sign>-)?\s*(?P<num>\d[\d.,]*)\s*(?P<post>[^\d.,()\-]*)")
_THOUSANDS_COMMA = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")

MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
# Zones some older Seller Hub exports append to their times.
ZONE_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}
_TIME = r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?(?:\s+(?P<zone>[A-Za-z]{2,4}))?"
_MONTH_FIRST = re.compile(r"(?P<mon>[A-Za-z]{3})-(?P<d>\d{1,2})-(?P<y>\d{2}|\d{4})" + _TIME)
_DAY_FIRST = re.compile(r"(?P<d>\d{1,2})-(?P<mon>[A-Za-z]{3})-(?P<y>\d{2}|\d{4})" + _TIME)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ValueProblem(ValueError):
    """A value that cannot be used; ``str()`` is the reason, written for the seller."""


# -- money --------------------------------------------------------------------------------------


def money(value: Any) -> Decimal:
    """An exact amount from a JSON string or number (numbers arrive as Decimal, never float)."""
    if isinstance(value, bool) or value is None:
        raise ValueProblem(f'expected an amount such as "12.34", got {_show(value)}')
    if isinstance(value, int | Decimal):
        return _checked_money(Decimal(value), str(value))
    if isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueProblem(f'{value!r} is not an amount (expected e.g. "12.34")') from None
        return _checked_money(amount, value)
    raise ValueProblem(f'expected an amount such as "12.34", got {_show(value)}')


def money_text(text: str) -> tuple[Decimal, str | None]:
    """An amount written for people, e.g. ``$1,234.56``, ``£12.34``, ``EUR 12,34``, ``-$5.00``.

    Returns the amount and the currency its symbol names (``None`` when it names none).
    """
    raw = text.strip()
    negative = False
    if raw.startswith("(") and raw.endswith(")"):  # accounting style
        negative, raw = True, raw[1:-1].strip()
    if raw.startswith("-"):
        negative, raw = True, raw[1:].strip()
    match = _MONEY.fullmatch(raw)
    if match is None:
        raise ValueProblem(f"{text!r} is not an amount (expected e.g. $12.34)")
    negative = negative or bool(match["sign"])
    symbol = (match["pre"].strip() or match["post"].strip()).strip()
    currency = None
    if symbol:
        currency = CURRENCY_SYMBOLS.get(symbol) or CURRENCY_SYMBOLS.get(symbol.upper())
        if currency is None and _CODE.fullmatch(symbol.upper()):
            currency = symbol.upper()
        if currency is None:
            raise ValueProblem(f"{text!r}: unknown currency symbol {symbol!r}")
    number = match["num"]
    if "," in number and "." in number:
        decimal_mark = "," if number.rfind(",") > number.rfind(".") else "."
        number = number.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif "," in number:
        if _THOUSANDS_COMMA.fullmatch(number):
            number = number.replace(",", "")
        elif _DECIMAL_COMMA.fullmatch(number):
            number = number.replace(",", ".")
        else:
            raise ValueProblem(f"{text!r} is not an amount (expected e.g. $12.34)")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueProblem(f"{text!r} is not an amount (expected e.g. $12.34)") from None
    return _checked_money(-amount if negative else amount, text), currency


def _checked_money(amount: Decimal, shown: str) -> Decimal:
    if not amount.is_finite():
        raise ValueProblem(f"{shown!r} is not an amount")
    if abs(amount) > MAX_MONEY:
        raise ValueProblem(f"{shown!r} is larger than the largest amount supported ({MAX_MONEY:,})")
    if amount != amount.quantize(CENT):
        raise ValueProblem(f"{shown!r} has fractions of a cent")
    return to_money(amount)


def non_negative(amount: Decimal, what: str = "amount") -> Decimal:
    if amount < 0:
        raise ValueProblem(f"the {what} must not be negative, got {amount}")
    return amount


def currency_code(value: Any) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value.strip().upper()):
        raise ValueProblem(f"expected a three-letter currency code such as USD, got {_show(value)}")
    return value.strip().upper()


# -- quantities ---------------------------------------------------------------------------------


def quantity(value: Any) -> int:
    """A whole number of units, at least 1."""
    if isinstance(value, bool):
        raise ValueProblem(f"expected a whole number of units, got {_show(value)}")
    whole_decimal = isinstance(value, Decimal) and value == value.to_integral_value()
    digits = isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value) is not None
    if isinstance(value, int) or whole_decimal or digits:
        number = int(value)
    else:
        raise ValueProblem(f"expected a whole number of units, got {_show(value)}")
    if number < 1:
        raise ValueProblem(f"the quantity must be at least 1, got {number}")
    if number > MAX_QUANTITY:
        raise ValueProblem(f"the quantity {number:,} is implausibly large")
    return number


# -- dates --------------------------------------------------------------------------------------


def iso_instant(value: Any) -> dt.datetime:
    """An ISO 8601 timestamp with a zone (eBay's ``2026-09-30T23:45:00.000Z``), as UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueProblem(
            f"expected an ISO 8601 timestamp such as 2026-09-30T23:45:00.000Z, got {_show(value)}"
        )
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueProblem(f"{value!r} is not a valid date and time") from None
    if parsed.tzinfo is None:
        raise ValueProblem(f"{value!r} has no time zone (expected UTC, e.g. ending in Z)")
    return parsed.astimezone(dt.UTC)


@functools.lru_cache(maxsize=8192)  # exports repeat timestamps (sale and payment in one minute)
def local_instant(text: str, zone: ZoneInfo) -> dt.datetime:
    """A Seller Hub date such as ``Sep-30-26 23:45:00`` in ``zone`` (unless it names its own zone),
    as UTC. Also accepts ``30-Sep-26``, ``2026-09-30 23:45:00`` and ISO timestamps with offsets."""
    raw = text.strip()
    if not raw:
        raise ValueProblem("the date is empty")
    if _ISO_DATE.match(raw):
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValueProblem(f"{text!r} is not a valid date") from None
        if parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC)
        return _localise(parsed, zone, text)
    match = _MONTH_FIRST.fullmatch(raw) or _DAY_FIRST.fullmatch(raw)
    if match is None:
        raise ValueProblem(f"{text!r} is not a date in a known format (expected e.g. Sep-30-26 23:45:00)")
    month = MONTHS.get(match["mon"].lower())
    if month is None:
        raise ValueProblem(f"{text!r}: {match['mon']!r} is not a month")
    year = int(match["y"])
    year = year + 2000 if year < 100 else year
    try:
        naive = dt.datetime(
            year,
            month,
            int(match["d"]),
            int(match["h"] or 0),
            int(match["mi"] or 0),
            int(match["s"] or 0),
        )
    except ValueError as exc:
        raise ValueProblem(f"{text!r} is not a valid date ({exc})") from None
    if match["zone"]:
        offset = ZONE_ABBREVIATIONS.get(match["zone"].upper())
        if offset is None:
            raise ValueProblem(f"{text!r}: unknown time zone {match['zone']!r}")
        return naive.replace(tzinfo=dt.timezone(dt.timedelta(hours=offset))).astimezone(dt.UTC)
    return _localise(naive, zone, text)


def _localise(naive: dt.datetime, zone: ZoneInfo, shown: str) -> dt.datetime:
    aware = naive.replace(tzinfo=zone)
    utc = aware.astimezone(dt.UTC)
    # Only around a daylight-saving change do the two folds differ; there, a wall time the clocks
    # skipped does not survive a round trip through UTC. (A repeated hour takes its first fold.)
    near_change = aware.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()
    if near_change and utc.astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueProblem(f"{shown!r} does not exist in {zone.key} (the clocks skipped it)")
    return utc


# -- text ---------------------------------------------------------------------------------------


def text_value(value: Any, *, limit: int, what: str, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueProblem(f"the {what} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueProblem(f"expected text for the {what}, got {_show(value)}")
    result = str(value).strip()
    if len(result) > limit:
        raise ValueProblem(f"the {what} is longer than {limit} characters")
    return result


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
