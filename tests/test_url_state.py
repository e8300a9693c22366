"""AppTest: the view lives in the URL and a new session (reload, shared link, failover) opens the
same view from it; bad links are refused with a message, never trusted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash import services
from ebaydash.context import build_context
from ebaydash.models import Account
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT


@pytest.fixture
def demo_env(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    st.cache_resource.clear()
    yield Settings(database_url=demo_url)
    st.cache_resource.clear()


def other_account(settings: Settings) -> Account:
    ctx = build_context(settings, start_sampler=False)
    try:
        accounts = services.accounts(ctx, OPERATOR)
        default = services.default_account(accounts)
        return next(a for a in accounts if a.id != default.id)
    finally:
        ctx.close()


def session(params: dict[str, str], page: str | None = None) -> AppTest:
    """A new browser session opening a URL with ``params``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    if page is not None:
        at.switch_page(page)
    return at.run()


def params_of(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_a_link_opens_its_account_and_period(demo_env: Settings) -> None:
    other = other_account(demo_env)
    at = session({"account": str(other.id), "period": "90d"})
    assert not at.exception and not at.warning
    assert at.sidebar.selectbox(key="account_id").value == other.id
    assert at.sidebar.selectbox(key="period").value == "Last 90 days"
    assert at.title[0].value == other.name
    assert any(c.value.startswith("Last 90 days:") for c in at.caption)


def test_the_url_follows_the_sidebar(demo_env: Settings) -> None:
    other = other_account(demo_env)
    at = session({})
    at.sidebar.selectbox(key="account_id").set_value(other.id).run()
    at.sidebar.selectbox(key="period").set_value("Last 7 days").run()
    assert params_of(at) == {"account": str(other.id), "period": "7d"}
    # the same URL in a new session (another replica) opens the same view, same figures
    again = session(params_of(at))
    assert [(m.label, m.value) for m in again.metric] == [(m.label, m.value) for m in at.metric]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"account": "999999"}, "does not exist"),
        ({"account": "x1"}, "not an account number"),
        ({"period": "forever"}, "period"),
        ({"period": "custom", "from": "2026-13-01", "to": "2026-12-01"}, "dates"),
    ],
)
def test_a_bad_link_says_what_was_wrong_and_shows_the_default_view(
    demo_env: Settings, params: dict[str, str], words: str
) -> None:
    at = session(params)
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "This link could not be followed fully" in warnings and words in warnings
    assert at.sidebar.selectbox(key="period").value == "Last 30 days"
    assert int(at.metric[0].value.replace(",", "")) >= 0


def test_orders_filters_sort_and_page_survive_a_new_session(demo_env: Settings) -> None:
    at = session({}, page="pages/orders.py")
    assert not at.exception
    at.radio(key="orders_dates").set_value("All time").run()
    at.selectbox(key="orders_sort").set_value("amount_high").run()
    at.button(key="orders_next").click().run()
    shown = next(m.value for m in at.markdown if "matching orders" in m.value)
    assert "rows 26–50" in shown
    link = params_of(at)
    assert link["dates"] == "all" and link["sort"] == "amount_high" and "cursor" in link

    again = session(link, page="pages/orders.py")
    assert not again.exception and not again.warning
    assert again.selectbox(key="orders_sort").value == "amount_high"
    assert again.radio(key="orders_dates").value == "All time"
    assert next(m.value for m in again.markdown if "matching orders" in m.value) == shown
    assert again.dataframe[0].value.equals(at.dataframe[0].value)


def test_a_tampered_page_cursor_falls_back_to_the_first_page(demo_env: Settings) -> None:
    at = session({"dates": "all", "cursor": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, page="pages/orders.py")
    assert not at.exception
    assert "no longer valid" in " ".join(w.value for w in at.warning)
    assert "rows 1–25" in next(m.value for m in at.markdown if "matching orders" in m.value)
    assert "cursor" not in params_of(at)


def test_a_bad_links_warning_stays_until_another_view_is_picked(demo_env: Settings) -> None:
    def warned(at: AppTest) -> bool:
        return any("could not be followed" in w.value for w in at.warning)

    at = session({"period": "forever"})
    assert warned(at)
    at.run()  # a rerun of the same view (the overview's paint report, Refresh) keeps saying it
    assert warned(at)
    at.sidebar.selectbox(key="period").set_value("Last 7 days").run()
    assert not warned(at) and not at.exception
    # a link without problems never warns
    assert not warned(session({"period": "7d"}))
