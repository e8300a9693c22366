"""AppTest of the import page: upload, import into a new account, see it on the overview; and a bad
file shows its problems, not a traceback."""

from __future__ import annotations

import datetime as dt
import html
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from streamlit.elements.lib import policies
from streamlit.testing.v1 import AppTest

from ebaydash import ui
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import accounts, orders
from ebaydash.settings import Settings
from tests.conftest import ROOT
from tests.test_app import app, demo_env  # noqa: F401  (fixture)
from tests.test_importers import FIXTURES

PAGE = "pages/import_orders.py"


def open_import_page() -> AppTest:
    at = app().run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Import orders"
    return at


def import_button(at: AppTest):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == "Import")


def uploader(at: AppTest):  # type: ignore[no-untyped-def]
    """The page's one uploader (its key changes after every run, which empties it)."""
    [found] = at.get("file_uploader")
    return found


def test_uploading_pages_into_a_new_account_shows_the_counts_and_the_new_numbers(
    demo_env: Settings,  # noqa: F811
) -> None:
    at = open_import_page()
    assert import_button(at).disabled  # nothing uploaded yet
    uploader(at).set_value(
        [
            (name, (FIXTURES / name).read_bytes(), "application/json")
            for name in ("getorders_page1.json", "getorders_page2.json")
        ]
    )
    at.radio[0].set_value("A new account").run()
    at.text_input(key="import_new_account").set_value("Retro Imports").run()
    import_button(at).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Imported into 'Retro Imports' (a new account): 6 new" in at.success[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Imported"], metrics["Updated"], metrics["Unchanged"]) == ("6", "0", "0")

    db = Database(make_engine(demo_env), timeout_ms=5000)
    with db.connect() as conn:
        account_id = conn.execute(
            select(accounts.c.id).where(accounts.c.name == "Retro Imports")
        ).scalar_one()
        rows = conn.execute(select(orders).where(orders.c.account_id == account_id)).all()
    db.dispose()
    assert len(rows) == 6
    # the sidebar now offers, and shows, the new account
    assert at.sidebar.selectbox(key="account_id").value == account_id

    # the overview shows its numbers at once (the account's cache was invalidated)
    at.switch_page("pages/overview.py").run()
    at.sidebar.selectbox(key="period").set_value("Custom range").run()
    at.sidebar.date_input(key="custom_dates").set_value((dt.date(2026, 9, 1), dt.date(2026, 10, 31))).run()
    assert not at.exception and not at.error
    shown = {m.label: m.value for m in at.metric}
    live = [r for r in rows if r.status != "cancelled"]
    assert int(shown["Orders"].replace(",", "")) == len(live)
    revenue = sum((r.total_amount - r.refunded_amount for r in live), Decimal("0"))
    assert shown["Revenue"] == f"${revenue:,.2f}"


def test_a_bad_file_lists_its_problems_and_imports_nothing(demo_env: Settings) -> None:  # noqa: F811
    raw = json.loads((FIXTURES / "getorders_page1.json").read_text())
    raw["orders"][2]["lineItems"][0]["quantity"] = -1
    at = open_import_page()
    accounts_before = at.sidebar.selectbox(key="account_id").options
    uploader(at).set_value(("bad.json", json.dumps(raw).encode(), "application/json"))
    at.run()
    import_button(at).click().run()
    assert not at.exception, at.exception
    [message] = at.error
    assert "Nothing was imported: 1 of 4 orders have problems" in message.value
    listed = problems_listed(at)
    assert "**bad.json**" in listed and "orders[2].lineItems[0].quantity" in listed
    assert "at least 1" in listed
    assert at.sidebar.selectbox(key="account_id").options == accounts_before
    # a file that is not an export at all
    uploader(at).set_value(("notes.txt", b"hello", "text/plain"))
    at.run()
    import_button(at).click().run()
    assert not at.exception
    assert "not a file ebaydash can import" in problems_listed(at)


def problems_listed(at: AppTest) -> str:
    """The Markdown under the "Problems" heading, as the page shows it (escapes undone)."""
    assert [h for h in at.subheader if h.value.startswith("Problems (")]
    return html.unescape(
        "\n".join(m.value for m in at.markdown if m.value.startswith("**")).replace("\\", "")
    )


def test_a_failed_run_looks_failed_and_its_files_leave_the_uploader(demo_env: Settings) -> None:  # noqa: F811
    good = (FIXTURES / "getorders_page1.json").read_bytes()
    at = open_import_page()
    uploader(at).set_value(
        [("good.json", good, "application/json"), ("notes.txt", b"hello there", "text/plain")]
    )
    at.radio[0].set_value("A new account").run()
    at.text_input(key="import_new_account").set_value("Two Files").run()
    import_button(at).click().run()
    assert not at.exception, at.exception
    [message] = at.error
    assert not at.success
    assert "Nothing was imported" in message.value
    assert "0 of 0" not in message.value
    # no "Imported 0" tile that could pass for a result
    assert {m.label for m in at.metric} <= {"Rejected", "Held back"}
    # the failed file left the uploader; the good one waits for the next try
    assert not uploader(at).value
    [kept] = [i for i in at.info if "Kept from the last try" in i.value]
    assert "good.json" in kept.value and "notes.txt" not in kept.value
    import_button(at).click().run()  # the kept file alone imports now
    assert not at.exception and not at.error
    assert "Imported into 'Two Files' (a new account): 4 new" in at.success[0].value


def test_a_failed_runs_advice_to_skip_invalid_orders_can_be_followed(demo_env: Settings) -> None:  # noqa: F811
    raw = json.loads((FIXTURES / "getorders_page1.json").read_text())
    raw["orders"][2]["lineItems"][0]["quantity"] = -1
    at = open_import_page()
    uploader(at).set_value(("bad.json", json.dumps(raw).encode(), "application/json"))
    at.radio[0].set_value("A new account").run()
    at.text_input(key="import_new_account").set_value("Skipper").run()
    import_button(at).click().run()
    [message] = at.error
    assert "choose to skip invalid orders" in message.value
    # the file left the uploader but is held for the advice: no need to upload it again
    assert not uploader(at).value
    [held] = [i for i in at.info if "Left out, with problems" in i.value]
    assert "bad.json" in held.value
    assert import_button(at).disabled  # held files wait for "Skip invalid orders"
    at.checkbox(key="import_skip").check().run()
    assert not import_button(at).disabled
    import_button(at).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Imported into 'Skipper' (a new account): 3 new" in at.success[0].value
    assert not [i for i in at.info if "Left out" in i.value or "Kept from" in i.value]


def test_a_file_uploaded_again_replaces_the_copy_kept_from_the_last_try(
    demo_env: Settings,  # noqa: F811
) -> None:
    good = (FIXTURES / "getorders_page1.json").read_bytes()
    at = open_import_page()
    uploader(at).set_value([("good.json", good, "application/json"), ("notes.txt", b"hi", "text/plain")])
    at.radio[0].set_value("A new account").run()
    at.text_input(key="import_new_account").set_value("Again").run()
    import_button(at).click().run()
    assert at.error and any("good.json" in i.value for i in at.info)
    # as most people would: both files chosen again, the good one among them
    uploader(at).set_value([("good.json", good, "application/json")]).run()
    import_button(at).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    success = at.success[0].value
    assert "Imported into 'Again' (a new account): 4 new" in success and "duplicate" not in success
    assert list(at.dataframe[0].value["File"]) == ["good.json"]


def test_an_empty_file_is_said_in_one_sentence(demo_env: Settings) -> None:  # noqa: F811
    at = open_import_page()
    uploader(at).set_value(("empty.csv", b"", "text/csv"))
    at.radio[0].set_value("A new account").run()
    at.text_input(key="import_new_account").set_value("Empty").run()
    import_button(at).click().run()
    assert not at.exception
    [message] = at.error
    assert message.value == "Nothing was imported: empty.csv cannot be imported — the file is empty."


# -- the time zone of a new account ---------------------------------------------------------------

GERMAN_REPORT = ROOT / "tests" / "fixtures" / "import_cases" / "07-ebay-de-report.csv"
FROM_SITE = "From the files' eBay site"


def import_german_report(at: AppTest, account_name: str, zone: str | None = None) -> None:
    """Upload the ebay.de report into a new account; ``zone`` picked on the page, or the default."""
    uploader(at).set_value(("bestellungen.csv", GERMAN_REPORT.read_bytes(), "text/csv"))
    at.radio[0].set_value("A new account").run()
    at.text_input(key="import_new_account").set_value(account_name).run()
    picker = at.selectbox(key=f"import_zone_{account_name}")
    # the default, nothing named; the zone it falls back to is said (AppTest has no browser zone)
    assert picker.options[0] == picker.value == f"{FROM_SITE} (else UTC)"
    if zone is not None:
        picker.set_value(zone).run()
    import_button(at).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def zone_and_dates(settings: Settings, account_name: str) -> tuple[str, dict[str, dt.datetime]]:
    db = Database(make_engine(settings), timeout_ms=5000)
    with db.connect() as conn:
        account_id, zone = conn.execute(
            select(accounts.c.id, accounts.c.timezone).where(accounts.c.name == account_name)
        ).one()
        rows = conn.execute(
            select(orders.c.ebay_order_id, orders.c.order_date).where(orders.c.account_id == account_id)
        ).all()
    db.dispose()
    return zone, {r.ebay_order_id: r.order_date for r in rows}


def test_a_new_account_takes_the_zone_of_its_files_ebay_site_by_default(demo_env: Settings) -> None:  # noqa: F811
    at = open_import_page()
    import_german_report(at, "Kiefer")
    assert "Time zone of the new account: Europe/Berlin, from ebay.de." in at.success[0].value
    zone, dates = zone_and_dates(demo_env, "Kiefer")
    assert zone == "Europe/Berlin"
    # "10-Dez-25" and "03-Mär-26" are midnight in Berlin, winter time (UTC+1)
    assert dates == {
        "11-55555-00001": dt.datetime(2025, 12, 9, 23, 0, tzinfo=dt.UTC),
        "11-55555-00002": dt.datetime(2026, 3, 2, 23, 0, tzinfo=dt.UTC),
    }


def test_a_zone_chosen_on_the_page_wins_over_the_files_site(demo_env: Settings) -> None:  # noqa: F811
    at = open_import_page()
    import_german_report(at, "Kiefer NY", zone="America/New_York")
    success = html.unescape(at.success[0].value)  # the page escapes the "_" of markdown
    assert "Time zone of the new account: America/New_York, as chosen for this import." in success
    zone, dates = zone_and_dates(demo_env, "Kiefer NY")
    assert zone == "America/New_York"
    # midnight in New York, winter time (UTC-5)
    assert dates == {
        "11-55555-00001": dt.datetime(2025, 12, 10, 5, 0, tzinfo=dt.UTC),
        "11-55555-00002": dt.datetime(2026, 3, 3, 5, 0, tzinfo=dt.UTC),
    }


def test_an_existing_accounts_own_zone_stays_the_pickers_default(demo_env: Settings) -> None:  # noqa: F811
    at = open_import_page()
    assert at.radio[0].value == "An existing account"
    chosen = at.selectbox(key="import_account")
    db = Database(make_engine(demo_env), timeout_ms=5000)
    with db.connect() as conn:
        name, zone = conn.execute(
            select(accounts.c.name, accounts.c.timezone).where(accounts.c.id == chosen.value)
        ).one()
    db.dispose()
    picker = at.selectbox(key=f"import_zone_{name}")
    assert picker.value == zone
    # an existing account keeps its zone: nothing to guess
    assert not any(o.startswith(FROM_SITE) for o in picker.options)


# -- a "new" account that exists ------------------------------------------------------------------


def test_a_new_account_named_like_an_existing_one_is_refused_before_importing(
    demo_env: Settings,  # noqa: F811
) -> None:
    db = Database(make_engine(demo_env), timeout_ms=5000)
    with db.connect() as conn:
        name = conn.execute(select(accounts.c.name).order_by(accounts.c.id)).scalars().first()
        before = conn.execute(select(func.count()).select_from(orders)).scalar_one()
    assert name is not None
    at = open_import_page()
    uploader(at).set_value(("bestellungen.csv", GERMAN_REPORT.read_bytes(), "text/csv"))
    at.radio[0].set_value("A new account").run()
    # matched as the import matches names: case and runs of spaces do not count
    at.text_input(key="import_new_account").set_value(f"  {name.upper().replace(' ', '  ')} ").run()
    assert not at.exception, at.exception
    [message] = at.error
    assert html.unescape(message.value) == (
        f"An account called “{name}” exists: choose it under “An existing account”."
    )
    assert import_button(at).disabled  # AppTest, like a browser, cannot click it
    assert not at.success
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == before
    db.dispose()


def test_after_an_import_into_a_new_account_the_form_turns_to_it(
    demo_env: Settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Streamlit logs (once per process) a widget given a default besides a value set in the
    # session state; turning the form to the new account must not be one (control: the
    # selectbox given index= as well logged it for "import_account")
    warned: list[object] = []
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    monkeypatch.setattr(policies._LOGGER, "warning", lambda *args, **_: warned.append(args))
    at = open_import_page()
    import_german_report(at, "Kiefer Again")
    zone, _dates = zone_and_dates(demo_env, "Kiefer Again")
    db = Database(make_engine(demo_env), timeout_ms=5000)
    with db.connect() as conn:
        account_id = conn.execute(select(accounts.c.id).where(accounts.c.name == "Kiefer Again")).scalar_one()
    db.dispose()
    assert at.radio[0].value == "An existing account"
    assert at.selectbox(key="import_account").value == account_id
    assert warned == []
    assert at.selectbox(key="import_zone_Kiefer Again").value == zone  # the account's own now
    # the same file again goes to that account: nothing new, no clash
    uploader(at).set_value(("bestellungen.csv", GERMAN_REPORT.read_bytes(), "text/csv"))
    at.run()
    import_button(at).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Imported into 'Kiefer Again': 0 new, 0 updated, 2 unchanged" in at.success[0].value


def test_a_new_account_from_files_without_a_site_says_the_zone_is_the_browsers(
    demo_env: Settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ebaydash import ui

    monkeypatch.setattr(ui, "browser_timezone", lambda: "Asia/Tokyo")
    bare = (
        "Order Number,Item Title,Quantity,Sold For,Total Price,Sale Date\n"
        "1-11111-00001,Mug,1,9.00,9.00,Sep-14-26 00:30:00\n"
    )
    at = open_import_page()
    uploader(at).set_value(("bare.csv", bare.encode(), "text/csv"))
    at.radio[0].set_value("A new account").run()
    at.text_input(key="import_new_account").set_value("No Site").run()
    import_button(at).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    success = html.unescape(at.success[0].value)
    assert "so EBAY_US and USD were assumed" in success
    assert "Time zone of the new account: Asia/Tokyo, your browser's zone." in success


def test_problems_read_as_sentences_and_many_also_as_a_table(demo_env: Settings) -> None:  # noqa: F811
    """Each problem whole under its file's name (a table's rows of one height cut long messages
    and padded short ones); past PROBLEMS_LISTED, all of them also in a table with set widths."""
    raw = json.loads((FIXTURES / "getorders_page1.json").read_text())
    raw["orders"][2]["lineItems"][0]["quantity"] = -1
    at = open_import_page()
    long_name = "a-rather-long-export-name-from-the-seller-hub-of-2026-09.json"
    uploader(at).set_value((long_name, json.dumps(raw).encode(), "application/json"))
    at.run()
    import_button(at).click().run()
    assert not at.exception, at.exception
    listed = problems_listed(at)
    assert listed.startswith(f"**{long_name}**")
    assert "- Line " in listed and "**orders[2].lineItems[0].quantity**: " in listed
    assert not at.expander or all("as a table" not in e.label for e in at.expander)  # one: no table
    # many problems: the first ones listed, all in a table
    many = ui.PROBLEMS_LISTED + 5
    header = "Order number,Item number,Item title,Quantity,Sold for,Sale date\n"
    rows = "".join(f"1{i:02d}-000,1,Thing,-1,$1.00,Mar-0{1 + i % 9}-26\n" for i in range(many))
    uploader(at).set_value(("many.csv", (header + rows).encode(), "text/csv"))
    at.run()
    import_button(at).click().run()
    assert not at.exception, at.exception
    assert problems_listed(at).count("\n- ") == ui.PROBLEMS_LISTED
    [expander] = [e for e in at.expander if "as a table" in e.label]
    table = expander.dataframe[0]
    assert len(table.value) == many == int(at.subheader[-1].value.removeprefix("Problems (").rstrip(")"))
    config = json.loads(table.proto.columns)
    widths = {name: config[name]["width"] for name in ("File", "Line", "Order", "Column", "Problem")}
    assert sum(widths.values()) <= 920, widths  # the page's width at a 1400 px window
    assert widths["Problem"] >= 400 and widths["File"] >= 150
    # rows taller than 64 px: st.dataframe wraps the text in them, and tall enough for its lines
    assert table.proto.row_height > 64
