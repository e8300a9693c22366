"""The overview's tiles come before its chart in a cold browser (issue 17): the first run of a
session sends the tiles and tables with a placeholder for the chart, and the chart comes in the
rerun the browser asks for once the tiles are on screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture
def demo(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_first_run_sends_tiles_and_tables_but_holds_the_chart(demo: None) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception and not at.error
    assert len(at.metric) == 9
    assert len(at.dataframe) >= 4  # two top-product tabs, top buyers, status mix
    assert not at.get("plotly_chart")


def test_the_next_run_draws_the_chart(demo: None) -> None:
    """The rerun the browser asks for once the tiles are drawn (or any other) brings the chart."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.get("plotly_chart")
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 1
    assert len(at.metric) == 9
