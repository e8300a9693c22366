"""How every figure reads on screen and in the CLI: money, counts, percentages, durations, times,
chart axes, and what "unknown" looks like. Pure functions (no Streamlit), so they are tested on
their own; :mod:`ebaydash.ui` draws with them.

Conventions: money as the currency's symbol and two decimals (``$2,500.00``; ISO code after the
number when it has no symbol here); shares as percentages (``80%``, fractions in, never ``0.80``
out); durations with three significant digits in the unit that fits (``208 ms``, ``12.3 ms``,
``74 µs``, ``1.25 s``); unknown as an em dash, with a hint where one helps; times on the viewer's
clock (the zone the sidebar names), never as UTC offsets.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd

from ebaydash.models import Kpi

CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "AUD": "A$", "CAD": "C$"}
UNKNOWN = "—"
# what a tile says when ebaydash holds no listings for the account (orders do not say what is listed)
LISTINGS_UNKNOWN = "unknown: no listings imported (order files do not include them)"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# -- money --------------------------------------------------------------------------------------


def money(amount: Decimal | int | float, currency: str) -> str:
    """``$1,234.50``, ``-£3.00``; ``1,234.50 SEK`` for a currency without a symbol here."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    value = Decimal(amount)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def money_column_format(currency: str) -> str:
    """The printf-style format of a table's money column (``st.column_config.NumberColumn``):
    ``$1,234.50`` as :func:`money` writes it, ``1,234.50 SEK`` for a currency without a symbol
    here. For amounts that are never negative (the column puts a sign after the symbol)."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}%,.2f" if symbol else f"%,.2f {currency}"


def money_or(amount: Decimal | int | float | None, currency: str, missing: str = "unknown") -> str:
    """:func:`money`, or ``missing`` (``"unknown"``, ``"—"``, ``"new"``…) for an amount that is None:
    an absent amount is never shown as 0 or ``None``."""
    return missing if amount is None else money(amount, currency)


# eBay's PayoutStatusEnum in words (its reference's payoutStatusDescription, shortened)
PAYOUT_STATUS_LABELS: dict[str, str] = {
    "INITIATED": "Preparing to send",
    "SUCCEEDED": "Sent",
    "REVERSED": "Rejected by the bank",
    "RETRYABLE_FAILED": "Waiting to retry",
    "TERMINAL_FAILED": "Failed",
}
# the money records' types (eBay's TransactionTypeEnum in lower case, plus the report's own) in words
MONEY_TYPE_LABELS: dict[str, str] = {
    "sale": "Sale",
    "refund": "Refund",
    "credit": "Credit",
    "dispute": "Payment dispute",
    "claim": "Claim",
    "non_sale_charge": "Other fee",
    "shipping_label": "Shipping label",
    "transfer": "Transfer",
    "balance_transfer": "Balance transfer",
    "adjustment": "Adjustment",
    "withdrawal": "Withdrawal",
    "loan_repayment": "Loan repayment",
    "purchase": "Purchase",
    "hold": "Hold",
    "charge": "Charge",
    "other": "Other",
}


def payout_status(status: str | None) -> str:
    """A payout's status in words (``SUCCEEDED`` → ``Sent``); an unknown code as it is, none as —."""
    if not status:
        return UNKNOWN
    return PAYOUT_STATUS_LABELS.get(status.upper(), status)


def order_status(status: str) -> str:
    """An order's status as a label (``paid`` → ``Paid``): the database keeps eBay's states in
    lower case (:data:`~ebaydash.db.schema.ORDER_STATUSES`), the pages show them as words."""
    return _in_words(status)


def money_type(kind: str) -> str:
    """A money record's type in words (``shipping_label`` → ``Shipping label``)."""
    return MONEY_TYPE_LABELS.get(kind, _in_words(kind))


def _in_words(code: str) -> str:
    """A lower-case code as a label: ``non_sale_charge`` → ``Non sale charge``."""
    return code.replace("_", " ").capitalize()


def money_axis(currency: str) -> dict[str, str]:
    """Plotly axis settings for a money axis: ``$2,500`` ticks (``2,500 SEK`` without a symbol);
    cents only where the ticks need them (``$0.50``)."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    # "~" trims zeros a tick does not need: 2500 -> "2,500", 0.5 -> "0.5"
    settings = {"tickformat": ",.2~f", "hoverformat": ",.2f"}
    if symbol:
        settings["tickprefix"] = symbol
    else:
        settings["ticksuffix"] = f" {currency}"
    return settings


# -- counts and shares --------------------------------------------------------------------------


def noun(n: int, singular: str, plural_form: str | None = None) -> str:
    """The word that goes with ``n``: ``order`` for 1, ``orders`` otherwise (``plural_form`` for
    irregular nouns)."""
    return singular if n == 1 else (plural_form or singular + "s")


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``1 matching order``, ``1,234 matching orders``, ``0 orders``."""
    return f"{n:,} {noun(n, singular, plural_form)}"


def and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: several items read as a sentence (none: empty)."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def percent(fraction: float | None, digits: int = 0) -> str:
    """A share given as a fraction (0.8) shown as a percentage (``80%``); a dash when unknown."""
    if _missing(fraction):
        return UNKNOWN
    return f"{fraction:.{digits}%}"


def count_or_unknown(value: int | None) -> str:
    return UNKNOWN if value is None else f"{value:,}"


# -- durations ----------------------------------------------------------------------------------


def duration_ms(ms: float | None) -> str:
    """A duration given in milliseconds, three significant digits in the unit that fits:
    ``1.25 s``, ``208 ms``, ``12.3 ms``, ``1.20 ms``, ``74 µs``, ``0.4 µs``; a dash when nothing was measured
    (``None`` or NaN)."""
    if ms is None or _missing(ms):
        return UNKNOWN
    if ms >= 1000:
        return f"{ms / 1000:,.3g} s" if ms < 100_000 else f"{ms / 1000:,.0f} s"
    if ms >= 1:
        return f"{_sig3(ms)} ms"
    if ms == 0:
        return "0 ms"
    us = ms * 1000
    return f"{us:,.0f} µs" if us >= 10 else f"{us:.1f} µs"


def _sig3(value: float) -> str:
    """Three significant digits, trailing zeros kept (``1.20``, ``12.3``, ``208``)."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


# -- KPI tiles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """What ``st.metric`` shows: the value, the change line, its colour and arrow."""

    value: str
    delta: str | None = None
    delta_color: Literal["normal", "inverse", "off"] = "normal"
    delta_arrow: Literal["auto", "off"] = "auto"


def delta(kpi: Kpi, *, currency: str | None = None) -> str | None:
    """The change line: absolute change and percentage against the previous window (``+12
    (+4.0%)``, ``+$3.00 (new)``); ``"no change"`` when the figure did not move, zero in both
    windows too (a tile without a line beside tiles with one read as a missing figure)."""
    change = kpi.change
    if change == 0:
        return "no change"
    absolute = money(change, currency) if currency else f"{change:,}"
    if not str(absolute).startswith("-"):
        absolute = "+" + absolute
    pct = kpi.change_pct
    return f"{absolute} ({pct:+.1%})" if pct is not None else f"{absolute} (new)"


def kpi_tile(
    kpi: Kpi | None,
    *,
    currency: str | None = None,
    inverse: bool = False,
    unknown: str = "unknown",
) -> Tile:
    """The tile of one figure; ``kpi`` ``None`` is an unknown figure: a dash and ``unknown`` as
    its (grey, arrowless) change line. An unchanged figure says so in grey, without an arrow.
    ``inverse``: a rise is bad news (refunds, cancellations) and shows red."""
    if kpi is None:
        return Tile(UNKNOWN, unknown, "off", "off")
    value = money(kpi.current, currency) if currency else f"{kpi.current:,}"
    change = delta(kpi, currency=currency)
    if kpi.change == 0:
        return Tile(value, change, "off", "off")
    return Tile(value, change, "inverse" if inverse else "normal")


# -- time ---------------------------------------------------------------------------------------


def local_time(moment: dt.datetime, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``moment`` on the viewer's clock: sellers think in their own zone, the database in UTC."""
    return moment.astimezone(ZoneInfo(tz)).strftime(fmt)


def epoch_time(epoch_s: float, tz: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A Unix time (seconds) on the viewer's clock."""
    return local_time(dt.datetime.fromtimestamp(epoch_s, dt.UTC), tz, fmt)


def clock_time(epoch_s: float, tz: str) -> str:
    """A moment of today's logs: ``14:05:09`` on the viewer's clock, with the zone's abbreviation."""
    return local_time(dt.datetime.fromtimestamp(epoch_s, dt.UTC), tz, "%H:%M:%S %Z")


def local_times(frame: pd.DataFrame, tz: str, column: str = "time") -> pd.DataFrame:
    """``frame`` with its UTC ``column`` as wall-clock times in ``tz`` (no offset), for charts:
    plotly would otherwise label the axis in UTC."""
    if frame.empty or column not in frame.columns:
        return frame
    times = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    return frame.assign(**{column: times})


# -- chart axes ---------------------------------------------------------------------------------

MINUTE_MS = 60_000  # plotly's date axes count in milliseconds
DAY_MS = 86_400_000


def day_axis(buckets: int = 0, *, step_days: int = 1, first: dt.date | None = None) -> dict[str, Any]:
    """A date axis of ``buckets`` bars ``step_days`` apart: ``Nov 29`` on one line (plotly's
    default adds the year on a second line under the first tick, which a tight margin cuts off),
    at most about ten ticks, each on a bucket from ``first`` (never a noon between two days)."""
    every = max(1, math.ceil(buckets / 10)) * step_days
    axis: dict[str, Any] = {"tickformat": "%b %d", "hoverformat": "%a %d %b %Y", "dtick": every * DAY_MS}
    if first is not None:
        axis["tick0"] = first.isoformat()  # weekly ticks on the buckets' Mondays
        if buckets == 1:
            # one bar would fill the whole width (plotly sizes it to the range): a bucket either side
            step = dt.timedelta(days=step_days)
            axis["range"] = [(first - step).isoformat(), (first + step).isoformat()]
    return axis


def clock_axis() -> dict[str, Any]:
    """A time axis within an hour or a day: ``14:05`` (no date line under the first tick), with
    seconds when the ticks are less than a minute apart (never ``14:05`` six times over)."""
    return {
        "tickformatstops": [
            {"dtickrange": [None, MINUTE_MS], "value": "%H:%M:%S"},
            {"dtickrange": [MINUTE_MS, DAY_MS], "value": "%H:%M"},
            {"dtickrange": [DAY_MS, None], "value": "%b %d"},
        ],
        "hoverformat": "%H:%M:%S",
    }


def count_axis(largest: float | int | None = None) -> dict[str, Any]:
    """An axis of whole things (replicas, orders): integer ticks only, from zero; about five
    ticks for ``largest``."""
    step = max(1, math.ceil((largest or 0) / 5))
    return {"tickformat": ",d", "dtick": step, "rangemode": "tozero"}


def percent_axis(*, fraction: bool = True) -> dict[str, Any]:
    """A 0–100 % axis, for shares given as fractions (``fraction``) or as percent numbers."""
    if fraction:
        return {"tickformat": ".0%", "range": [0, 1.05]}
    return {"ticksuffix": "%", "range": [0, 105]}


def duration_axis() -> dict[str, Any]:
    """A milliseconds axis: ``208 ms`` ticks, ``12.3 ms`` on hover."""
    return {"ticksuffix": " ms", "tickformat": ",~r", "hoverformat": ",.3~r"}
