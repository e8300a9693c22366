"""Parsing single values exactly: money, quantities, currencies, identifiers, text and dates.

Every parser raises :class:`ValueProblem` with a reason a seller can act on; the format parsers turn
it into a :class:`~ebaydash.importers.records.RowError` with the file, line and field. Values are
checked for size before they are converted, so a number of a million digits or ``1e999999999`` is a
problem of its row, never a hang or a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ebaydash.importers import locales
from ebaydash.money import CENT, to_money

# NUMERIC(12,2): the largest amount the database holds.
MAX_MONEY = Decimal("9999999999.99")
MAX_QUANTITY = 1_000_000
MAX_NUMBER_CHARS = 40  # longer "numbers" are refused before any conversion
CURRENCY_SYMBOLS = locales.CURRENCY_SYMBOLS
_CODE = re.compile(r"[A-Z]{3}")
_SPACES = "\u00a0\u202f\u2009 "
_GROUPING = _SPACES + "'’"
_MONEY = re.compile(
    r"(?P<pre>[^\d+\-]*?)\s*(?P<sign>[-+])?\s*"
    r"(?P<num>\d(?:[\d.,'’\u00a0\u202f\u2009 ]*\d)?)\s*(?P<post>[^\d]*)"
)

# Zones some older Seller Hub exports append to their times (hours from UTC).
ZONE_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "MEZ": 1,
    "MESZ": 2,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "AEST": 10,
    "AEDT": 11,
}
_TIME = (
    r"(?:[ T,]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?)?"
    r"(?:\s+(?P<zone>[A-Za-z]{2,5}))?"
)
_MON = r"(?P<mon>[^\W\d_]{3,}\.?)"
_MONTH_FIRST = re.compile(_MON + r"[-/ ](?P<d>\d{1,2}),?[-/ ](?P<y>\d{2}|\d{4})" + _TIME)
_DAY_FIRST = re.compile(r"(?P<d>\d{1,2})\.?[-/ ]" + _MON + r"[-/ ](?P<y>\d{2}|\d{4})" + _TIME)
_NUMERIC = re.compile(r"(?P<a>\d{1,2})(?P<sep>[./])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})" + _TIME)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class ValueProblem(ValueError):
    """A value that cannot be used; ``str()`` is the reason, written for the seller."""


class HugeNumber(str):
    """A JSON number too long to convert safely (see :data:`MAX_NUMBER_CHARS`); kept as its text."""


# -- money --------------------------------------------------------------------------------------


def money(value: Any) -> Decimal:
    """An exact amount from a JSON string or number (numbers arrive as Decimal, never float)."""
    if isinstance(value, bool) or value is None:
        raise ValueProblem(f'expected an amount such as "12.34", got {_show(value)}')
    if isinstance(value, HugeNumber):
        raise ValueProblem(f"{_show(value)} is not an amount")
    if isinstance(value, int | Decimal):
        return _checked_money(Decimal(value), str(value) if isinstance(value, Decimal) else _show(value))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_CHARS:
            raise ValueProblem(f"{_show(value)} is not an amount")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueProblem(f'{_show(value)} is not an amount (expected e.g. "12.34")') from None
        return _checked_money(amount, value)
    raise ValueProblem(f'expected an amount such as "12.34", got {_show(value)}')


def money_text(text: str, decimal_mark: str | None = None) -> tuple[Decimal, str | None]:
    """An amount written for people: ``$1,234.56``, ``£12.34``, ``1.116,99 €``, ``1 234,50 €``,
    ``EUR 12,34``, ``AU $3,000.00``, ``-$5.00``, ``($5.00)``.

    ``decimal_mark`` (the report's locale's, ``.`` or ``,``) settles the one ambiguous spelling, a
    single separator followed by three digits: ``1.234`` is 1234 in German and 1.234 in English.
    Without it a comma there groups thousands and a point is decimal. Returns the amount and the
    currency its symbol names (``None`` when it names none).
    """
    raw = text.strip()
    if len(raw) > MAX_NUMBER_CHARS:
        raise ValueProblem(f"{_show(text)} is not an amount (too long)")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):  # accounting style
        negative, raw = True, raw[1:-1].strip()
    if raw.startswith("-"):
        negative, raw = True, raw[1:].strip()
    match = _MONEY.fullmatch(raw)
    if match is None:
        raise ValueProblem(f"{_show(text)} is not an amount (expected e.g. $12.34)")
    negative = negative or match["sign"] == "-"
    symbol = " ".join((match["pre"].strip(_SPACES) or match["post"].strip(_SPACES)).split())
    if match["pre"].strip(_SPACES) and match["post"].strip(_SPACES):
        raise ValueProblem(f"{_show(text)} is not an amount (expected e.g. $12.34)")
    currency = None
    if symbol:
        currency = CURRENCY_SYMBOLS.get(symbol) or CURRENCY_SYMBOLS.get(symbol.upper())
        if currency is None and _CODE.fullmatch(symbol.upper()):
            currency = symbol.upper()
        if currency is None:
            raise ValueProblem(f"{_show(text)}: unknown currency symbol {symbol!r}")
    number = _plain_number(match["num"], decimal_mark)
    if number is None:
        raise ValueProblem(f"{_show(text)} is not an amount (expected e.g. $12.34)")
    amount = Decimal(number)
    return _checked_money(-amount if negative else amount, text), currency


def _plain_number(number: str, decimal_mark: str | None) -> str | None:
    """``1.234,56`` → ``1234.56``; ``None`` when the separators do not group thousands properly."""
    grouped = any(ch in _GROUPING for ch in number)
    points, commas = number.count("."), number.count(",")
    if points and commas:
        decimal = "," if number.rfind(",") > number.rfind(".") else "."
    elif points + commas == 1:
        mark = "." if points else ","
        digits_after = len(number) - number.rfind(mark) - 1
        if digits_after == 3 and not grouped:
            decimal = mark if decimal_mark == mark or (decimal_mark is None and mark == ".") else ""
        else:
            decimal = mark
    else:
        decimal = ""  # no mark, or one mark several times: it groups thousands
    if decimal and number.count(decimal) > 1:
        return None
    whole, _, fraction = number.partition(decimal) if decimal else (number, "", "")
    groups = re.split(r"[.,'’\u00a0\u202f\u2009 ]", whole)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    if not fraction.isdigit() and fraction:
        return None
    return "".join(groups) + ("." + fraction if fraction else "")


def _checked_money(amount: Decimal, shown: str) -> Decimal:
    if not amount.is_finite():
        raise ValueProblem(f"{_show(shown)} is not an amount")
    if amount.adjusted() > MAX_MONEY.adjusted() or amount.copy_abs() > MAX_MONEY:  # no context: 1e999999999
        raise ValueProblem(f"{_show(shown)} is larger than the largest amount supported ({MAX_MONEY:,})")
    if amount != amount.quantize(CENT):
        raise ValueProblem(f"{_show(shown)} has fractions of a cent")
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
    if isinstance(value, bool | HugeNumber):
        raise ValueProblem(f"expected a whole number of units, got {_show(value)}")
    if isinstance(value, str) and len(value.strip()) > MAX_NUMBER_CHARS:
        raise ValueProblem(f"the quantity {_show(value)} is implausibly large")
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 12:
        raise ValueProblem(f"the quantity {_show(value)} is implausibly large")
    whole_decimal = isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()
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


# -- identifiers and text -----------------------------------------------------------------------

EXPORT_AGAIN = (
    "Download the report from Seller Hub again and import that file as it is; if you must open it "
    "in Excel, use Data > From Text/CSV with this column set to Text, and save as CSV UTF-8."
)


def identifier(value: str, what: str) -> str:
    """An eBay number (item number, order number, transaction id) as text, refusing the shapes Excel
    leaves when it takes one for a number: scientific notation (``1.23457E+11``) and a decimal
    point (``123456789012.0``). Digits rounded away are told by :func:`looks_rounded`."""
    text = value.strip()
    if _SCIENTIFIC.fullmatch(text):
        raise ValueProblem(
            f"{_show(text)} is the {what} in scientific notation: Excel changed it and its real digits "
            f"are lost. {EXPORT_AGAIN}"
        )
    if re.fullmatch(r"\d{6,}[.,]0+", text):
        raise ValueProblem(f"{_show(text)}: Excel turned the {what} into a decimal number. {EXPORT_AGAIN}")
    return text


def looks_rounded(text: str) -> bool:
    """Whether a long number looks like one Excel rounded: saved while shown in scientific notation
    it keeps 6 significant digits (``123457000000``); past 15 digits it keeps 15. One such value
    can be real (a real id ending in 000000 is one in a million), so a parser calls it damage only
    when most of the column looks so (:func:`rounded_problem`)."""
    if not text.isdigit():
        return False
    significant = text.rstrip("0")
    return (len(text) >= 11 and len(significant) <= 6) or (len(text) > 15 and not text[15:].strip("0"))


def rounded_problem(text: str, what: str) -> str:
    return f"{_show(text)}: the {what} has lost its last digits (Excel rounds long numbers). " + EXPORT_AGAIN


def text_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot be stored as text, or ``None``: NUL and other control bytes, bytes that
    were not text in the file's encoding, and lone UTF-16 surrogates (from JSON ``\\ud800``)."""
    if _SUSPECT.search(value) is None:  # one scan for the common case: nothing to report
        return None
    found = _CONTROL.search(value)
    if found:
        code = ord(found.group())
        name = "a NUL byte" if code == 0 else f"the control character U+{code:04X}"
        return f"the {what} contains {name} at character {found.start() + 1}: the file is damaged here"
    found = _SURROGATE.search(value)
    if found:
        code = ord(found.group())
        if 0xDC80 <= code <= 0xDCFF:
            return (
                f"the {what} contains bytes that are not text in the file's encoding "
                f"(byte 0x{code - 0xDC00:02x} at character {found.start() + 1})"
            )
        return f"the {what} contains a lone UTF-16 surrogate (\\u{code:04x}), which is not text"
    return None


# -- dates --------------------------------------------------------------------------------------


def iso_instant(value: Any) -> dt.datetime:
    """An ISO 8601 timestamp with a zone (eBay's ``2026-09-30T23:45:00.000Z``), as UTC."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValueProblem(
            f"expected an ISO 8601 timestamp such as 2026-09-30T23:45:00.000Z, got {_show(value)}"
        )
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueProblem(f"{_show(value)} is not a valid date and time") from None
    if parsed.tzinfo is None:
        raise ValueProblem(f"{_show(value)} has no time zone (expected UTC, e.g. ending in Z)")
    return parsed.astimezone(dt.UTC)


# eBay opened on this day, as AuctionWeb: no eBay order is older
EBAY_FOUNDED = dt.date(1995, 9, 3)
# an order "in the future" by less than this is a clock or zone away from now, not a misread year
FUTURE_TOLERANCE = dt.timedelta(days=1)
# on or after EBAY_FOUNDED in every zone (UTC-12 included), so no need to work out the local day
_SURELY_AFTER_FOUNDING = dt.datetime.combine(EBAY_FOUNDED + dt.timedelta(days=1), dt.time(12), dt.UTC)


def full_year(year: int) -> int:
    """The year a date's year field means: two digits are read in eBay's lifetime, ``95``–``99``
    as 1995–1999 (eBay opened in 1995) and ``00``–``94`` as 2000–2094; four digits as they are."""
    if year >= 100:
        return year
    return 1900 + year if year >= EBAY_FOUNDED.year % 100 else 2000 + year


def slashed(text: str) -> tuple[int, int] | None:
    """The first and second parts of a numeric date written with slashes (``09/03/2026``, whose
    order, day or month first, the text alone may not settle), else ``None``."""
    match = _NUMERIC.fullmatch(text.strip())
    if match is None or match["sep"] != "/":
        return None
    return int(match["a"]), int(match["b"])


def slash_order(first: int, second: int) -> bool | None:
    """Whether a slashed date with these parts must be day first (``True``: its first part is no
    month), must be month first (``False``), or could be either (``None``, also when it is no
    date either way)."""
    if first > 12 and second <= 12:
        return True
    if second > 12 and first <= 12:
        return False
    return None


def plausible_order_date(instant: dt.datetime, now: dt.datetime, text: str, zone: ZoneInfo) -> dt.datetime:
    """``instant`` (read from ``text``) when it can be the date of an eBay order: not more than
    :data:`FUTURE_TOLERANCE` after ``now`` and not before :data:`EBAY_FOUNDED`. Raises
    :class:`ValueProblem` naming the date as read (in ``zone``) otherwise: a wrong year, mostly a
    two-digit one read in the wrong century."""
    if _SURELY_AFTER_FOUNDING <= instant <= now + FUTURE_TOLERANCE:
        return instant  # most dates: no local day to work out (a tenth of a parse's time)
    day = instant.astimezone(zone).date()
    if instant > now + FUTURE_TOLERANCE:
        raise ValueProblem(
            f"{_show(text)} was read as {day.isoformat()}, which is in the future (today is "
            f"{now.astimezone(zone).date().isoformat()}): an order cannot be dated later than now; "
            "check its year"
        )
    if day < EBAY_FOUNDED:
        raise ValueProblem(
            f"{_show(text)} was read as {day.isoformat()}, before eBay opened "
            f"({EBAY_FOUNDED.isoformat()}): it cannot be the date of an eBay order; check its year"
        )
    return instant


@functools.lru_cache(maxsize=8192)  # exports repeat timestamps (sale and payment in one minute)
def local_instant(text: str, zone: ZoneInfo, day_first: bool = False) -> dt.datetime:
    """A Seller Hub date such as ``Sep-30-26 23:45:00`` in ``zone`` (unless it names its own zone),
    as UTC. Also accepts day-first dates with month names of eBay's sites (``10-Dez-25``,
    ``03-Mär-26``, ``5 déc. 2025``), numeric dates (``10.12.2025`` is day first; ``10/12/2025``
    is read day first when ``day_first``, else month first: the caller decides a file's order,
    see :func:`slash_order`), ``2026-09-30 23:45:00`` and ISO timestamps. Two-digit years are
    read as :func:`full_year` says.

    Raises :class:`ValueProblem` for text that is no date, a date that does not exist (also a
    slashed one that does not exist in the order asked for, ``13/03/2026`` month first) and a
    wall time the clocks skipped in ``zone``."""
    raw = text.strip()
    if not raw:
        raise ValueProblem("the date is empty")
    if len(raw) > 64:
        raise ValueProblem(f"{_show(text)} is not a date")
    if _ISO_DATE.match(raw):
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise ValueProblem(f"{_show(text)} is not a valid date") from None
        if parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC)
        return _localise(parsed, zone, text)
    match = _MONTH_FIRST.fullmatch(raw) or _DAY_FIRST.fullmatch(raw)
    if match is not None:
        month = locales.month_number(match["mon"])
        if month is None:
            raise ValueProblem(f"{_show(text)}: {match['mon']!r} is not a month")
        day = int(match["d"])
    else:
        match = _NUMERIC.fullmatch(raw)
        if match is None:
            raise ValueProblem(
                f"{_show(text)} is not a date in a known format (expected e.g. Sep-30-26 23:45:00)"
            )
        a, b = int(match["a"]), int(match["b"])
        if match["sep"] == "." or day_first:
            day, month = a, b
        elif a > 12 and b <= 12:
            raise ValueProblem(f"{_show(text)} is day first ({a} is no month), not month first")
        else:
            month, day = a, b
    year = full_year(int(match["y"]))
    hour = int(match["h"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueProblem(f"{_show(text)} is not a valid time")
        hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
    try:
        naive = dt.datetime(year, month, day, hour, int(match["mi"] or 0), int(match["s"] or 0))
    except ValueError as exc:
        raise ValueProblem(f"{_show(text)} is not a valid date ({exc})") from None
    if match["zone"]:
        offset = ZONE_ABBREVIATIONS.get(match["zone"].upper())
        if offset is None:
            raise ValueProblem(f"{_show(text)}: unknown time zone {match['zone']!r}")
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
    if isinstance(value, HugeNumber):
        raise ValueProblem(f"the {what} is {_show(value)}, far longer than {limit} characters")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueProblem(f"expected text for the {what}, got {_show(value)}")
    result = str(value).strip()
    if len(result) > limit:
        raise ValueProblem(f"the {what} is longer than {limit} characters")
    problem = text_problem(result, what)
    if problem:
        raise ValueProblem(problem)
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
    if isinstance(value, HugeNumber):
        return f"a number of {len(value.lstrip('-')):,} characters"
    if isinstance(value, int) and abs(value) >= 10**MAX_NUMBER_CHARS:
        return f"a number of about {value.bit_length() * 3 // 10:,} digits"
    shown = repr(value) if isinstance(value, str) else str(value)
    shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return shown if len(shown) <= 40 else shown[:37] + "..."
