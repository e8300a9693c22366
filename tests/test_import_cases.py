"""The real-world cases of issue 12 (tests/fixtures/import_cases/README.md states each outcome), each
imported with ``ebaydash import FILE --account shop1`` into a fresh SQLite database, as a seller would.

The expected values come from the README, not from our code; each refusal is checked for the words
that make it actionable (the line, the column, the cause) and for nothing written.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ebaydash.cli import main
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import accounts, order_items, orders
from ebaydash.settings import Settings
from tests.conftest import ROOT

CASES = ROOT / "tests" / "fixtures" / "import_cases"


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A database that does not exist yet: the import must create what it needs."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", url)
    monkeypatch.delenv("EBAYDASH_REDIS_URL", raising=False)
    db = Database(make_engine(Settings(database_url=url)), timeout_ms=5000)
    yield db
    db.dispose()


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *names: str, extra: tuple[str, ...] = ()
) -> tuple[int, str]:
    # copied under neutral names: a file called "...quote..." must not answer for the message
    paths = []
    for n, name in enumerate(names):
        target = tmp_path / f"upload{n}{Path(name).suffix}"
        shutil.copy(CASES / name, target)
        paths.append(str(target))
    code = main(["import", *paths, "--account", "shop1", *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def stored(db: Database) -> dict[str, dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(select(orders)).mappings().all()
    return {r["ebay_order_id"]: dict(r) for r in rows}


def titles(db: Database) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(select(order_items.c.title).order_by(order_items.c.id)).scalars())


def account(db: Database) -> dict[str, Any]:
    with db.connect() as conn:
        return dict(conn.execute(select(accounts)).mappings().one())


@pytest.mark.parametrize(
    ("name", "totals"),
    [
        ("01-footer-count-own-cell.csv", {"21-11111-00001": "22.50", "21-11111-00002": "60.00"}),
        ("02-blank-order-number-commitment.csv", {"21-11111-00001": "22.50"}),
        ("06-semicolon-excel-resave.csv", {"22-44444-00001": "30.00", "22-44444-00003": "15.00"}),
        ("07-ebay-de-report.csv", {"11-55555-00001": "1121.98", "11-55555-00002": "17.00"}),
        ("08-excel-unicode-text-utf16-tab.csv", {"22-44444-00001": "30.00", "22-44444-00004": "9.00"}),
    ],
)
def test_reports_of_every_shape_import_their_orders_exactly(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, totals: dict[str, str]
) -> None:
    code, out = run(capsys, tmp_path, name)
    assert code == 0, out
    assert "Traceback" not in out
    got = {k: v["total_amount"] for k, v in stored(fresh).items()}
    assert got == {k: Decimal(v) for k, v in totals.items()}


def test_the_footer_is_a_row_that_is_not_an_order(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "01-footer-count-own-cell.csv")
    assert code == 0
    assert "footer" in out and "problem:" not in out and "problems:" not in out
    # the count "2" is not sales record 2, nor an order
    assert set(stored(fresh)) == {"21-11111-00001", "21-11111-00002"}


def test_a_commitment_is_listed_as_not_an_order_never_as_an_error(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "02-blank-order-number-commitment.csv")
    assert code == 0
    assert "unpaid commitment" in out and "line 5" in out
    assert "problem:" not in out and "problems:" not in out
    assert "warning" not in out  # the footer's 2 records are the order and the commitment


def test_german_report_dates_and_currency(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "07-ebay-de-report.csv")
    assert code == 0, out
    rows = stored(fresh)
    assert {r["currency"] for r in rows.values()} == {"EUR"}
    shop = account(fresh)
    assert (shop["currency"], shop["marketplace"], shop["timezone"]) == ("EUR", "EBAY_DE", "Europe/Berlin")
    # the report's days are ebay.de's, so the account's: stored in UTC, midnight in Berlin is the
    # day before (23:00 UTC in winter), and the day the seller sees is the local one
    zone = ZoneInfo(shop["timezone"])
    assert rows["11-55555-00001"]["order_date"].astimezone(zone).date().isoformat() == "2025-12-10"
    assert rows["11-55555-00002"]["order_date"].astimezone(zone).date().isoformat() == "2026-03-03"


def test_an_unescaped_quote_is_named_with_its_line_and_column_and_nothing_is_imported(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "05-unescaped-quote-in-title.csv")
    assert code == 1
    problems = out.split("1 problem:")[1].strip().splitlines()
    assert len(problems) == 1, out
    assert "line 4" in problems[0] and "Item Title" in problems[0] and "quote" in problems[0]
    assert "--skip-invalid" in out  # the all-or-nothing message says how to import the rest
    assert stored(fresh) == {}


def test_the_unescaped_quote_never_alters_a_title_even_when_skipping(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "05-unescaped-quote-in-title.csv", extra=("--skip-invalid",))
    assert code == 0, out
    assert titles(fresh) == ["Jazz LP, first press"]  # the damaged row is out, not shifted in


def test_item_numbers_in_scientific_notation_are_refused_with_how_to_export_again(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "10-excel-scientific-item-numbers.csv")
    assert code == 1
    assert "scientific notation" in out and "Excel" in out and "again" in out
    assert "two different titles" in out  # the two items the damage made one are pointed out
    assert stored(fresh) == {}


def test_refunds_at_order_and_line_level_add_up(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "11-partial-refund-order-and-line-level.json")
    assert code == 0, out
    order = stored(fresh)["27-88888-00001"]
    assert order["refunded_amount"] == Decimal("12.00")
    assert order["total_amount"] - order["refunded_amount"] == Decimal("28.00")


def test_a_later_seller_hub_report_keeps_the_refund_the_api_knew(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "17a-getorders-partial-refund.json")
    assert code == 0, out
    assert stored(fresh)["27-12121-00001"]["status"] == "paid"
    code, out = run(capsys, tmp_path, "17b-seller-hub-later.csv")
    assert code == 0, out
    assert "1 updated" in out  # the report is newer: it ships the order ...
    order = stored(fresh)["27-12121-00001"]
    assert order["status"] == "shipped"
    assert order["refunded_amount"] == Decimal("7.00")  # ... and keeps the refund
    assert order["total_amount"] - order["refunded_amount"] == Decimal("55.00")


def test_a_report_that_shows_refunds_does_set_them(
    fresh: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # negative control of the case above: a source that knows refunds owns them
    run(capsys, tmp_path, "17a-getorders-partial-refund.json")
    text = (CASES / "17b-seller-hub-later.csv").read_text()
    text = text.replace('"Transaction ID"', '"Transaction ID","Refund Amount"').replace(
        '"10121210001"', '"10121210001","$0.00"'
    )
    (tmp_path / "with-refunds.csv").write_text(text)
    code = main(["import", str(tmp_path / "with-refunds.csv"), "--account", "shop1"])
    capsys.readouterr()
    assert code == 0
    assert stored(fresh)["27-12121-00001"]["refunded_amount"] == Decimal("0.00")
