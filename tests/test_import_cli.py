"""``ebaydash import``: output, exit codes and the rejects file, end to end on SQLite."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ebaydash.cli import main
from ebaydash.db import migrations
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import orders
from ebaydash.settings import Settings
from tests.conftest import ROOT
from tests.test_importers import FIXTURES


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", url)
    db = Database(make_engine(Settings(database_url=url)), timeout_ms=5000)
    migrations.upgrade(db)
    return db


def order_count(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(orders)).scalar_one())


def test_import_creates_the_account_and_says_so(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(FIXTURES / "getorders_page1.json"), str(FIXTURES / "getorders_page2.json")]
    assert main(["import", *files, "--account", "Retro Records"]) == 0
    out = capsys.readouterr().out
    # the listing site's zone: ebay.com shows Pacific time
    assert (
        "Created the account 'Retro Records' (it did not exist): USD, EBAY_US, time zone America/Los_Angeles."
        in out
    )
    assert "6 new, 0 updated, 0 unchanged" in out
    assert "6 imported = 6 of 6 in the files" in out
    assert order_count(database) == 6
    # again: nothing new, and the account is not created twice
    assert main(["import", *files, "--account", "Retro Records"]) == 0
    out = capsys.readouterr().out
    assert "Created the account" not in out and "6 unchanged" in out


def test_problems_stop_the_import_with_exit_code_1_and_every_one_is_listed(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = json.loads((FIXTURES / "getorders_page1.json").read_text())
    raw["orders"][0]["lineItems"][0]["quantity"] = 0
    raw["orders"][3]["pricingSummary"]["total"]["value"] = "lots"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw, indent=2))
    rejects = tmp_path / "problems.csv"
    code = main(["import", str(bad), "--account", "Shop", "--rejects", str(rejects)])
    out = capsys.readouterr().out
    assert code == 1
    assert "Nothing was imported" in out
    text = bad.read_text()
    line = text[: text.rfind("{", 0, text.index('"12-10000-00001"'))].count("\n") + 1
    assert f"bad.json, line {line} (order 12-10000-00001): orders[0].lineItems[0].quantity" in out
    assert "orders[3].pricingSummary.total.value: 'lots' is not an amount" in out
    assert "2 rejected + 2 held back = 4 of 4" in out
    assert order_count(database) == 0
    rows = list(csv.DictReader(rejects.open()))
    assert [r["order_id"] for r in rows] == ["12-10000-00001", "12-10000-00004"]

    # the same file with --skip-invalid imports the two good orders
    assert main(["import", str(bad), "--account", "Shop", "--skip-invalid", "--rejects", str(rejects)]) == 0
    out = capsys.readouterr().out
    assert "2 new" in out and "2 rejected" in out
    assert order_count(database) == 2
    assert len(list(csv.DictReader(rejects.open()))) == 2


def test_a_missing_file_or_bad_zone_is_a_usage_error(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "/nonexistent/orders.csv", "--account", "Shop"]) == 2
    assert "no such file" in capsys.readouterr().err
    csv_file = str(FIXTURES / "seller_hub_orders.csv")
    assert main(["import", csv_file, "--account", "Shop", "--timezone", "Moon/Base"]) == 2
    assert "not a time zone" in capsys.readouterr().err
    assert order_count(database) == 0


def test_the_timezone_option_places_seller_hub_dates(database: Database) -> None:
    csv_file = str(FIXTURES / "seller_hub_orders.csv")
    assert main(["import", csv_file, "--account", "Gadgets", "--timezone", "Asia/Tokyo"]) == 0
    with database.connect() as conn:
        first = conn.execute(
            select(orders.c.order_date).where(orders.c.ebay_order_id == "23-20000-00001")
        ).scalar()
    # Sep-30-26 23:45:00 in Tokyo (UTC+9)
    assert first is not None and first.isoformat() == "2026-09-30T14:45:00+00:00"


def test_a_file_that_is_not_ebays_gets_no_empty_tally(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list: milk, eggs\n")
    assert main(["import", str(notes), "--account", "Shop"]) == 1
    out = capsys.readouterr().out
    assert "notes.txt" in out and "0 of 0" not in out  # the reason, not "Orders: 0 = 0 of 0"
    assert order_count(database) == 0


def test_the_created_line_names_the_zone_a_money_import_gave_the_account(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a money import's report does not name the new account's zone: the line says the one stored
    monkeypatch.setenv("EBAYDASH_TIMEZONE", "Asia/Kolkata")
    report = ROOT / "tests" / "fixtures" / "money" / "transaction_report_us.csv"
    assert main(["import", str(report), "--account", "Payouts"]) == 0
    out = capsys.readouterr().out
    assert "Created the account 'Payouts' (it did not exist):" in out
    assert ", time zone Asia/Kolkata." in out


def account_names(db: Database) -> dict[int, str]:
    from ebaydash.db.schema import accounts

    with db.connect() as conn:
        return {int(r.id): str(r.name) for r in conn.execute(select(accounts.c.id, accounts.c.name))}


def test_account_takes_an_existing_accounts_id_like_the_other_commands(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    page1, page2 = (str(FIXTURES / f"getorders_page{n}.json") for n in (1, 2))
    assert main(["import", page1, "--account", "Retro Records"]) == 0
    [(account_id, _name)] = account_names(database).items()
    capsys.readouterr()
    # its id, all digits: the account, not a new one called so
    assert main(["import", page2, "--account", str(account_id)]) == 0
    out = capsys.readouterr().out
    assert "Created the account" not in out
    assert "Imported into 'Retro Records':" in out
    assert account_names(database) == {account_id: "Retro Records"}
    assert order_count(database) == 6


def test_account_that_is_neither_a_name_nor_an_id_is_created(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(FIXTURES / "getorders_page1.json"), "--account", "Retro Records"]) == 0
    capsys.readouterr()
    # no account has id 99: "99" is a new account's name
    assert main(["import", str(FIXTURES / "getorders_page2.json"), "--account", "99"]) == 0
    assert "Created the account '99' (it did not exist)" in capsys.readouterr().out
    assert sorted(account_names(database).values()) == ["99", "Retro Records"]


def test_the_import_help_says_account_takes_an_id(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "an id, all digits, also works when no account has that name" in out
    assert "a new account of this name is created" in out
