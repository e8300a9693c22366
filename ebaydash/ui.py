"""The only package module that imports streamlit: process singletons, shared widgets, formatting.

Pages call :func:`context` for the process objects, :func:`selection` for the sidebar's account and
date range, and wrap their body in :func:`guard` so an :class:`~ebaydash.errors.EbaydashError` is
shown as a message, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

import pandas as pd
import streamlit as st

from ebaydash import exposition, links, services
from ebaydash.context import Context, build_context
from ebaydash.errors import (
    ConfigError,
    DatabaseError,
    DatabaseUnavailable,
    DatabaseUnresponsive,
    DiskFull,
    EbaydashError,
    InvalidCursor,
    LoginRefused,
    PermissionDenied,
    QueryCancelled,
    QueryTimeout,
    ReadOnlyDatabase,
    SchemaError,
)
from ebaydash.models import Account, Kpi, MoneyKpi, Window
from ebaydash.monitor.metrics import Snapshot
from ebaydash.monitor.scaling import Decision, fmt
from ebaydash.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

PERIODS: dict[str, int | None] = {
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "Last 12 months": 365,
    "Custom range": None,
}
CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "AUD": "A$", "CAD": "C$"}


# -- process singletons -------------------------------------------------------------------------


# on_release: clearing the cache (tests, the bench) stops the sampler and metrics threads too
@st.cache_resource(show_spinner=False, on_release=Context.close)
def _context() -> Context:
    ctx = build_context(Settings.from_env(os.environ))
    exposition.attach(ctx, live_sessions=_live_sessions)  # /metrics when EBAYDASH_METRICS_PORT is set
    return ctx


def _live_sessions() -> int | None:
    """Browser sessions connected to this process (Streamlit has no public API for the count)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    return int(Runtime.instance()._session_mgr.num_active_sessions())


def start_process() -> None:
    """Build this process's context before the first browser session (``python -m
    ebaydash.serve``): a replica then serves /metrics and reports its liveness and resources to the
    other replicas from its start, not from its first visitor on."""
    _context()


def serve(args: list[str]) -> None:
    """``streamlit run ARGS`` in this process, after :func:`start_process` (``ebaydash.serve``)."""
    from streamlit.web import cli as streamlit_cli

    start_process()
    streamlit_cli.main(["run", *args], prog_name="streamlit", standalone_mode=False)


def _ensure_entered_through_app() -> None:
    """Rerun through app.py when Streamlit ran a page file on its own.

    Our page files live in ``pages/``. Until ``st.navigation`` has run once in the process,
    Streamlit assumes the old folder-based multipage mode, so a server whose very first request is
    a deep link (``/orders``) executes ``pages/orders.py`` directly: no sidebar, no navigation,
    nothing measured. ``st.navigation`` clears that flag; when a page finds it still set, this run
    skipped app.py, so clear it ourselves and rerun the same page through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def context() -> Context:
    """The process-wide context; a configuration error, or a database that cannot be used (its
    schema cannot be made current, it cannot be reached), stops the page with its message. The
    context is not cached then, so the next run tries again: the app recovers by itself."""
    _ensure_entered_through_app()
    try:
        return _context()
    except (ConfigError, DatabaseError) as exc:
        _stop_with(exc)


# The banner's heading per kind of error (the most specific class wins); the message under it
# names the cause and the fix.
BANNER_TITLES: tuple[tuple[type[EbaydashError], str], ...] = (
    (ConfigError, "Configuration problem"),
    (DatabaseUnresponsive, "The database is not answering"),
    (DatabaseUnavailable, "The database cannot be reached"),
    (LoginRefused, "The database refused the login"),
    (QueryTimeout, "Query stopped at its time limit"),
    (QueryCancelled, "Query cancelled by the database"),
    (SchemaError, "The database schema needs attention"),
    (PermissionDenied, "Permission denied by the database"),
    (ReadOnlyDatabase, "The database is read-only"),
    (DiskFull, "The database's disk is full"),
)


def banner_text(exc: EbaydashError) -> str:
    """The error banner's text: a heading naming the kind of problem, then the message."""
    for kind, title in BANNER_TITLES:
        if isinstance(exc, kind):
            return f"**{title}.** {exc}"
    return str(exc)


def error_banner(exc: EbaydashError) -> None:
    st.error(banner_text(exc), icon="⚠️")


def _stop_with(exc: EbaydashError) -> NoReturn:
    error_banner(exc)
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; this keeps type checkers honest


def _stop(message: str) -> NoReturn:
    st.error(message, icon="⚠️")
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; this keeps type checkers honest


@contextmanager
def guard() -> Iterator[None]:
    """Show errors as friendly messages. Expected ones say what to do; unexpected ones are logged.
    A database that cannot be reached or whose schema is wrong stops the page (nothing on it can
    work); other errors (a slow query, a refused write) leave the rest of the page standing."""
    try:
        yield
    except (DatabaseUnavailable, SchemaError, LoginRefused) as exc:
        _stop_with(exc)
    except EbaydashError as exc:
        error_banner(exc)
    except Exception:
        log.exception("unexpected error while rendering a page")
        st.error(
            "Something went wrong while preparing this view. It has been logged; "
            "please refresh, and tell us if it keeps happening.",
            icon="⚠️",
        )


# -- sidebar selection --------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    account: Account
    window: Window
    period_label: str
    fresh: bool


def sidebar() -> Selection | None:
    """Draw the shared account and date pickers and the refresh button (from app.py, on every run,
    so the choice survives page switches). ``None`` when there is nothing to select."""
    ctx = context()
    with st.sidebar:
        try:
            all_accounts = services.accounts(ctx)
        except DatabaseError as exc:
            error_banner(exc)
            return None
        if not all_accounts:
            st.info("No accounts yet. Run `make run` to load the demo, or import your orders.")
            return None
        by_id = {a.id: a for a in all_accounts}
        _view_from_link(by_id)  # a new session (reload, shared link, failover) opens the URL's view
        # another page (the import) may ask for an account to be shown next
        wanted = st.session_state.pop("select_account_id", None)
        if wanted in by_id:
            st.session_state["account_id"] = wanted
        if st.session_state.get("account_id") not in by_id:
            st.session_state["account_id"] = services.default_account(all_accounts).id
        account_id = st.selectbox(
            "Account", options=list(by_id), format_func=lambda i: by_id[i].name, key="account_id"
        )
        account = by_id[account_id]
        label = st.selectbox("Period", options=list(PERIODS), index=1, key="period")
        days = PERIODS[label]
        picked: Any = None
        if days is None:
            today = dt.datetime.now(dt.UTC).date()
            picked = st.date_input(
                "Dates",
                value=st.session_state.get("custom_dates", (today - dt.timedelta(days=29), today)),
                max_value=today + dt.timedelta(days=1),
                key="custom_dates",
            )
            if not isinstance(picked, tuple) or len(picked) != 2:
                st.caption("Pick a start and an end date.")
                window = Window.last_days(30, account.timezone)
            else:
                window = Window.for_dates(picked[0], picked[1], account.timezone)
        else:
            window = Window.last_days(days, account.timezone)
        dates = picked if isinstance(picked, tuple) and len(picked) == 2 else None
        _write_link(links.sidebar_params(account.id, label, dates), keep=links.ORDERS_PARAMS)
        fresh = st.button("↻ Refresh data", help="Read everything again from the database.")
        st.caption(f"Times in {account.timezone}")
        if ctx.settings.replica_name:
            st.caption(f"Replica {ctx.settings.replica_name}")
        if ctx.cache.degraded:
            st.warning(
                "Cache degraded: the shared cache is not answering, figures come straight from the database.",
                icon="🐢",
            )
    return Selection(account=account, window=window, period_label=label, fresh=fresh)


# -- the view in the URL ------------------------------------------------------------------------


def _view_from_link(by_id: dict[int, Account]) -> None:
    """On a session's first run, take account and period from the URL (validated; what is wrong
    is said and dropped)."""
    if st.session_state.get("_link_read"):
        return
    st.session_state["_link_read"] = True
    view, problems = links.parse_sidebar(st.query_params.to_dict())
    if view.account_id is not None:
        if view.account_id in by_id:
            st.session_state["account_id"] = view.account_id
        else:
            problems.append(f"the link's account {view.account_id} does not exist (or is not yours)")
    if view.period is not None:
        st.session_state["period"] = view.period
    if view.dates is not None:
        st.session_state["custom_dates"] = view.dates
    if problems:
        st.warning("This link could not be followed fully: " + "; ".join(problems) + ".", icon="🔗")


def _write_link(params: dict[str, str], *, keep: tuple[str, ...] = ()) -> None:
    """Make the URL say ``params`` (plus the ``keep`` ones already there); no-op when it does."""
    current = st.query_params.to_dict()
    wanted = {**{k: v for k, v in current.items() if k in keep}, **params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def orders_view_from_link() -> None:
    """On the orders page's first run in a session, fill its widgets from the URL."""
    if st.session_state.get("_orders_link_read"):
        return
    st.session_state["_orders_link_read"] = True
    view, problems = links.parse_orders(st.query_params.to_dict())
    for key, value in (
        ("orders_status", list(view.statuses) if view.statuses is not None else None),
        ("orders_search", view.search),
        ("orders_buyer", view.buyer),
        ("orders_dates", view.dates),
        ("orders_custom_dates", view.custom),
        ("orders_sort", view.sort),
        ("orders_page_size", view.page_size),
    ):
        if value is not None:
            st.session_state[key] = value
    st.session_state["_orders_linked_cursor"] = view.cursor
    if problems:
        st.warning("This link could not be followed fully: " + "; ".join(problems) + ".", icon="🔗")


def linked_cursor() -> str | None:
    """The page cursor the URL brought into this session, once (then the page's own buttons)."""
    cursor: str | None = st.session_state.pop("_orders_linked_cursor", None)
    st.session_state["_orders_cursor_from_link"] = cursor
    return cursor


def orders_view_to_link(
    *,
    statuses: list[str],
    search: str,
    buyer: str,
    dates: str,
    custom: Any,
    sort: str,
    page_size: int,
    cursor: str | None,
) -> None:
    """Make the URL say the orders page's current filters, sort and page."""
    view = links.OrdersView(
        statuses=tuple(statuses),
        search=search,
        buyer=buyer,
        dates=dates,
        custom=custom if isinstance(custom, tuple) and len(custom) == 2 else None,
        sort=sort,
        page_size=page_size,
        cursor=cursor,
    )
    _write_link(links.orders_params(view), keep=links.SIDEBAR_PARAMS)


def first_page_if_stale(read: Callable[[str | None], T], cursor: str | None) -> T:
    """``read(cursor)``; when a cursor that came from the URL no longer fits the listing, say so
    and read the first page instead (other invalid cursors raise, as before)."""
    try:
        return read(cursor)
    except InvalidCursor as exc:
        if cursor is None or cursor != st.session_state.get("_orders_cursor_from_link"):
            raise
        st.warning(str(exc), icon="🔗")
        st.session_state["orders_cursor"] = None
        return read(None)


def selection() -> Selection:
    """The sidebar's choice for this run; stops the page when there is none."""
    _ensure_entered_through_app()
    chosen = st.session_state.get("_selection")
    if not isinstance(chosen, Selection):
        _stop("Choose an account in the sidebar.")
    return chosen


# After a WebSocket reconnect the browser may be talking to a *new* session (its replica died, or
# a reload of the balancer sent it elsewhere), and Streamlit's frontend does not rerun by itself
# then: the tab would keep showing the dead session's page. This watches the app's WebSocket and,
# when a new one opens, asks for a rerun, which the new session answers from the URL.
_RECONNECT_JS = """
export default function (component) {
  const w = window;
  w.__ebaydashRerun = () => component.setTriggerValue("reconnected", Date.now());
  if (w.__ebaydashWatchingSockets) return;
  w.__ebaydashWatchingSockets = true;
  const Native = w.WebSocket;
  function Watched(url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    if (String(url).includes("/_stcore/stream")) {
      socket.addEventListener("open", () => setTimeout(() => w.__ebaydashRerun(), 250));
    }
    return socket;
  }
  Watched.prototype = Native.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Watched[name] = Native[name];
  w.WebSocket = Watched;
}
"""


@st.cache_resource(show_spinner=False)
def _reconnect_component() -> Any:
    return st.components.v2.component("ebaydash_reconnect", js=_RECONNECT_JS, isolate_styles=False)


def _watch_reconnects() -> None:
    _reconnect_component()(key="ebaydash_reconnect", on_reconnected_change=lambda: None, height=0)


def run_page(page: Any) -> None:
    """Run the navigation's page, measure it, and keep the sidebar's choice for it to read."""
    ctx = context()
    started = time.perf_counter()
    ok = False
    try:
        _watch_reconnects()
        with guard():
            st.session_state["_selection"] = sidebar()
        page.run()
        ok = True
    finally:
        # the default page's url_path is "": name it by its title instead
        name = str(getattr(page, "url_path", "") or getattr(page, "title", "page")).lower()
        ctx.recorder.record("page", name, time.perf_counter() - started, ok=ok)


# -- formatting ---------------------------------------------------------------------------------


def money(amount: Decimal | int | float, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency)
    value = Decimal(amount)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def delta(kpi: Kpi, *, currency: str | None = None) -> str | None:
    """The tile's change line: absolute change and percentage against the previous window."""
    change = kpi.change
    if change == 0 and not kpi.previous:
        return None
    absolute = money(change, currency) if currency else f"{change:,}"
    if not str(absolute).startswith("-"):
        absolute = "+" + absolute
    pct = kpi.change_pct
    return f"{absolute} ({pct:+.1%})" if pct is not None else f"{absolute} (new)"


def money_or_unknown(kpi: MoneyKpi, currency: str, *, percent: bool = False) -> str:
    """A profit tile's value: the amount (or percentage), or why it is unknown — never 0."""
    if kpi.current is None:
        return "unknown"
    return f"{kpi.current:,.2f} %" if percent else money(kpi.current, currency)


def money_delta(kpi: MoneyKpi, *, currency: str | None = None) -> str | None:
    """A profit tile's change line; none when either window is unknown."""
    change = kpi.change
    if change is None or kpi.previous is None:
        return None
    if change == 0 and not kpi.previous:
        return None
    absolute = money(change, currency) if currency else f"{change:+,.2f} pp"
    if currency and not absolute.startswith("-"):
        absolute = "+" + absolute
    if not currency or not kpi.previous:
        return absolute
    return f"{absolute} ({float(change / abs(kpi.previous)):+.1%})"


def as_of(moment: dt.datetime, tz: str) -> None:
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(tz))
    st.caption(f"Data as of {local:%Y-%m-%d %H:%M:%S %Z}")


def window_caption(window: Window, tz: str) -> str:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    first = window.start.astimezone(zone).date()
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    return f"{first:%d %b %Y} – {last:%d %b %Y}"


def local_time(moment: dt.datetime, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``moment`` on the account's clock: sellers think in their own zone, the database in UTC."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(tz)).strftime(fmt)


# -- monitor pages ------------------------------------------------------------------------------

WINDOW_LABELS: dict[int, str] = {window: f"{window // 60} min" for window in services.WINDOWS_S}
KIND_LABELS: dict[str, str] = {
    "page": "Page runs",
    "service": "Service calls",
    "query": "Named queries",
    "sql": "SQL statements",
}
VERDICTS: dict[str, str] = {
    "up": "⬆ scale up",
    "down": "⬇ low",
    "idle": "⬇ idle",
    "within": "✓ within limits",
    "tolerance": "≈ within tolerance",
    "missing": "? missing",
    "stale": "⌛ stale",
}

_STATUS = {
    "ok": ("OK", "green"),
    "degraded": ("Degraded", "orange"),
    "down": ("Down", "red"),
    "off": ("Off", "gray"),
}


def health_badges(checks: list[services.HealthCheck]) -> None:
    """One line per check: a coloured status badge, the name and the detail."""
    for check in checks:
        label, color = _STATUS[check.status]
        badge, text = st.columns([1, 8], vertical_alignment="center")
        badge.badge(label, color=color)  # type: ignore[arg-type]
        text.markdown(f"**{check.name}** — {check.detail}")


def ms(value: float | None) -> str:
    """A duration in milliseconds for a tile; a dash when there is none."""
    if value is None or value != value:  # NaN: nothing recorded
        return "—"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def percent(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


def clock_time(epoch_s: float) -> str:
    """A moment as UTC wall-clock time for logs and tables."""
    return f"{dt.datetime.fromtimestamp(epoch_s, dt.UTC):%H:%M:%S} UTC"


def actions_table(actions: list[Any]) -> Any:
    """The scaling actions as rows for ``st.dataframe``."""
    return [
        {
            "When": f"{dt.datetime.fromtimestamp(a.at, dt.UTC):%Y-%m-%d %H:%M:%S} UTC",
            "Action": a.action.replace("_", " "),
            "Replicas": f"{a.from_replicas} → {a.to_replicas}",
            "Rule": a.rule.replace("_", " "),
            "Reason": a.reason,
            "By": a.actor,
        }
        for a in actions
    ]


def _rounded_ms(value: float) -> float | None:
    """Milliseconds for a table cell: three decimals, empty when nothing was measured (NaN)."""
    return None if math.isnan(value) else round(value, 3)


def latency_table(snap: Snapshot) -> pd.DataFrame:
    """One row per kind of event: count, rate, percentiles, mean, worst and errors."""
    rows = []
    for kind, label in KIND_LABELS.items():
        s = snap.summary(kind)
        rows.append(
            {
                "What": label,
                "Count": s.count,
                "Per minute": round(s.per_minute, 1),
                "p50 ms": _rounded_ms(s.p50_ms),
                "p95 ms": _rounded_ms(s.p95_ms),
                "p99 ms": _rounded_ms(s.p99_ms),
                "Mean ms": _rounded_ms(s.mean_ms),
                "Worst ms": _rounded_ms(s.max_ms),
                "Errors": s.errors,
            }
        )
    return pd.DataFrame(rows)


def named_table(snap: Snapshot, kind: str) -> pd.DataFrame:
    """One row per name of ``kind`` (e.g. every named query), the busiest first."""
    rows = [
        {
            "Name": name,
            "Count": s.count,
            "p50 ms": _rounded_ms(s.p50_ms),
            "p95 ms": _rounded_ms(s.p95_ms),
            "Mean ms": _rounded_ms(s.mean_ms),
            "Worst ms": _rounded_ms(s.max_ms),
            "Rows per call": round(s.rows / s.count, 1) if s.count else 0.0,
            "Errors": s.errors,
        }
        for (k, name), s in snap.series.items()
        if k == kind
    ]
    columns = ["Name", "Count", "p50 ms", "p95 ms", "Mean ms", "Worst ms", "Rows per call", "Errors"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["Count", "Name"], ascending=[False, True], ignore_index=True)


def slow_table(snap: Snapshot) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Statement": q.shape,
                "Count": q.count,
                "Mean ms": _rounded_ms(q.mean_ms),
                "Worst ms": _rounded_ms(q.worst_ms),
            }
            for q in snap.slow_queries
        ],
        columns=["Statement", "Count", "Mean ms", "Worst ms"],
    )


def replicas_table(samples: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The latest resource sample of each replica, one row each."""
    return pd.DataFrame(
        [
            {
                "Replica": name,
                "Memory MiB": round(s["process_rss_bytes"] / 2**20, 1),
                "CPU %": round(s["process_cpu_percent"], 1),
                "Threads": s["process_threads"],
                "System memory %": round(s["system_memory_percent"], 1),
                "Seen": pd.Timestamp(s["at"], unit="s", tz="UTC"),
            }
            for name, s in sorted(samples.items())
        ]
    )


def rules_table(decision: Decision) -> pd.DataFrame:
    """Every rule of a scaling decision: what was observed, its limits and its verdict."""
    return pd.DataFrame(
        [
            {
                "Metric": r.label,
                "Observed": "—" if r.observed is None else fmt(r.observed, r.unit),
                "Scale up above": fmt(r.up_threshold, r.unit),
                "Scale down below": fmt(r.down_threshold, r.unit),
                "Verdict": VERDICTS[r.verdict],
                "Asks for": "—" if r.desired is None else str(r.desired),
                "Why": r.note,
            }
            for r in decision.rules
        ]
    )
