"""The overview's tiles come first in a cold browser (issue 17): a browser session's first run
sends the tiles with placeholders for the chart and the tables, which come in the rerun the
browser asks for once the tiles are on screen. Clients that are no browser get everything at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash import ui
from tests.conftest import ROOT


@pytest.fixture
def demo(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def test_a_client_that_is_no_browser_gets_the_whole_overview_at_once(demo: None) -> None:
    at = app().run()  # AppTest sends no user agent
    assert not at.exception and not at.error
    assert len(at.metric) == 9
    assert len(at.get("plotly_chart")) == 1
    assert len(at.dataframe) >= 4  # two top-product tabs, top buyers, status mix


def test_a_browsers_first_run_holds_chart_and_tables_for_the_next(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui, "_is_browser", lambda: True)
    at = app().run()
    assert not at.exception and not at.error
    assert len(at.metric) == 9
    assert not at.get("plotly_chart")
    assert not at.dataframe
    # the rerun the browser asks for once the tiles are drawn (or any other run)
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 1
    assert len(at.dataframe) >= 4
    assert len(at.metric) == 9
