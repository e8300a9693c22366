"""Demo traffic started from the performance page: one run per process, visible, stoppable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash import services, ui
from ebaydash.context import Context, build_context
from ebaydash.errors import InvalidInput
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def demo_ctx(demo_url: str) -> Iterator[Context]:
    ctx = build_context(Settings(database_url=demo_url), start_sampler=False)
    yield ctx
    ctx.close()


def test_simulated_visitors_run_once_per_process_and_stop_on_request(demo_ctx: Context) -> None:
    assert not services.demo_traffic(demo_ctx, OPERATOR).running
    assert services.start_demo_traffic(demo_ctx, OPERATOR) is True
    assert services.start_demo_traffic(demo_ctx, OPERATOR) is False  # the running one is not doubled
    wait_for(lambda: services.demo_traffic(demo_ctx, OPERATOR).page_views >= 5)
    status = services.demo_traffic(demo_ctx, OPERATOR)
    assert status.running and 0 < status.seconds_left <= 60
    services.stop_demo_traffic(demo_ctx, OPERATOR)
    after = services.demo_traffic(demo_ctx, OPERATOR)
    assert not after.running
    assert after.last_message.startswith("Demo traffic stopped:")
    assert after.errors == 0
    # the visits went through the recorder like real page views, as simulated traffic
    demo_ctx.recorder.flush()
    pages = demo_ctx.recorder.snapshot(60, traffic="simulated").pages
    assert pages.count >= after.page_views
    # and a new run can start once the last one is over
    assert services.start_demo_traffic(demo_ctx, OPERATOR) is True
    services.stop_demo_traffic(demo_ctx, OPERATOR)


def test_with_no_accounts_there_is_nobody_to_simulate(tmp_path: Path) -> None:
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}"), start_sampler=False)
    try:
        # build_context made the schema of the new file: tables, no accounts
        with pytest.raises(InvalidInput, match="no accounts"):
            services.start_demo_traffic(ctx, OPERATOR)
        assert not services.demo_traffic(ctx, OPERATOR).running
    finally:
        ctx.close()


def test_the_performance_page_starts_and_stops_the_visitors(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
        at.switch_page("pages/performance.py").run()
        assert not at.exception and not at.error
        at.button(key="traffic_start").click().run()
        assert not at.exception and not at.error
        assert any("Simulating visitors" in box.value for box in at.info)
        ctx = ui._context()
        wait_for(lambda: services.demo_traffic(ctx, OPERATOR).page_views > 0)
        at.button(key="traffic_stop").click().run()
        assert not services.demo_traffic(ctx, OPERATOR).running
        assert any("Demo traffic stopped" in caption.value for caption in at.caption)
        assert at.button(key="traffic_start")  # offered again
    finally:
        st.cache_resource.clear()  # closes the app's context, stopping any run left


def test_simulate_visitors_sets_the_traffic_filter_without_a_streamlit_warning(
    demo_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The filter's value must come one way only: a default and a Session State write logged a
    warning with a stack trace."""
    from streamlit.elements.lib import policies

    # Streamlit logs that warning once per process: an earlier test must not have used it up
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", demo_url)
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
        at.switch_page("pages/performance.py").run()
        assert at.segmented_control(key="performance_traffic").value == "real"
        with caplog.at_level(logging.WARNING, logger="streamlit"):
            at.button(key="traffic_start").click().run()
        assert not at.exception and not at.error
        assert at.segmented_control(key="performance_traffic").value == "simulated"
        warned = [r.getMessage() for r in caplog.records if "Session State API" in r.getMessage()]
        assert not warned, warned
    finally:
        st.cache_resource.clear()  # closes the app's context, stopping the run
