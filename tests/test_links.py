"""The view in the URL: every parameter parsed, validated and written back; bad ones dropped with
a sentence, never trusted."""

from __future__ import annotations

import datetime as dt

import pytest

from ebaydash import links


def test_sidebar_round_trip() -> None:
    params = links.sidebar_params(7, "Custom range", (dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    assert params == {"account": "7", "period": "custom", "from": "2026-01-01", "to": "2026-01-31"}
    view, problems = links.parse_sidebar(params)
    assert problems == []
    assert view == links.SidebarView(7, "Custom range", (dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    assert links.sidebar_params(3, "Last 90 days", None) == {"account": "3", "period": "90d"}


@pytest.mark.parametrize(
    ("params", "expected", "problem"),
    [
        ({"account": "abc"}, links.SidebarView(), "account"),
        ({"account": "-1"}, links.SidebarView(), "account"),
        ({"account": "9" * 30}, links.SidebarView(), "account"),
        ({"period": "forever"}, links.SidebarView(), "period"),
        ({"period": "custom", "from": "2026-02-30", "to": "2026-03-01"}, links.SidebarView(), "dates"),
        ({"period": "custom", "from": "2026-03-01", "to": "2026-02-01"}, links.SidebarView(), "forward"),
        ({"period": "custom", "from": "1900-01-01", "to": "2026-02-01"}, links.SidebarView(), "forward"),
    ],
)
def test_bad_sidebar_values_are_dropped_with_a_reason(
    params: dict[str, str], expected: links.SidebarView, problem: str
) -> None:
    view, problems = links.parse_sidebar(params)
    assert view == expected
    assert len(problems) == 1 and problem in problems[0]


def test_orders_round_trip_and_defaults_stay_out_of_the_link() -> None:
    view = links.OrdersView(
        statuses=("paid", "shipped"),
        search="lamp",
        buyer="bob",
        dates="Custom",
        custom=(dt.date(2026, 5, 1), dt.date(2026, 5, 7)),
        sort="amount_high",
        page_size=50,
        cursor="abc-_123",
    )
    params = links.orders_params(view)
    parsed, problems = links.parse_orders(params)
    assert problems == [] and parsed == view
    assert (
        links.orders_params(
            links.OrdersView(statuses=(), dates="Sidebar period", sort="newest", page_size=25)
        )
        == {}
    )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"status": "paid,stolen"}, "unknown order statuses"),
        ({"q": "x" * 201}, "search"),
        ({"buyer": "x" * 129}, "buyer"),
        ({"dates": "someday"}, "dates"),
        ({"sort": "DROP TABLE"}, "sort"),
        ({"per": "1000"}, "page size"),
        ({"cursor": "a'b"}, "page"),
    ],
)
def test_bad_orders_values_are_dropped_with_a_reason(params: dict[str, str], problem: str) -> None:
    view, problems = links.parse_orders(params)
    assert len(problems) == 1 and problem in problems[0]
    assert view.search is None and view.buyer is None and view.sort is None and view.cursor is None
    if "status" in params:
        assert view.statuses == ("paid",)  # the known ones are kept
