"""ebaydash.formatting: how figures read on screen and in the CLI."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
import pytest

from ebaydash import formatting as f
from ebaydash.models import Kpi


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("2500"), "USD", "$2,500.00"),
        (Decimal("-3.5"), "GBP", "-£3.50"),
        (Decimal("0"), "EUR", "€0.00"),
        (Decimal("1234.5"), "SEK", "1,234.50 SEK"),  # no symbol known: the ISO code after it
    ],
)
def test_money(amount: Decimal, currency: str, shown: str) -> None:
    assert f.money(amount, currency) == shown


def test_a_money_column_reads_as_money_does() -> None:
    # sprintf-js, as Streamlit's NumberColumn applies it: symbol, thousands, two decimals
    assert f.money_column_format("USD") == "$%,.2f"
    assert f.money_column_format("GBP") == "£%,.2f"
    assert f.money_column_format("SEK") == "%,.2f SEK"


def test_money_axis_carries_the_currency() -> None:
    assert f.money_axis("USD") == {"tickformat": ",.2~f", "hoverformat": ",.2f", "tickprefix": "$"}
    chf = f.money_axis("CHF")
    assert chf["ticksuffix"] == " CHF" and "tickprefix" not in chf


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (208.064, "208 ms"),
        (1999.4, "2 s"),
        (1250.0, "1.25 s"),
        (12.34, "12.3 ms"),
        (1.2, "1.20 ms"),
        (0.074, "74 µs"),
        (0.0004, "0.4 µs"),
        (0.0, "0 ms"),
        (None, "—"),
        (math.nan, "—"),  # nothing measured
    ],
)
def test_durations_have_sensible_precision_and_unit(ms: float | None, shown: str) -> None:
    assert f.duration_ms(ms) == shown


def test_percentages_from_fractions_and_unknown() -> None:
    assert f.percent(0.8) == "80%"
    assert f.percent(0.0123, 1) == "1.2%"
    assert f.percent(0.0) == "0%"  # a measured zero is a zero ...
    assert f.percent(None) == "—" and f.percent(math.nan) == "—"  # ... unknown is not


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0 matching orders"),
        (1, "1 matching order"),
        (2, "2 matching orders"),
        (1234, "1,234 matching orders"),
    ],
)
def test_plural(n: int, shown: str) -> None:
    assert f.plural(n, "matching order") == shown


def test_irregular_plural() -> None:
    assert f.plural(2, "replica") == "2 replicas" and f.plural(3, "entry", "entries") == "3 entries"
    assert f.noun(1, "entry", "entries") == "entry"


def test_kpi_tile_rise_fall_and_inverse() -> None:
    rise = f.kpi_tile(Kpi(12, 10))
    assert (rise.value, rise.delta, rise.delta_color, rise.delta_arrow) == (
        "12",
        "+2 (+20.0%)",
        "normal",
        "auto",
    )
    refunds = f.kpi_tile(Kpi(Decimal("5.00"), Decimal("10.00")), currency="USD", inverse=True)
    assert (refunds.value, refunds.delta, refunds.delta_color) == ("$5.00", "-$5.00 (-50.0%)", "inverse")
    new = f.kpi_tile(Kpi(3, 0))
    assert new.delta == "+3 (new)"


def test_an_unchanged_figure_is_grey_without_an_arrow() -> None:
    same = f.kpi_tile(Kpi(7, 7))
    assert (same.delta, same.delta_color, same.delta_arrow) == ("no change", "off", "off")
    assert "+0" not in (same.delta or "")
    # nothing in either period reads the same: a tile without a line beside tiles with one
    # looked like a missing figure (a tester's 7-day view: Refunds 0 bare, Active listings "no change")
    nothing = f.kpi_tile(Kpi(0, 0))
    assert (nothing.delta, nothing.delta_color, nothing.delta_arrow) == ("no change", "off", "off")


def test_an_unknown_figure_is_a_dash_with_its_hint() -> None:
    tile = f.kpi_tile(None, unknown=f.LISTINGS_UNKNOWN)
    assert tile.value == "—" and tile.delta == f.LISTINGS_UNKNOWN
    assert (tile.delta_color, tile.delta_arrow) == ("off", "off")
    assert f.kpi_tile(Kpi(0, 0)).value == "0"  # a known zero stays a zero


def test_times_on_the_viewers_clock() -> None:
    moment = dt.datetime(2026, 11, 29, 16, 5, 9, tzinfo=dt.UTC)
    assert f.local_time(moment, "America/Los_Angeles") == "2026-11-29 08:05"
    assert f.clock_time(moment.timestamp(), "America/Los_Angeles") == "08:05:09 PST"
    assert f.epoch_time(moment.timestamp(), "Europe/Berlin") == "2026-11-29 17:05:09"


def test_chart_times_become_local_wall_clock_without_offset() -> None:
    frame = pd.DataFrame(
        {
            "time": [pd.Timestamp("2026-07-01 12:00", tz="UTC"), pd.Timestamp("2026-07-01 12:05", tz="UTC")],
            "v": [1, 2],
        }
    )
    local = f.local_times(frame, "America/Los_Angeles")
    assert local["time"].dt.tz is None
    assert list(local["time"].dt.strftime("%H:%M")) == ["05:00", "05:05"]  # PDT, UTC−7
    assert list(frame["time"].dt.hour) == [12, 12]  # the input is left as it was
    assert f.local_times(frame.iloc[0:0], "UTC").empty


def test_axes() -> None:
    assert f.count_axis(9.4) == {"tickformat": ",d", "dtick": 2, "rangemode": "tozero"}  # no 9.2 ticks
    assert f.count_axis(3)["dtick"] == 1 and f.count_axis(None)["dtick"] == 1
    days = f.day_axis(30)
    assert days["tickformat"] == "%b %d" and "%Y" not in days["tickformat"]  # no year line to clip
    assert days["dtick"] == 3 * f.DAY_MS
    weeks = f.day_axis(53, step_days=7, first=dt.date(2026, 1, 5))
    assert weeks["dtick"] == 6 * 7 * f.DAY_MS and weeks["tick0"] == "2026-01-05"
    stops = {tuple(stop["dtickrange"]): stop["value"] for stop in f.clock_axis()["tickformatstops"]}
    assert stops[(None, f.MINUTE_MS)] == "%H:%M:%S" and stops[(f.MINUTE_MS, f.DAY_MS)] == "%H:%M"
    assert all("%Y" not in value for value in stops.values())
    assert f.percent_axis()["tickformat"] == ".0%" and f.percent_axis(fraction=False)["ticksuffix"] == "%"


def test_the_import_summary_counts_in_the_singular_too() -> None:
    from ebaydash.services import ImportReport

    one = ImportReport("Shop", committed=True, orders_in=1, imported=1, not_orders_count=1, seconds=0.2)
    text = one.summary_text(skip_hint="tick the box")
    assert "— 1 order in 0.2 s." in text and "1 row was not an order" in text
    many = ImportReport("Shop", committed=True, orders_in=3, imported=3, not_orders_count=2, seconds=0.2)
    text = many.summary_text(skip_hint="tick the box")
    assert "— 3 orders in 0.2 s." in text and "2 rows were not orders" in text


def test_profit_tiles_word_their_change_as_the_overviews_do() -> None:
    from ebaydash.models import MoneyKpi
    from ebaydash.ui import money_delta

    usd = Decimal
    assert money_delta(MoneyKpi(usd("61.99"), usd("0")), currency="USD") == "+$61.99 (new)"
    assert money_delta(MoneyKpi(usd("5.00"), usd("5.00")), currency="USD") == "no change"
    assert money_delta(MoneyKpi(usd("0"), usd("0")), currency="USD") == "no change"
    assert money_delta(MoneyKpi(usd("9.00"), usd("12.00")), currency="USD") == "-$3.00 (-25.0%)"
    assert money_delta(MoneyKpi(usd("9.00"), None), currency="USD") is None  # unknown before
    assert money_delta(MoneyKpi(usd("25.50"), usd("20.00"))) == "+5.50 pp"  # a margin, in percent
    # as the overview's tiles say it
    assert f.delta(Kpi(usd("61.99"), usd("0")), currency="USD") == "+$61.99 (new)"
    assert f.delta(Kpi(usd("5.00"), usd("5.00")), currency="USD") == "no change"


def test_several_items_read_as_a_sentence() -> None:
    assert [f.and_list(items) for items in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "",
        "a",
        "a and b",
        "a, b and c",
    ]


def test_a_single_bucket_has_a_bucket_of_room_either_side() -> None:
    """One bar alone filled the chart's whole width (a one-day range): its axis spans a bucket
    either side; two or more buckets keep plotly's own range (the control)."""
    day = dt.date(2026, 11, 15)
    assert f.day_axis(1, first=day)["range"] == ["2026-11-14", "2026-11-16"]
    assert f.day_axis(1, step_days=7, first=day)["range"] == ["2026-11-08", "2026-11-22"]
    assert "range" not in f.day_axis(2, first=day)


def test_points_within_a_second_get_a_minute_of_axis() -> None:
    """Three recommendations in one second had ticks 0.2 s apart, all reading "04:23:02"."""
    import plotly.graph_objects as go

    from ebaydash import ui

    at = dt.datetime(2026, 11, 30, 4, 23, 2)
    close = go.Figure([go.Scatter(x=[at, at + dt.timedelta(milliseconds=400)], y=[1, 2])])
    low, high = ui.over_time(close).layout.xaxis.range
    assert pd.Timedelta(minutes=1) <= pd.Timestamp(high) - pd.Timestamp(low) <= pd.Timedelta(seconds=60.002)
    assert pd.Timestamp(low) < pd.Timestamp(at) < pd.Timestamp(high)
    apart = go.Figure([go.Scatter(x=[at, at + dt.timedelta(minutes=5)], y=[1, 2])])
    assert ui.over_time(apart).layout.xaxis.range is None  # plotly's own, the control
