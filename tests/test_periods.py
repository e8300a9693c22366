"""The sidebar's periods: "This month" (built as refresh-ahead builds it), links whose custom range
runs past today (cut to end today, in the linked account's zone), and the overview's note when
the previous period is only partly covered by the account's orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from ebaydash import links, services, ui
from ebaydash.context import Context, build_context
from ebaydash.db.engine import Database
from ebaydash.models import Window, local_today
from ebaydash.services import namespaces, sellers
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT
from tests.shop_data import Shop

NY = "America/New_York"
PAGO = "Pacific/Pago_Pago"  # UTC-11: its date is behind the server's in the UTC morning
KIRI = "Pacific/Kiritimati"  # UTC+14: ahead of it from 10:00 UTC on
LINE = [("SKU-1", "Lamp", 1, Decimal("10.00"))]
NOTE_END = ", the account's first: its changes compare with part of a period."


def day(d: dt.date) -> str:
    """A date as the overview writes it (ui.window_caption)."""
    return f"{d:%d %b %Y}"


def at_local(d: dt.date, hour: int, tz: str) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(hour), ZoneInfo(tz)).astimezone(dt.UTC)


# -- links ----------------------------------------------------------------------------------------


def test_this_month_has_a_link_value_and_every_sidebar_period_has_one() -> None:
    assert list(links.PERIOD_SLUGS.values()) == list(ui.PERIODS)
    assert links.sidebar_params(3, "This month", None) == {"account": "3", "period": "month"}
    assert links.parse_sidebar({"account": "3", "period": "month"}) == (
        links.SidebarView(3, "This month", None),
        [],
    )
    view, problems = links.parse_sidebar({"period": "thismonth"})
    assert view == links.SidebarView() and "month" in problems[0]


TODAY = dt.date(2026, 11, 30)


def custom(first: str, last: str) -> dict[str, str]:
    return {"account": "2", "period": "custom", "from": first, "to": last}


def test_a_range_running_past_today_is_cut_to_end_today() -> None:
    view, problems = links.parse_sidebar(custom("2026-11-20", "2026-12-10"), today=TODAY)
    assert view == links.SidebarView(2, "Custom range", (dt.date(2026, 11, 20), TODAY))
    assert problems == [
        "the link's range 2026-11-20 to 2026-12-10 ends after today: shown up to today, 2026-11-30"
    ]
    # starting today is still a range of today
    view, problems = links.parse_sidebar(custom("2026-11-30", "2026-12-01"), today=TODAY)
    assert view.dates == (TODAY, TODAY) and len(problems) == 1


def test_a_range_ending_today_is_taken_as_it_is() -> None:
    """Negative control: nothing to cut, nothing said."""
    view, problems = links.parse_sidebar(custom("2026-11-01", "2026-11-30"), today=TODAY)
    assert view.dates == (dt.date(2026, 11, 1), TODAY) and problems == []


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2026-12-01", "2026-12-10"),  # all in the future
        ("2026-12-01", "2026-12-01"),  # tomorrow alone
        ("2026-11-20", "2026-11-10"),  # reversed
        ("2026-12-10", "2026-11-20"),  # reversed, across today
        ("1999-12-31", "2026-11-10"),  # before 2000
    ],
)
def test_a_range_in_the_future_or_backwards_is_refused(first: str, last: str) -> None:
    view, problems = links.parse_sidebar(custom(first, last), today=TODAY)
    assert view == links.SidebarView(2, None, None)
    assert problems == ["the link's dates must run forward, from 2000, and start by today, 2026-11-30"]


# -- this month -----------------------------------------------------------------------------------


def test_this_month_is_the_window_refresh_ahead_computes() -> None:
    for tz in ("UTC", NY, KIRI):
        assert sellers.standard_windows(tz)[-1] == Window.month_so_far(tz)
        assert sellers.standard_windows(tz, TODAY)[-1] == Window.for_dates(dt.date(2026, 11, 1), TODAY, tz)
    first_day = Window.month_so_far(NY, dt.date(2026, 3, 1))
    assert first_day.local_dates() == (dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    # compared, as every period, with the same number of days just before it (README "Figures")
    assert Window.month_so_far(NY, TODAY).previous().local_dates() == (
        dt.date(2026, 10, 2),
        dt.date(2026, 10, 31),
    )


# -- the first order and the note -----------------------------------------------------------------

FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 14)  # previous period: 15 – 28 Feb 2026
WINDOW = Window.for_dates(FIRST, LAST, NY)


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def note_shop() -> tuple[Shop, dict[str, int], dict[str, dt.datetime]]:
    shop = Shop()
    ids = {name: shop.account(name, NY) for name in ("partial", "boundary", "veteran", "fresh", "empty")}
    firsts = {
        # 23:30 on 20 Feb in New York is 21 Feb in UTC: the note's date is the local one. Cancelled:
        # the account's orders start there all the same
        "partial": at_local(dt.date(2026, 2, 20), 23, NY) + dt.timedelta(minutes=30),
        "boundary": at_local(dt.date(2026, 2, 15), 0, NY) + dt.timedelta(minutes=30),
        "veteran": at_local(dt.date(2025, 6, 1), 12, NY),
        "fresh": at_local(dt.date(2026, 3, 5), 12, NY),
    }
    for name, when in firsts.items():
        shop.order(ids[name], when, LINE, status="cancelled" if name == "partial" else "paid")
        shop.order(ids[name], at_local(dt.date(2026, 3, 10), 9, NY), LINE)
    return shop, ids, firsts


def test_the_first_order_is_the_accounts_earliest_of_any_status(db: Database, ctx: Context) -> None:
    shop, ids, firsts = note_shop()
    shop.load(db)
    for name, when in firsts.items():
        assert services.first_order_at(ctx, OPERATOR, ids[name]) == when
    assert services.first_order_at(ctx, OPERATOR, ids["empty"]) is None


def test_the_note_names_the_previous_period_and_the_first_orders_local_day(
    db: Database, ctx: Context
) -> None:
    shop, ids, _ = note_shop()
    shop.load(db)
    assert services.comparison_note(ctx, OPERATOR, ids["partial"], WINDOW) == (
        "The previous period (15 Feb 2026 – 28 Feb 2026) has orders only from 20 Feb 2026" + NOTE_END
    )
    assert services.comparison_note(ctx, OPERATOR, ids["fresh"], WINDOW) == (
        "The previous period (15 Feb 2026 – 28 Feb 2026) has no orders: the account's first was "
        "placed on 05 Mar 2026, in this period, so its changes compare with nothing."
    )


def test_no_note_when_the_previous_period_is_covered_or_there_is_nothing(db: Database, ctx: Context) -> None:
    """Negative controls: orders from the previous period's first day (or long before), an account
    without orders, and a window before the first order (both periods empty)."""
    shop, ids, _ = note_shop()
    shop.load(db)
    for name in ("boundary", "veteran", "empty"):
        assert services.comparison_note(ctx, OPERATOR, ids[name], WINDOW) is None, name
    earlier = Window.for_dates(dt.date(2026, 2, 1), dt.date(2026, 2, 14), NY)
    assert services.comparison_note(ctx, OPERATOR, ids["partial"], earlier) is None
    # the same account, a window whose previous period starts after its first order: no note
    later = Window.for_dates(dt.date(2026, 3, 15), dt.date(2026, 3, 28), NY)
    assert services.comparison_note(ctx, OPERATOR, ids["partial"], later) is None


def test_the_first_order_is_cached_in_the_account_namespace(db: Database, ctx: Context) -> None:
    shop, ids, firsts = note_shop()
    shop.load(db)
    account = ids["fresh"]
    note = services.comparison_note(ctx, OPERATOR, account, WINDOW)
    assert note is not None and note.startswith(
        "The previous period (15 Feb 2026 – 28 Feb 2026) has no orders"
    )
    before = shop.counts()
    older = at_local(dt.date(2026, 2, 22), 8, NY)
    shop.order(account, older, LINE)
    shop.load(db, since=before)  # written behind the service's back: the cached value stays
    assert services.first_order_at(ctx, OPERATOR, account) == firsts["fresh"]
    ctx.cache.invalidate(namespaces.account(account))  # what an import does
    assert services.first_order_at(ctx, OPERATOR, account) == older
    assert services.comparison_note(ctx, OPERATOR, account, WINDOW) == (
        "The previous period (15 Feb 2026 – 28 Feb 2026) has orders only from 22 Feb 2026" + NOTE_END
    )


# -- the pages ------------------------------------------------------------------------------------


def page_shop() -> tuple[Shop, dict[str, int], dt.date]:
    """Alder has sold for over a year; Birch (New York) since 40 days ago; Cedar (Pago Pago) and
    Dune (Kiritimati) have no orders."""
    shop = Shop()
    alder, birch = shop.account("Alder", "UTC"), shop.account("Birch", NY)
    cedar, dune = shop.account("Cedar", PAGO), shop.account("Dune", KIRI)
    today = local_today("UTC")
    shop.order(alder, at_local(today - dt.timedelta(days=400), 12, "UTC"), LINE)
    shop.order(alder, at_local(today - dt.timedelta(days=2), 12, "UTC"), LINE)
    birch_first = local_today(NY) - dt.timedelta(days=40)
    shop.order(birch, at_local(birch_first, 12, NY), LINE)
    shop.order(birch, at_local(local_today(NY) - dt.timedelta(days=2), 12, NY), LINE)
    return shop, {"alder": alder, "birch": birch, "cedar": cedar, "dune": dune}, birch_first


@pytest.fixture
def shop_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict[str, int], dt.date]]:
    shop, ids, birch_first = page_shop()
    for _ in shop.serve(tmp_path / "periods.sqlite3", monkeypatch):
        yield ids, birch_first


def session(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def params_of(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def link_warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning if "could not be followed" in w.value)


def test_the_sidebar_offers_this_month_as_refresh_ahead_builds_it(
    shop_env: tuple[dict[str, int], dt.date],
) -> None:
    ids, _ = shop_env
    at = session({"account": str(ids["birch"])})
    at.sidebar.selectbox(key="period").set_value("This month").run()
    assert not at.exception and not at.error
    assert params_of(at) == {"account": str(ids["birch"]), "period": "month"}
    window = at.session_state["_selection"].window
    assert window == sellers.standard_windows(NY)[-1]
    first, last = window.local_dates()
    before = window.previous().local_dates()
    assert first == local_today(NY).replace(day=1) and last == local_today(NY)
    assert f"This month: {day(first)} – {day(last)}" in captions(at)
    assert (
        f"Changes compare with the same number of days just before this month ({day(before[0])} – "
        f"{day(before[1])}), not with the same days of last month."
    ) in captions(at)
    # the link opens it again in a new session
    again = session(params_of(at))
    assert again.sidebar.selectbox(key="period").value == "This month" and not again.warning
    assert again.session_state["_selection"].window == window


def test_a_link_past_today_shows_its_range_up_to_the_accounts_today(
    shop_env: tuple[dict[str, int], dt.date],
) -> None:
    """Pago Pago's today is the server's (UTC) yesterday in the UTC morning, Kiritimati's the
    server's tomorrow from 10:00 UTC: one of the two cuts differs from a cut at the server's date."""
    ids, _ = shop_env
    for name, tz in (("cedar", PAGO), ("dune", KIRI)):
        today = local_today(tz)
        start, end = today - dt.timedelta(days=10), today + dt.timedelta(days=10)
        at = session({"account": str(ids[name]), "period": "custom", "from": str(start), "to": str(end)})
        assert not at.exception and not at.error
        assert at.sidebar.selectbox(key="period").value == "Custom range"
        assert at.sidebar.date_input(key="custom_dates").value == (start, today)
        assert link_warnings(at) == (
            f"This link could not be followed fully: the link's range {start} to {end} ends after today: "
            f"shown up to today, {today}."
        )
        assert f"Custom range: {day(start)} – {day(today)}" in captions(at)
        assert params_of(at) == {
            "account": str(ids[name]),
            "period": "custom",
            "from": str(start),
            "to": str(today),
        }


def test_a_link_entirely_after_today_is_still_refused(shop_env: tuple[dict[str, int], dt.date]) -> None:
    ids, _ = shop_env
    today = local_today(NY)
    start, end = today + dt.timedelta(days=1), today + dt.timedelta(days=5)
    at = session({"account": str(ids["birch"]), "period": "custom", "from": str(start), "to": str(end)})
    assert not at.exception
    assert link_warnings(at) == (
        f"This link could not be followed fully: the link's dates must run forward, from 2000, and start "
        f"by today, {today}."
    )
    assert at.sidebar.selectbox(key="period").value == "Last 30 days"


def test_the_overview_says_when_the_previous_period_has_orders_only_from_the_first(
    shop_env: tuple[dict[str, int], dt.date],
) -> None:
    ids, birch_first = shop_env
    at = session({"account": str(ids["birch"]), "period": "30d"})
    assert not at.exception and not at.error
    before = Window.last_days(30, NY).previous().local_dates()
    assert before is not None and before[0] < birch_first <= before[1]
    assert (
        f"The previous period ({day(before[0])} – {day(before[1])}) has orders only from {day(birch_first)}"
        + NOTE_END
    ) in captions(at)
    assert (
        "Changes compare with the same number of days just before this period "
        f"({day(before[0])} – {day(before[1])})."
    ) in captions(at)


@pytest.mark.parametrize("name", ["alder", "cedar"])
def test_no_note_for_a_covered_previous_period_or_an_account_without_orders(
    shop_env: tuple[dict[str, int], dt.date], name: str
) -> None:
    """Negative controls: Alder's orders go back over a year; Cedar has none."""
    ids, _ = shop_env
    at = session({"account": str(ids[name]), "period": "30d"})
    assert not at.exception and not at.error
    assert not [c for c in captions(at) if c.startswith("The previous period")]
    assert any(c.startswith("Changes compare with the same number of days") for c in captions(at))
