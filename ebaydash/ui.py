"""The only package module that imports streamlit: process singletons, shared widgets, formatting.

Pages call :func:`context` for the process objects, :func:`selection` for the sidebar's account and
date range, and wrap their body in :func:`guard` so an :class:`~ebaydash.errors.EbaydashError` is
shown as a message, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import RerunException, StopException

from ebaydash import exposition, formatting, links, services
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
    NotAllowed,
    PermissionDenied,
    QueryCancelled,
    QueryTimeout,
    ReadOnlyDatabase,
    SchemaError,
)
from ebaydash.models import Account, MoneyKpi, Window, local_today
from ebaydash.monitor.metrics import Snapshot
from ebaydash.monitor.scaling import Decision, fmt
from ebaydash.plaintext import markdown_literal, spreadsheet_safe
from ebaydash.services.health import DatabaseOutage, database_outage, watch_database
from ebaydash.settings import Settings
from ebaydash.viewer import Viewer

log = logging.getLogger(__name__)
# st.rerun, st.switch_page and st.stop end a script run by raising these (not Exceptions)
_SCRIPT_CONTROL = (RerunException, StopException)
T = TypeVar("T")

PERIODS: dict[str, int | None] = {
    "Last 7 days": 7,
    "Last 30 days": 30,
    "Last 90 days": 90,
    "Last 12 months": 365,
    "This month": None,  # month to date: Window.month_so_far, as refresh-ahead builds it
    "Custom range": None,
}
THIS_MONTH = "This month"
DEFAULT_PERIOD = "Last 30 days"
NO_ACCOUNTS = "No accounts yet. Run `make run` to load the demo, or import your orders."
CURRENCY_SYMBOLS = formatting.CURRENCY_SYMBOLS


# -- process singletons -------------------------------------------------------------------------


# on_release: clearing the cache (tests, the bench) stops the sampler and metrics threads too
@st.cache_resource(show_spinner=False, on_release=Context.close)
def _context() -> Context:
    ctx = build_context(Settings.from_env(os.environ))
    exposition.attach(ctx, live_sessions=_live_sessions)  # /metrics when EBAYDASH_METRICS_PORT is set
    # before the first statement, so an outage met by any page (or the cache) is known to all
    watch_database(ctx)
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
    (NotAllowed, "Not allowed"),
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
    message = str(exc)
    for kind, title in BANNER_TITLES:
        if isinstance(exc, kind):
            # a message that opens with its heading's words says it once ("The database cannot be
            # reached right now (…)"), in bold
            if message.casefold().startswith(title.casefold()):
                return f"**{message[: len(title)]}**{message[len(title) :]}"
            return f"**{title}.** {message}"
    return message


def error_banner(exc: EbaydashError) -> None:
    st.error(banner_text(exc), icon="⚠️")


def cached_figures_text(outage: DatabaseOutage, as_of: dt.datetime, tz: str) -> str:
    """:func:`cached_figures_banner`'s text: the other pages' banner for the same error, then
    since when the database cannot be used (when known) and that the figures are the cache's."""
    moment = "%Y-%m-%d %H:%M:%S %Z"  # as the page's "Data as of" line
    since = ""
    if outage.since is not None:
        since = f"Unavailable since {formatting.epoch_time(outage.since, tz, moment)}. "
    return (
        f"{banner_text(outage.error)}\n\n{since}The figures below are from the cache, as of "
        f"{formatting.local_time(as_of, tz, moment)}: changes made after that are not in them."
    )


def cached_figures_banner(ctx: Context, as_of: dt.datetime, tz: str) -> None:
    """Over figures a page got although the database cannot be used (so from the cache): the
    banner the pages that need the database stop with, saying whose figures these are. Nothing
    while the database answers. Asks the database nothing (see :func:`database_outage`)."""
    outage = database_outage(ctx)
    if outage is not None:
        st.error(cached_figures_text(outage, as_of, tz), icon="⚠️")
        _rerun_when_database_answers(ctx)


#: while a page says the database cannot be reached, how often (seconds) it asks whether it answers
RECOVERY_CHECK_S = 5


def _rerun_when_database_answers(ctx: Context) -> None:
    """Under the banner of a database that cannot be reached: ask it every
    :data:`RECOVERY_CHECK_S` seconds whether it answers (its health check, a 2 s limit: a round trip
    only while the banner shows) and rerun the page once it does, so the page recovers by itself,
    without the viewer reloading it. A fragment: the rest of the page is not redrawn meanwhile."""
    asked = [False]

    @st.fragment(run_every=RECOVERY_CHECK_S)
    def watch() -> None:
        if not asked[0]:  # drawn with the banner: the page has just failed, nothing to ask yet
            asked[0] = True
            return
        if ctx.db.health().ok:
            st.rerun(scope="app")

    watch()


# Set by _stop_with for this script run: its st.stop() ends the run because of a failure.
_STOPPED_BY_FAILURE: ContextVar[bool] = ContextVar("ebaydash_stopped_by_failure", default=False)


def startup_problem() -> EbaydashError | None:
    """What keeps the app from starting (a setting, or a database that cannot be used), or None.
    Nothing is cached while there is one, so a later run tries again."""
    try:
        _context()
    except (ConfigError, DatabaseError) as exc:
        return exc
    return None


def show_startup_problem(problem: EbaydashError) -> NoReturn:
    """The app's only page while it cannot start: the problem and its fix. A navigation of its
    own, hidden, so Streamlit does not fall back to listing every file under pages/ (the admin
    pages among them) in the sidebar."""

    def ebaydash() -> None:
        _stop_with(problem)

    st.navigation([st.Page(ebaydash, title="ebaydash", default=True)], position="hidden").run()
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; this keeps type checkers honest


def _stop_with(exc: EbaydashError) -> NoReturn:
    error_banner(exc)
    if isinstance(exc, DatabaseUnavailable):
        # it comes back by itself (a restart, a network cut): so does the page
        with contextlib.suppress(EbaydashError):
            _rerun_when_database_answers(_context())
    _STOPPED_BY_FAILURE.set(True)
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


# -- sign-in ------------------------------------------------------------------------------------

_VIEWER_KEY = "_viewer"


def signed_in_viewer() -> Viewer | None:
    """Who is looking, for this run (app.py, before the navigation is built): the demo viewer with
    ``EBAYDASH_AUTH=none``; with ``oidc`` the signed-in person's grants read afresh from the
    database (a revocation counts from the next page view), or ``None`` before sign-in.

    The viewer comes from Streamlit's identity cookie (``st.user``, set by ``st.login`` after the
    provider vouched for the person) and the database, never from the URL or a widget."""
    ctx = context()
    if ctx.settings.auth == "none":
        current = Viewer.demo()
    else:
        if not _sign_in_configured():
            # st.user has no is_logged_in then: Streamlit's own error page, listing every page
            _stop_with(
                ConfigError(
                    "EBAYDASH_AUTH=oidc needs an [auth] section in .streamlit/secrets.toml: redirect_uri, "
                    "cookie_secret and the provider's client_id, client_secret and server_metadata_url "
                    "(README, Sign-in and roles)."
                )
            )
        if not st.user.is_logged_in:
            st.session_state.pop(_VIEWER_KEY, None)
            return None
        email = str(st.user.get("email") or "")
        try:
            if st.session_state.get("_signed_in_as") != email:
                current = services.sign_in(ctx, email)  # once per session: remembered and audited
                st.session_state["_signed_in_as"] = email
            else:
                current = services.viewer_for(ctx, email)
        except EbaydashError as exc:
            _stop_with(exc)
    st.session_state[_VIEWER_KEY] = current
    return current


def _sign_in_configured() -> bool:
    """Whether Streamlit has what st.login needs: an ``[auth]`` section among its secrets."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error type for that
        return False


def viewer() -> Viewer:
    """The viewer app.py found for this run (see :func:`signed_in_viewer`)."""
    _ensure_entered_through_app()
    current = st.session_state.get(_VIEWER_KEY)
    if not isinstance(current, Viewer):
        _stop("Sign in to see this page.")
    return current


def sign_in_page() -> None:
    """The only page before sign-in (``EBAYDASH_AUTH=oidc``)."""
    st.title("ebaydash")
    st.write("Sign in to see your shops' figures.")
    if st.button("Sign in", type="primary", icon=":material/login:", key="sign_in"):
        st.login()


def no_access_page() -> None:
    """The only page for a signed-in person without any grant."""
    email = str(st.user.get("email") or "")
    st.title("No access yet")
    st.info(
        f"You are signed in as {md(email)}, but no shop has been shared with you yet. "
        "Ask an admin of this dashboard to grant you access; then reload this page.",
        icon=":material/lock:",
    )
    if st.button("Sign out", key="sign_out_no_access"):
        sign_out()


def access_removed_page(message: str) -> None:
    """The only page for a signed-in person whose every grant was revoked: ``message`` says since
    when and whom to ask (:func:`ebaydash.services.access.access_removal`), shown as text: its
    addresses and account names are no Markdown, no mailto: link."""
    st.title("Access removed")
    st.info(md(message), icon=":material/lock:")
    if st.button("Sign out", key="sign_out_access_removed"):
        sign_out()


def sign_out() -> None:
    st.session_state.clear()
    st.logout()


def who_is_looking(current: Viewer) -> None:
    """The sidebar's line on who is signed in (with the sign-out button), or on the demo mode."""
    with st.sidebar:
        if current.kind == "demo":
            st.caption(
                "Demo mode: no sign-in, every account and page is visible (EBAYDASH_AUTH=none).",
                help="Set EBAYDASH_AUTH=oidc and configure .streamlit/secrets.toml [auth] to sign in.",
            )
            return
        role = "admin" if current.is_admin else "manager" if current.is_manager else "seller"
        # an address in Markdown becomes a mailto: link, as if the page offered to write to it
        st.caption(md(f"Signed in as {current.email} ({role})"))
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            sign_out()


@dataclass(frozen=True)
class Selection:
    viewer: Viewer
    account: Account
    window: Window
    period_label: str
    fresh: bool


def sidebar() -> Selection | None:
    """Draw the shared account and date pickers and the refresh button (from app.py, on every run,
    so the choice survives page switches). ``None`` when there is nothing to select."""
    ctx = context()
    with st.sidebar:
        st.session_state.pop("_no_selection", None)
        try:
            all_accounts = services.accounts(ctx, viewer())
        except DatabaseError as exc:
            error_banner(exc)
            st.session_state["_no_selection"] = exc  # the page says why, not "choose an account"
            return None
        if not all_accounts:
            st.info(NO_ACCOUNTS)
            st.session_state["_no_selection"] = NO_ACCOUNTS
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
            "Account",
            options=list(by_id),
            format_func=lambda i: by_id[i].name,
            key="account_id",
            on_change=_forget_link_warning,
        )
        account = by_id[account_id]
        # the default goes through the session state, as a link's period does: a widget given an
        # index as well as a state logs Streamlit's "default value and Session State" warning
        st.session_state.setdefault("period", DEFAULT_PERIOD)
        label = st.selectbox("Period", options=list(PERIODS), key="period", on_change=_forget_link_warning)
        days = PERIODS[label]
        picked: Any = None
        if label == THIS_MONTH:
            window = Window.month_so_far(account.timezone)
        elif days is None:
            today = local_today(account.timezone)
            st.session_state.setdefault("custom_dates", (today - dt.timedelta(days=29), today))
            picked = st.date_input(
                "Dates",
                # today in any zone: dates kept from another account's (or its link's) today fit
                max_value=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1),
                key="custom_dates",
                on_change=_forget_link_warning,
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
        _link_warning()
        fresh = st.button("↻ Refresh data", help="Read everything again from the database.")
        st.caption(f"Times in {account.timezone}")
        if ctx.settings.replica_name:
            st.caption(f"Replica {ctx.settings.replica_name}")
        if ctx.cache.degraded:
            st.warning(
                "Cache degraded: the shared cache is not answering, figures come straight from the database.",
                icon="🐢",
            )
    return Selection(viewer=viewer(), account=account, window=window, period_label=label, fresh=fresh)


# -- the view in the URL ------------------------------------------------------------------------


def _view_from_link(by_id: dict[int, Account]) -> None:
    """On a session's first run, take account and period from the URL (validated; what is wrong
    is said and dropped)."""
    if st.session_state.get("_link_read"):
        return
    st.session_state["_link_read"] = True
    params = st.query_params.to_dict()
    # a range is cut at today in the zone of the account it opens (the link's, else the default)
    linked = links.linked_account(params)
    shown = by_id[linked] if linked in by_id else services.default_account(list(by_id.values()))
    view, problems = links.parse_sidebar(params, today=local_today(shown.timezone))
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
        # a link is anyone's text: its values are quoted back as text
        st.session_state["_link_warning"] = md(
            "This link could not be followed fully: " + "; ".join(problems) + "."
        )


def _link_warning() -> None:
    """What was wrong with the link this session opened, said on every run until the viewer
    picks another account or period (the page's own reruns would otherwise wipe it at once)."""
    text = st.session_state.get("_link_warning")
    if text:
        st.warning(text, icon="🔗")


def _forget_link_warning() -> None:
    st.session_state.pop("_link_warning", None)


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
        # a link is anyone's text: its values are quoted back as text
        st.warning(md("This link could not be followed fully: " + "; ".join(problems) + "."), icon="🔗")


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
        st.warning(message(exc), icon="🔗")
        st.session_state["orders_cursor"] = None
        return read(None)


def selection() -> Selection:
    """The sidebar's choice for this run; stops the page when there is none."""
    _ensure_entered_through_app()
    chosen = st.session_state.get("_selection")
    if not isinstance(chosen, Selection):
        why = st.session_state.get("_no_selection")
        if isinstance(why, EbaydashError):
            _stop_with(why)
        _stop(why if isinstance(why, str) else "Choose an account in the sidebar.")
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
    """Mount the watcher at the end of the sidebar, which every page shares (so a page switch does
    not mount it again). Its script is fetched and its code loaded lazily, and the frontend
    reveals a batch of new elements only once all of them are ready: sent in a session's first
    overview, before the tiles or after them, it held them back (issue 17, bench speed_browser).
    So a page that defers its heavy part to the rerun after the first paint (``tiles_painted``)
    gets the watcher in that rerun; other pages after their first run, and every later run
    mounts it before the page, at the same place in the sidebar."""
    with st.sidebar:
        _reconnect_component()(key="ebaydash_reconnect", on_reconnected_change=lambda: None, height=0)


# Reports (by a rerun) that the page's first metric tiles are on screen, or that 5 s went by.
_PAINTED_JS = """
export default function (component) {
  const started = performance.now();
  const shown = () => document.querySelector('[data-testid="stMetricValue"]') !== null;
  const tick = () => {
    if (shown() || performance.now() - started > 5000) {
      requestAnimationFrame(() => component.setTriggerValue("painted", Date.now()));
    } else {
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
}
"""


@st.cache_resource(show_spinner=False)
def _painted_component() -> Any:
    return st.components.v2.component("ebaydash_painted", js=_PAINTED_JS, isolate_styles=False)


def tiles_painted() -> bool:
    """Whether this browser session has already shown metric tiles; if not, ask the browser to
    rerun the page once it has.

    A page calls this before something heavy for the browser (a plotly chart) and draws a
    placeholder while it returns False. Sent in the same run, the chart held back the overview's
    first tile in a cold browser: the frontend reveals a batch of new elements only when the
    lazily loaded code of all of them is ready, and plotly's is 4.6 MB (issue 17; bench section
    speed_browser: tiles alone came in at ~1.0x the hello-world anchor, tiles + tables at 1.2x,
    tiles + chart at 2-4x).
    Only a browser session's first call returns False: any later run draws everything, also when
    the browser's report never comes. A client that is no browser (AppTest, the cluster bench's
    sessions: no ``Mozilla/`` user agent) runs no JavaScript and gets the whole page at once.
    """
    if st.session_state.get("_tiles_painted") or not _is_browser():
        return True
    st.session_state["_tiles_painted"] = True
    st.session_state["_paint_pending"] = True  # run_page: the rerun comes, the watcher with it
    _painted_component()(key="ebaydash_painted", on_painted_change=lambda: None, height=0)
    return False


def _is_browser() -> bool:
    """Whether this session's client is a web browser (every browser's user agent starts with
    ``Mozilla/``); AppTest sends no headers."""
    agent = st.context.headers.get("User-Agent") or ""
    return agent.startswith("Mozilla/")


def dataframe(
    container: Any, frame: pd.DataFrame, *, now: bool = True, column_config: dict[str, Any] | None = None
) -> None:
    """``frame`` as a table in ``container`` (no index, full width, ``column_config`` as
    ``st.dataframe`` takes it); while ``now`` is False an empty space of about its height instead,
    for the next run to fill (see :func:`tiles_painted`: a table's grid code held back a cold
    browser's first tile too)."""
    if now:
        container.dataframe(frame, hide_index=True, width="stretch", column_config=column_config)
    else:
        container.container(height=min(35 * (len(frame) + 1) + 3, 400), border=False)


# Tiles keep their whole number in a narrow column (an 800 px window with the sidebar open cut
# "$18,197.72" to "$18,19…"): the value's size follows the tile's width, up to Streamlit's own,
# and the change line wraps rather than being cut. Only a <style> element: it takes no room.
_NARROW_TILES_CSS = """<style>
div[data-testid="stMetric"] { container-type: inline-size; }
div[data-testid="stMetricValue"] { font-size: min(2.25rem, 15cqi); }
div[data-testid="stMetricDelta"] div, div[data-testid="stMetricDelta"] p,
label[data-testid="stMetricLabel"] div, label[data-testid="stMetricLabel"] p {
  white-space: normal; overflow: visible; text-overflow: clip;
}
</style>"""


def run_page(page: Any) -> None:
    """Run the navigation's page, measure it, and keep the sidebar's choice for it to read.

    A run that ends in ``st.rerun()``, ``st.switch_page()`` or ``st.stop()`` ended on purpose
    (Next, a finished import, a page with nothing to show): it is recorded as a success, unless
    it stopped because something it needs failed (:func:`_stop_with`)."""
    ctx = context()
    started = time.perf_counter()
    ok = False
    _STOPPED_BY_FAILURE.set(False)
    watching = bool(st.session_state.get("_watching_reconnects"))
    try:
        with guard():
            st.session_state["_selection"] = sidebar()
        if watching:
            _watch_reconnects()
        st.html(_NARROW_TILES_CSS)
        page.run()
        ok = True
        # a page that held its heavy elements back until the browser has drawn the first ones
        # (tiles_painted) gets the watcher in that rerun, not in this first paint
        if not watching and not st.session_state.pop("_paint_pending", False):
            _watch_reconnects()
            st.session_state["_watching_reconnects"] = True
    except _SCRIPT_CONTROL:
        ok = not _STOPPED_BY_FAILURE.get()
        raise
    finally:
        # the default page's url_path is "": name it by its title instead
        name = str(getattr(page, "url_path", "") or getattr(page, "title", "page")).lower()
        ctx.recorder.record("page", name, time.perf_counter() - started, ok=ok)


# -- shop data as plain text -------------------------------------------------------------------
#
# Names, titles, SKUs, ids and file names come from imported files (see ebaydash.plaintext). Most
# Streamlit strings are Markdown: a title, caption, message, metric label or value. Shop data goes
# into them only through ``md``; widget options (``format_func``) and dataframe cells are shown
# as text by Streamlit already and take the raw string. The tables' own CSV download is switched
# off (``client.disableDataExport`` in .streamlit/config.toml): it writes cells as they are, so a
# buyer called ``=HYPERLINK(…)`` would run in the seller's spreadsheet. ``download_csv`` offers the
# same table with formula-like cells neutralised, and the screen keeps showing the true text.


def md(text: object) -> str:
    """Shop data (or any text not written by us) for a Markdown string: shown as it reads, never
    as Markdown, HTML, a link, an image, an icon or maths (:func:`ebaydash.plaintext.markdown_literal`)."""
    return markdown_literal(text)


_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def message(text: object) -> str:
    """One of our messages that may quote shop data (an error, an import summary) for a Markdown
    string: its code spans (`` `ebaydash db upgrade` ``) stay code, which Markdown shows literally
    whatever they hold; everything else goes through :func:`md`."""
    parts = _CODE_SPAN.split(str(text))
    return "".join(part if i % 2 else md(part) for i, part in enumerate(parts))


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell spreadsheet-safe (:func:`ebaydash.plaintext.spreadsheet_safe`);
    numbers, dates and empty cells are left as they are."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column]) or pd.api.types.is_object_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: spreadsheet_safe(v) if isinstance(v, str) else v)
    return safe


def download_csv(
    frame: pd.DataFrame,
    file_name: str,
    *,
    label: str = "Download CSV",
    key: str,
    money_columns: Sequence[str] = (),
) -> None:
    """A download button for ``frame`` as UTF-8 CSV, its text cells spreadsheet-safe: what the
    table's own toolbar download would give, without formulas taken from imported files.
    ``money_columns`` (amounts kept as numbers for the table's sorting) are written with their
    two decimals, as a number a spreadsheet reads (``18.10``, not ``18.1``)."""
    safe = csv_safe_frame(frame)
    for column in money_columns:
        safe[column] = safe[column].map("{:.2f}".format)
    st.download_button(
        label,
        # small tables (a ranking, an order's lines): made now, not deferred like the orders export
        data=safe.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        type="tertiary",
        key=key,
    )


def file_name_part(text: str) -> str:
    """A piece of a download's file name from shop data (a seller id): letters, digits, ``-``
    and ``_`` only, at most 40 characters; ``account`` when nothing is left."""
    cleaned = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in text)
    return cleaned.strip("_-")[:40] or "account"


# -- formatting (the rules are in ebaydash.formatting; these draw with them) --------------------

money = formatting.money
money_or = formatting.money_or
payout_status = formatting.payout_status
money_type = formatting.money_type
order_status = formatting.order_status
delta = formatting.delta
percent = formatting.percent
local_time = formatting.local_time
plural = formatting.plural
noun = formatting.noun
ms = formatting.duration_ms


def metric(
    where: Any,
    label: str,
    tile: formatting.Tile,
    *,
    help: str | None = None,
) -> None:
    """``st.metric`` of a :class:`~ebaydash.formatting.Tile` in ``where`` (``st`` or a column)."""
    where.metric(
        label,
        tile.value,
        tile.delta,
        delta_color=tile.delta_color,
        delta_arrow=tile.delta_arrow,
        help=help,
    )


def money_or_unknown(kpi: MoneyKpi, currency: str, *, percent: bool = False) -> str:
    """A profit tile's value: the amount (or percentage), or why it is unknown — never 0."""
    if kpi.current is None:
        return "unknown"
    return f"{kpi.current:,.2f}%" if percent else money(kpi.current, currency)


def money_delta(kpi: MoneyKpi, *, currency: str | None = None) -> str | None:
    """A profit tile's change line, worded as the overview's (:func:`formatting.delta`): none when
    either window is unknown, ``no change`` (both zero too), ``+$3.00 (new)`` after zero,
    ``+$3.00 (+4.0%)``; a margin (``currency`` None) in percentage points."""
    change = kpi.change
    if change is None or kpi.previous is None:
        return None
    if change == 0:
        return "no change"
    absolute = money(change, currency) if currency else f"{change:+,.2f} pp"
    if currency and not absolute.startswith("-"):
        absolute = "+" + absolute
    if not currency:
        return absolute
    if not kpi.previous:
        return f"{absolute} (new)"
    return f"{absolute} ({float(change / abs(kpi.previous)):+.1%})"


def as_of(moment: dt.datetime, tz: str) -> None:
    st.caption(f"Data as of {formatting.local_time(moment, tz, '%Y-%m-%d %H:%M:%S %Z')}")


def comparison_caption(chosen: Selection, tz: str) -> str:
    """What the tiles' changes compare with, naming the previous period's days (README
    "Figures": every period compares day for day with the days just before it, this month too)."""
    before = window_caption(chosen.window.previous(), tz)
    if chosen.period_label == THIS_MONTH:
        return (
            f"Changes compare with the same number of days just before this month ({before}), "
            "not with the same days of last month."
        )
    return f"Changes compare with the same number of days just before this period ({before})."


def window_caption(window: Window, tz: str) -> str:
    first, last = window.dates_touched(tz)
    return f"{first:%d %b %Y} – {last:%d %b %Y}"


Tile = formatting.Tile
kpi_tile = formatting.kpi_tile
LISTINGS_UNKNOWN = formatting.LISTINGS_UNKNOWN
# the same for a tile's caption, which is cut at about 30 characters in a 1400 px window: the
# tile's help says why (listings come from listing data, never from order files)
LISTINGS_UNKNOWN_SHORT = "unknown: no listings imported"
percent_axis = formatting.percent_axis
clock_axis = formatting.clock_axis
day_axis = formatting.day_axis
count_axis = formatting.count_axis
DAY_MS = formatting.DAY_MS
duration_axis = formatting.duration_axis
money_axis = formatting.money_axis


def flash(key: str, ok: bool, text: str, details: list[str] | None = None) -> NoReturn:
    """Keep an outcome (a success, or an error with its ``details`` lines) for the next run under
    ``key``, then rerun: a message drawn before ``st.rerun()`` is gone with the run, and only a
    rerun redraws what the page showed above the button with what was just written."""
    st.session_state[key] = (ok, text, details or [])
    st.rerun()


def show_flash(key: str) -> None:
    """Show the outcome :func:`flash` kept under ``key``, once (taken out of the session)."""
    kept: tuple[bool, str, list[str]] | None = st.session_state.pop(key, None)
    if kept is None:
        return
    ok, text, details = kept
    (st.success if ok else st.error)(text)
    for line in details:
        st.text(line)


def money_column(label: str, currency: str) -> Any:
    """A table column of amounts (never negative) in ``currency``, kept as numbers so a click on
    its header sorts them by value (text sorted ``$18.10`` after ``$168.82``), shown as
    :func:`money` writes them."""
    return st.column_config.NumberColumn(label, format=formatting.money_column_format(currency))


def chart_frame(frame: pd.DataFrame, column: str = "time") -> pd.DataFrame:
    """A monitor timeline ready to chart: times on the viewer's clock, every other column a
    float (an unknown value is NaN: a gap in the line, never 0)."""
    local = formatting.local_times(frame, viewer_timezone(), column)
    others = [c for c in local.columns if c != column]
    return local.astype(dict.fromkeys(others, "float64")) if others else local


# st.dataframe's default row height and its header, in pixels
TABLE_ROW_PX = 35


def table_height(rows: int) -> int:
    """The height that shows ``rows`` rows of ``st.dataframe`` and its header without a scroll bar."""
    return (rows + 1) * TABLE_ROW_PX + 3


def keyed(prefix: str, *parts: Any) -> str:
    """A widget key that changes with ``parts`` (e.g. the page of results a table shows), so the
    widget starts afresh, its selection cleared, when they change."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()
    return f"{prefix}:{digest}"


def browser_timezone() -> str | None:
    """The IANA time zone the viewer's browser reports, or None (AppTest, an old browser)."""
    return st.context.timezone


def viewer_timezone() -> str:
    """The zone the sidebar says times are in (the chosen account's); UTC before there is one."""
    chosen = st.session_state.get("_selection")
    return chosen.account.timezone if isinstance(chosen, Selection) else "UTC"


# -- charts -------------------------------------------------------------------------------------


def over_time(figure: Any, yaxis: dict[str, Any] | None = None, yaxis_title: str = "") -> Any:
    """``figure`` (a monitor chart against the viewer's clock) laid out as every such chart is:
    :func:`clock_axis` with no title under it, no legend title, ``yaxis`` (e.g.
    :func:`percent_axis`) and ``yaxis_title``. Returns the figure."""
    axis = clock_axis()
    # points less than a minute apart (a few recommendations in one second) got ticks a fifth of
    # a second apart, all labelled "04:23:02": a minute at least, around them
    ends = [(min(t.x), max(t.x)) for t in figure.data if t.x is not None and len(t.x)]
    if ends:
        first, last = pd.Timestamp(min(e[0] for e in ends)), pd.Timestamp(max(e[1] for e in ends))
        span = last - first
        if span < pd.Timedelta(minutes=1):
            pad = (pd.Timedelta(minutes=1) - span) / 2
            # whole milliseconds: plotly drops (and warns about) nanoseconds
            axis["range"] = [
                (first - pad).floor("ms").to_pydatetime(),
                (last + pad).ceil("ms").to_pydatetime(),
            ]
    figure.update_layout(
        legend_title_text="", xaxis=axis, xaxis_title="", yaxis=yaxis or {}, yaxis_title=yaxis_title
    )
    return figure


def lines(
    frame: pd.DataFrame,
    x: str,
    columns: list[str] | str,
    *,
    title: str,
    markers: bool = False,
    line_shape: str = "linear",
) -> Any:
    """One line per column of ``frame`` against column ``x``, as a plotly ``Figure``.

    What ``plotly.express.line`` draws for a wide frame, built from ``graph_objects`` directly:
    express spends ~60 ms per figure reshaping the frame (4 charts made the Performance and
    Resources pages 200+ ms slower per run, every 5 s refresh included); this takes ~5 ms.
    """
    import plotly.graph_objects as go

    mode = "lines+markers" if markers else "lines"
    names = [columns] if isinstance(columns, str) else columns
    traces = [
        go.Scatter(x=frame[x], y=frame[name], name=name, mode=mode, line={"shape": line_shape})
        for name in names
    ]
    return go.Figure(
        traces,
        layout={
            "title": {"text": title},
            "xaxis": {"title": {"text": x}},
            "yaxis": {"title": {"text": names[0] if len(names) == 1 else "value"}},
            "showlegend": len(names) > 1,
        },
    )


def bars(frame: pd.DataFrame, x: str, column: str, *, title: str) -> Any:
    """Column ``column`` of ``frame`` as bars against column ``x`` (``plotly.express.bar``'s
    drawing without its cost, see :func:`lines`)."""
    import plotly.graph_objects as go

    return go.Figure(
        [go.Bar(x=frame[x], y=frame[column], name=column)],
        layout={
            "title": {"text": title},
            "xaxis": {"title": {"text": x}},
            "yaxis": {"title": {"text": column}},
        },
    )


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
        text.markdown(f"**{md(check.name)}** — {md(check.detail)}")


def replica_note(status: services.ReadReplicaStatus | None) -> str | None:
    """The performance page's note while the read replica is skipped (None while it serves, or
    when there is none): why, since when, and that the primary answers meanwhile."""
    if status is None or not status.skipped:
        return None
    since = f" since {clock_time(status.since)}" if status.since is not None else ""
    if status.state == "lagging":
        if status.lag_s is None:
            behind = "has not reported how far behind it is"
        else:
            more = "at least " if status.lag_at_least else ""
            behind = f"is {more}{status.lag_s:,.1f} s behind the primary"
        return (
            f"The read replica {behind} (limit {status.max_lag_s:g} s, EBAYDASH_READ_REPLICA_MAX_LAG_S)"
            f"{since}: the primary serves the dashboard's reads until it catches up."
        )
    why = status.reason or "it failed"
    return (
        f"The read replica is skipped{since}: {why}. The primary serves the dashboard's reads; the "
        f"replica is tried again every {status.retry_s:g} s."
    )


def clock_time(epoch_s: float) -> str:
    """A moment of the logs on the viewer's clock (the zone the sidebar names)."""
    return formatting.clock_time(epoch_s, viewer_timezone())


def actions_table(actions: list[Any]) -> Any:
    """The scaling actions as rows for ``st.dataframe``, times on the viewer's clock; the reason,
    the longest text, last (see :func:`actions_history`)."""
    tz = viewer_timezone()
    return [
        {
            "When": formatting.epoch_time(a.at, tz, "%Y-%m-%d %H:%M:%S %Z"),
            "Action": a.action.replace("_", " "),
            "Replicas": f"{a.from_replicas} → {a.to_replicas}",
            "Rule": a.rule.replace("_", " "),
            "By": a.actor,
            "Reason": a.reason,
        }
        for a in actions
    ]


# Sized to their text, the history's columns ran ~250 px past a 1400 px window: "By" out of sight,
# every reason cut. Set widths that add up to the page's ~920 px instead, with the text wrapped in
# them: st.dataframe wraps cells only in rows taller than 4rem (64 px), and three lines of the 400 px
# of "large" hold the reasons the rules engine and the autoscaler write (up to ~180 characters).
ACTIONS_ROW_PX = 72
ACTIONS_COLUMNS: dict[str, Any] = {
    "When": st.column_config.TextColumn(width=100),  # the date over the time
    "Action": st.column_config.TextColumn(width=90),
    "Replicas": st.column_config.TextColumn(width="small"),
    "Rule": st.column_config.TextColumn(width=110),
    "By": st.column_config.TextColumn(width=150),
    "Reason": st.column_config.TextColumn(width="large"),
}


def actions_history(actions: list[Any]) -> None:
    """The scaling actions as a table that fits the page at 1400 px, every text wrapped whole."""
    st.dataframe(
        actions_table(actions),
        hide_index=True,
        width="stretch",
        row_height=ACTIONS_ROW_PX,
        column_config=ACTIONS_COLUMNS,
    )


def _rounded_ms(value: float) -> float | None:
    """Milliseconds for a table cell: three significant digits (208, 12.3, 0.0744), empty when
    nothing was measured (NaN). Numbers, not text, so the column still sorts."""
    if math.isnan(value):
        return None
    if value == 0:
        return 0.0
    return round(value, 2 - math.floor(math.log10(abs(value))))


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
    """The latest resource sample of each replica, one row each (seen on the viewer's clock)."""
    tz = viewer_timezone()
    return pd.DataFrame(
        [
            {
                "Replica": name,
                "Memory MiB": round(s["process_rss_bytes"] / 2**20, 1),
                "CPU %": round(s["process_cpu_percent"], 1),
                "Threads": s["process_threads"],
                "System memory %": round(s["system_memory_percent"], 1),
                "Seen": formatting.epoch_time(s["at"], tz, "%H:%M:%S %Z"),
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


#: problems listed as sentences on the import page; more go to a table (and the CSV)
PROBLEMS_LISTED = 20


def problem_list(errors: Sequence[Any], limit: int = PROBLEMS_LISTED) -> None:
    """The first ``limit`` of an import's problems (:class:`ebaydash.importers.records.RowError`)
    as a list under each file's name, every message whole: in a table, rows of one height cut the
    long messages and padded the short ones (a tester saw 2½ of 5 problems at 1400 px)."""
    by_file: dict[str, list[Any]] = {}
    for error in errors[:limit]:
        by_file.setdefault(error.file, []).append(error)
    for name, found in by_file.items():
        items = []
        for error in found:
            where = [f"Line {error.line:,}"] if error.line is not None else ["The file"]
            if error.order_id:
                where.append(f"order {md(error.order_id)}")
            if error.field:
                where.append(f"**{md(error.field)}**")
            items.append(f"- {', '.join(where)}: {message(error.reason)}")
        st.markdown(f"**{md(name)}**\n\n" + "\n".join(items))


def wrapped_table(rows: Any, widths: dict[str, int], *, max_lines: int = 8) -> None:
    """``rows`` as a table whose text columns have the set ``widths`` (px, adding up to the page's
    ~920 px at 1400) and wrap their text whole, as :func:`actions_history` does: rows tall enough
    for the longest cell's lines (st.dataframe wraps only in rows taller than 64 px), at most
    ``max_lines``."""
    frame = pd.DataFrame(rows)
    lines = 3
    for name, width in widths.items():
        if name in frame and len(frame):
            longest = int(frame[name].astype(str).str.len().max())
            # ~7.5 px a character, 16 px of padding
            lines = max(lines, -(-longest * 15 // (2 * max(width - 16, 1))))
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        row_height=max(ACTIONS_ROW_PX, 22 * min(lines, max_lines) + 8),
        column_config={name: st.column_config.TextColumn(width=width) for name, width in widths.items()},
    )
