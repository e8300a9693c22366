"""AppTest of the Cost of goods page: what was saved or imported is confirmed, and the table shows it."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from ebaydash.settings import Settings
from tests.test_app import app, demo_env  # noqa: F401  (fixture)

PAGE = "pages/costs.py"


def open_costs_page() -> AppTest:
    at = app().run()
    at.switch_page(PAGE).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def cost_of(at: AppTest, sku: str) -> float:
    table = at.data_editor[0].value
    [cost] = table[table.sku == sku].unit_cost
    return float(cost)


def changes(at: AppTest) -> Any:
    return next(d.value for d in at.dataframe if "By" in d.value.columns)


def test_a_saved_edit_is_confirmed_once_and_shown(demo_env: Settings) -> None:  # noqa: F811
    at = open_costs_page()
    editor = at.data_editor[0]
    first = editor.value.iloc[0]
    assert float(first.unit_cost) != 12.34
    # AppTest cannot type into a data editor: its edit state is seeded the way the browser sends it
    assert editor.key
    at.session_state[editor.key] = {
        "edited_rows": {0: {"unit_cost": 12.34}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    button(at, "Save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Saved: 0 added, 1 changed, 0 removed."]
    assert cost_of(at, first.sku) == 12.34
    newest = changes(at).iloc[0]
    assert (newest.SKU, newest.Now, newest.By) == (first.sku, "$12.34", "editor")
    at.run()  # the confirmation is shown once, not on every run after
    assert not at.success


def test_an_imported_cost_is_in_the_table_with_the_confirmation(demo_env: Settings) -> None:  # noqa: F811
    at = open_costs_page()
    row = at.data_editor[0].value.iloc[1]
    assert float(row.unit_cost) != 99.99
    csv = f"SKU,cost,valid_from\n{row.sku},99.99,{row.valid_from}\n".encode()
    [uploader] = at.file_uploader
    uploader.set_value(("costs.csv", csv, "text/csv"))
    at.run()
    button(at, "Import costs").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [confirmation] = [s.value for s in at.success]
    assert "from costs.csv: 0 added, 1 changed" in confirmation
    assert changes(at).iloc[0].Now == "$99.99"
    # the editable table shows the imported cost in the same run as the confirmation
    assert cost_of(at, row.sku) == 99.99


def test_a_bad_cost_file_lists_its_problems_and_changes_nothing(demo_env: Settings) -> None:  # noqa: F811
    at = open_costs_page()
    before = at.data_editor[0].value
    [uploader] = at.file_uploader
    uploader.set_value(("bad.csv", b"SKU,cost,valid_from\nX,-1,2026-01-01\n", "text/csv"))
    at.run()
    button(at, "Import costs").click().run()
    assert not at.exception and not at.success
    assert len(at.error) == 1 and at.text, "the failure and the line it names"
    assert at.data_editor[0].value.equals(before)
