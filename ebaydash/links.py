"""The view in the URL: account, period, the orders page's filters, sort and page.

A Streamlit session lives in one replica's memory; when that replica dies, a reload happens or
a link is shared, a new session starts with nothing but the URL. So what a view needs is written
to the query string on every run and read back, validated like any input, when a session starts.

Parameters (all optional; an invalid one is dropped with a message, never trusted):

=============  ===================================================================================
``account``    account id
``period``     ``7d``, ``30d``, ``90d``, ``12m``, ``month`` (this month so far) or ``custom`` (then
               ``from`` and ``to``: ISO dates; a range running past today is cut to end today)
``status``     orders page: comma-separated order statuses
``q``          orders page: search text (at most 200 characters)
``buyer``      orders page: part of the buyer's username (at most 128 characters)
``dates``      orders page: ``period`` (the sidebar's), ``all`` or ``custom`` (``dfrom``, ``dto``)
``sort``       orders page: one of the sort keys of ``services.SORT_LABELS``
``per``        orders page: rows per page, one of ``services.PAGE_SIZES``
``cursor``     orders page: the opaque page cursor (checked again when the page is read)
=============  ===================================================================================

No streamlit here: ``ui`` moves these values between ``st.query_params`` and the widgets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from ebaydash.services import ORDER_STATUSES, PAGE_SIZES, SORT_LABELS

# the sidebar's period labels (ui.PERIODS) by their URL slug
PERIOD_SLUGS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "12m": "Last 12 months",
    "month": "This month",
    "custom": "Custom range",
}
ORDERS_DATES: dict[str, str] = {"period": "Sidebar period", "all": "All time", "custom": "Custom"}
MAX_SEARCH = 200
MAX_BUYER = 128
MAX_CURSOR = 512
SIDEBAR_PARAMS = ("account", "period", "from", "to")
ORDERS_PARAMS = ("status", "q", "buyer", "dates", "dfrom", "dto", "sort", "per", "cursor")
EARLIEST = dt.date(2000, 1, 1)


@dataclass(frozen=True)
class SidebarView:
    account_id: int | None = None
    period: str | None = None  # a label of PERIOD_SLUGS
    dates: tuple[dt.date, dt.date] | None = None


@dataclass(frozen=True)
class OrdersView:
    statuses: tuple[str, ...] | None = None
    search: str | None = None
    buyer: str | None = None
    dates: str | None = None  # a label of ORDERS_DATES
    custom: tuple[dt.date, dt.date] | None = None
    sort: str | None = None
    page_size: int | None = None
    cursor: str | None = None


def _date_range(
    params: Mapping[str, str], first: str, last: str, problems: list[str], *, today: dt.date | None = None
) -> tuple[dt.date, dt.date] | None:
    """The ``first``..``last`` dates of ``params``, or ``None`` (with the reason in ``problems``).

    With ``today``, a range that starts by then and ends later is cut to end ``today`` (said in
    ``problems``), and one starting later is refused. Without it (no zone to tell today by), any
    range up to tomorrow is taken: tomorrow has begun somewhere.
    """
    raw = (params.get(first), params.get(last))
    if raw == (None, None):
        return None
    try:
        start, end = (dt.date.fromisoformat(str(v)) for v in raw)
    except (TypeError, ValueError):
        problems.append(f"the link's dates ({first}, {last}) are not dates like 2026-09-30")
        return None
    if today is None:
        latest = dt.date.today() + dt.timedelta(days=1)
        if not EARLIEST <= start <= end <= latest:
            problems.append(f"the link's dates must run forward, from {EARLIEST:%Y} up to tomorrow")
            return None
        return start, end
    if not EARLIEST <= start <= min(end, today):
        problems.append(f"the link's dates must run forward, from {EARLIEST:%Y}, and start by today, {today}")
        return None
    if end > today:
        # a shared "until the end of the month" link is still worth its days so far
        problems.append(f"the link's range {start} to {end} ends after today: shown up to today, {today}")
        return start, today
    return start, end


def linked_account(params: Mapping[str, str]) -> int | None:
    """The account number a URL names, when it is one (not yet checked to exist)."""
    raw = params.get("account")
    if raw is not None and raw.isdigit() and 0 < int(raw) < 2**63:
        return int(raw)
    return None


def parse_sidebar(
    params: Mapping[str, str], *, today: dt.date | None = None
) -> tuple[SidebarView, list[str]]:
    """The account and period a URL asks for, and what was wrong with it (plain sentences).

    ``today``: the local date of the account shown (``models.local_today``); a custom range
    that starts by then and ends later is cut to end then, with a sentence saying so, and one
    starting after it is refused. Without it, ranges up to tomorrow are taken as they are.
    """
    problems: list[str] = []
    account_id = linked_account(params)
    raw = params.get("account")
    if raw is not None and account_id is None:
        problems.append(f"the link's account {raw[:40]!r} is not an account number")
    period = None
    slug = params.get("period")
    if slug is not None:
        period = PERIOD_SLUGS.get(slug)
        if period is None:
            problems.append(f"the link's period {slug[:20]!r} is not one of {', '.join(PERIOD_SLUGS)}")
    dates = _date_range(params, "from", "to", problems, today=today) if period == "Custom range" else None
    if period == "Custom range" and dates is None:
        period = None
    return SidebarView(account_id, period, dates), problems


def sidebar_params(account_id: int, period: str, dates: tuple[dt.date, dt.date] | None) -> dict[str, str]:
    slug = next((s for s, label in PERIOD_SLUGS.items() if label == period), "30d")
    out = {"account": str(account_id), "period": slug}
    if slug == "custom" and dates is not None:
        out["from"], out["to"] = dates[0].isoformat(), dates[1].isoformat()
    return out


def parse_orders(params: Mapping[str, str]) -> tuple[OrdersView, list[str]]:
    """The orders view a URL asks for, and what was wrong with it."""
    problems: list[str] = []
    statuses = None
    if "status" in params:
        wanted = tuple(s for s in params["status"].split(",") if s)
        unknown = [s for s in wanted if s not in ORDER_STATUSES]
        if unknown:
            problems.append(f"the link names unknown order statuses ({', '.join(unknown)[:80]})")
        statuses = tuple(s for s in ORDER_STATUSES if s in wanted)
    search = params.get("q")
    if search is not None and len(search) > MAX_SEARCH:
        problems.append(f"the link's search is longer than {MAX_SEARCH} characters")
        search = None
    buyer = params.get("buyer")
    if buyer is not None and len(buyer) > MAX_BUYER:
        problems.append(f"the link's buyer is longer than {MAX_BUYER} characters")
        buyer = None
    dates = None
    if "dates" in params:
        dates = ORDERS_DATES.get(params["dates"])
        if dates is None:
            problems.append(f"the link's dates choice is not one of {', '.join(ORDERS_DATES)}")
    custom = _date_range(params, "dfrom", "dto", problems) if dates == "Custom" else None
    if dates == "Custom" and custom is None:
        dates = None
    sort = params.get("sort")
    if sort is not None and sort not in SORT_LABELS:
        problems.append(f"the link's sort is not one of {', '.join(SORT_LABELS)}")
        sort = None
    page_size = None
    if "per" in params:
        raw = params["per"]
        if raw.isdigit() and int(raw) in PAGE_SIZES:
            page_size = int(raw)
        else:
            problems.append(f"the link's page size is not one of {', '.join(map(str, PAGE_SIZES))}")
    cursor = params.get("cursor")
    if cursor is not None and (len(cursor) > MAX_CURSOR or not all(c.isalnum() or c in "-_" for c in cursor)):
        problems.append("the link's page is not a page of this listing; showing the first page")
        cursor = None
    return OrdersView(statuses, search, buyer, dates, custom, sort, page_size, cursor), problems


def orders_params(view: OrdersView) -> dict[str, str]:
    """The query parameters of ``view``; defaults are left out to keep links short."""
    out: dict[str, str] = {}
    if view.statuses:
        out["status"] = ",".join(view.statuses)
    if view.search:
        out["q"] = view.search
    if view.buyer:
        out["buyer"] = view.buyer
    slug = next((s for s, label in ORDERS_DATES.items() if label == view.dates), "period")
    if slug != "period":
        out["dates"] = slug
    if slug == "custom" and view.custom is not None:
        out["dfrom"], out["dto"] = view.custom[0].isoformat(), view.custom[1].isoformat()
    if view.sort and view.sort != next(iter(SORT_LABELS)):
        out["sort"] = view.sort
    if view.page_size and view.page_size != PAGE_SIZES[0]:
        out["per"] = str(view.page_size)
    if view.cursor:
        out["cursor"] = view.cursor
    return out
