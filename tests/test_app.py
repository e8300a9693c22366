"""AppTest: every page renders real data on the embedded default, and failures read well."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash.settings import Settings
from tests.conftest import ROOT, free_port

PAGES = [
    "pages/orders.py",
    "pages/profit.py",
    "pages/payouts.py",
    "pages/costs.py",
    "pages/performance.py",
    "pages/resources.py",
    "pages/scaling.py",
]


@pytest.fixture
def demo_env(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    url = demo_url
    settings = Settings(database_url=url)
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", url)
    st.cache_resource.clear()
    yield settings
    st.cache_resource.clear()


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def test_every_page_renders_without_errors(demo_env: Settings) -> None:
    at = app().run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Orders"].replace(",", "")) > 0
    assert metrics["Revenue"].startswith("$") and metrics["Revenue"] != "$0.00"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
        assert not at.error, f"{page}: {[e.value for e in at.error]}"
        assert at.title[0].value, page


def test_the_account_choice_survives_page_switches(demo_env: Settings) -> None:
    at = app().run()
    account = at.sidebar.selectbox(key="account_id")
    other = next(o for o in account.options if o != account.value)
    account.set_value(other).run()
    chosen = at.sidebar.selectbox(key="account_id").value
    at.switch_page("pages/orders.py").run()
    assert at.sidebar.selectbox(key="account_id").value == chosen
    at.switch_page("pages/overview.py").run()
    assert at.sidebar.selectbox(key="account_id").value == chosen


def test_an_unreachable_database_shows_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    st.cache_resource.clear()
    at = app().run()
    assert not at.exception
    messages = " ".join(e.value for e in at.error)
    assert "cannot be reached" in messages
    st.cache_resource.clear()


def test_a_malformed_setting_shows_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBAYDASH_STATEMENT_TIMEOUT_MS", "soon")
    st.cache_resource.clear()
    at = app().run()
    assert not at.exception
    assert "EBAYDASH_STATEMENT_TIMEOUT_MS" in " ".join(e.value for e in at.error)
    st.cache_resource.clear()


def test_data_as_of_is_shown(demo_env: Settings) -> None:
    at = app().run()
    captions = " ".join(c.value for c in at.caption)
    assert "Data as of" in captions
    assert str(dt.datetime.now(dt.UTC).year) in captions


def test_a_database_lost_after_start_is_said_on_the_page(
    demo_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ebaydash import services
    from ebaydash.errors import DatabaseUnavailable

    at = app().run()
    assert at.metric

    def down(*_args: object, **_kwargs: object) -> None:
        raise DatabaseUnavailable("The database cannot be reached right now (nothing at :5999).")

    monkeypatch.setattr(services, "accounts", down)
    at.run()
    assert not at.exception
    page = " ".join(e.value for e in at.main.error)
    # the page says what is wrong (once), not "choose an account" from an empty sidebar
    assert "cannot be reached" in page and "Choose an account" not in page
    assert page.count("cannot be reached") == 1
