"""The kinds of issue 12 that need a database, on SQLite and Postgres: sources merged field by field,
refund states changing later, the account's identity, pathological values with --skip-invalid,
batches inside one transaction, and the reports a person acts on (command line and summary)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ebaydash import services
from ebaydash.cli import main
from ebaydash.context import Context, build_context
from ebaydash.db import upsert
from ebaydash.db.engine import Database
from ebaydash.db.schema import accounts, orders
from ebaydash.errors import ImportFailed
from ebaydash.importers import read_file
from ebaydash.models import OrderRecord
from ebaydash.services import ImportFile
from ebaydash.services import imports as import_service
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT, CountedFile
from tests.export_files import SITES, Layout, Line, Order, render

CASES = ROOT / "tests" / "fixtures" / "import_cases"


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def case(name: str) -> ImportFile:
    return ImportFile(name, (CASES / name).read_bytes())


def run(
    ctx: Context, files: list[ImportFile], account: str = "shop1", **kwargs: Any
) -> services.ImportReport:
    report = services.import_orders(ctx, OPERATOR, files, account_name=account, timezone="UTC", **kwargs)
    assert report.accounted == report.orders_in, report.counts()
    return report


def stored(db: Database) -> dict[str, dict[str, Any]]:
    with db.connect() as conn:
        return {r["ebay_order_id"]: dict(r) for r in conn.execute(select(orders)).mappings()}


def the_account(db: Database) -> dict[str, Any]:
    with db.connect() as conn:
        return dict(conn.execute(select(accounts)).mappings().one())


def getorders(order: dict[str, Any]) -> ImportFile:
    return ImportFile("page.json", json.dumps({"total": 1, "orders": [order]}).encode())


API_ORDER: dict[str, Any] = json.loads((CASES / "17a-getorders-partial-refund.json").read_text())["orders"][0]
REPORT = (CASES / "17b-seller-hub-later.csv").read_text()


def report_file(text: str = REPORT, name: str = "report.csv") -> ImportFile:
    return ImportFile(name, text.encode())


# -- kind 6: merging sources --------------------------------------------------------------------


def test_api_then_a_newer_report_ships_the_order_and_keeps_the_refund(ctx: Context, db: Database) -> None:
    run(ctx, [getorders(API_ORDER)])
    report = run(ctx, [report_file()])
    assert report.updated == 1
    order = stored(db)["27-12121-00001"]
    assert (order["status"], order["refunded_amount"]) == ("shipped", Decimal("7.00"))


def test_a_report_without_a_status_column_never_undoes_a_cancellation(ctx: Context, db: Database) -> None:
    cancelled = copy.deepcopy(API_ORDER)
    cancelled["cancelStatus"]["cancelState"] = "CANCELED"
    run(ctx, [getorders(cancelled)])
    run(ctx, [report_file()])  # newer, says shipped by its dates
    order = stored(db)["27-12121-00001"]
    assert (order["status"], order["refunded_amount"]) == ("cancelled", Decimal("0.00"))


def test_a_full_refund_from_the_api_stays_after_a_report(ctx: Context, db: Database) -> None:
    refunded = copy.deepcopy(API_ORDER)
    refunded["orderPaymentStatus"] = "FULLY_REFUNDED"
    run(ctx, [getorders(refunded)])
    run(ctx, [report_file()])
    order = stored(db)["27-12121-00001"]
    assert (order["status"], order["refunded_amount"]) == ("refunded", Decimal("62.00"))


def test_a_newer_api_page_owns_the_refund_again(ctx: Context, db: Database) -> None:
    run(ctx, [getorders(API_ORDER)])
    run(ctx, [report_file()])
    later = copy.deepcopy(API_ORDER)
    later["lastModifiedDate"] = "2026-09-20T10:00:00.000Z"
    later["orderFulfillmentStatus"] = "FULFILLED"
    later["paymentSummary"]["refunds"].append(
        {"refundId": "RX2", "refundStatus": "REFUNDED", "amount": {"value": "3.00", "currency": "USD"}}
    )
    run(ctx, [getorders(later)])
    order = stored(db)["27-12121-00001"]
    assert (order["status"], order["refunded_amount"]) == ("shipped", Decimal("10.00"))


def test_a_report_with_a_refund_column_owns_refunds_too(ctx: Context, db: Database) -> None:
    run(ctx, [getorders(API_ORDER)])
    text = REPORT.replace('"Transaction ID"', '"Transaction ID","Refund Amount"').replace(
        '"10121210001"', '"10121210001","$9.00"'
    )
    run(ctx, [report_file(text)])
    assert stored(db)["27-12121-00001"]["refunded_amount"] == Decimal("9.00")


def test_an_older_report_changes_nothing(ctx: Context, db: Database) -> None:
    later = copy.deepcopy(API_ORDER)
    later["lastModifiedDate"] = "2026-09-30T10:00:00.000Z"
    run(ctx, [getorders(later)])
    report = run(ctx, [report_file()])
    assert report.older == 1
    assert stored(db)["27-12121-00001"]["refunded_amount"] == Decimal("7.00")


def test_a_report_imported_twice_is_unchanged_the_second_time(ctx: Context, db: Database) -> None:
    run(ctx, [getorders(API_ORDER)])
    run(ctx, [report_file()])
    again = run(ctx, [report_file()])
    assert again.unchanged == 1 and again.updated == 0  # the merged refund counts as the same


# -- kind 5: a refund that completes later ------------------------------------------------------


def test_a_pending_refund_that_completes_later_is_updated(ctx: Context, db: Database) -> None:
    pending = copy.deepcopy(API_ORDER)
    pending["paymentSummary"]["refunds"][0]["refundStatus"] = "PENDING"
    run(ctx, [getorders(pending)])
    assert stored(db)["27-12121-00001"]["refunded_amount"] == Decimal("0.00")
    done = copy.deepcopy(API_ORDER)
    done["lastModifiedDate"] = "2026-09-13T09:00:00.000Z"
    report = run(ctx, [getorders(done)])
    assert report.updated == 1
    assert stored(db)["27-12121-00001"]["refunded_amount"] == Decimal("7.00")


def test_order_and_line_refunds_case_lands_exactly(ctx: Context, db: Database) -> None:
    run(ctx, [case("11-partial-refund-order-and-line-level.json")])
    order = stored(db)["27-88888-00001"]
    assert (order["total_amount"], order["refunded_amount"]) == (Decimal("40.00"), Decimal("12.00"))


# -- kind 7: the account's identity -------------------------------------------------------------


def test_a_german_buyer_does_not_make_a_us_seller_german(ctx: Context, db: Database) -> None:
    german_buyer = copy.deepcopy(API_ORDER)
    german_buyer["lineItems"][0]["purchaseMarketplaceId"] = "EBAY_DE"
    german_buyer["lineItems"][0]["listingMarketplaceId"] = "EBAY_US"
    other = copy.deepcopy(API_ORDER)
    other["orderId"] = "27-12121-00002"
    other["lineItems"][0]["listingMarketplaceId"] = "EBAY_US"
    page = ImportFile("page.json", json.dumps({"total": 2, "orders": [german_buyer, other]}).encode())
    report = run(ctx, [page])
    assert report.committed
    account = the_account(db)
    assert (account["marketplace"], account["currency"]) == ("EBAY_US", "USD")


@pytest.mark.parametrize("code", ["UK", "AU", "DE", "FR"])
def test_a_new_accounts_currency_and_site_come_from_the_report(code: str, ctx: Context, db: Database) -> None:
    site = SITES[code]
    written = [
        Order(
            1,
            "1-11111-00001",
            "b",
            (Line("S1", "Mug", "123456789012", 1, Decimal("9.00")),),
            Decimal(0),
            dt.datetime(2026, 9, 14),
        )
    ]
    run(
        ctx,
        [
            ImportFile(
                "report.csv", render(written, site, Layout(delimiter=";" if site.language != "en" else ","))
            )
        ],
    )
    account = the_account(db)
    assert (account["currency"], account["marketplace"]) == (site.currency, site.marketplace)


# -- kind 8: pathological values, skipped -------------------------------------------------------


def test_pathological_values_are_rejected_and_skip_invalid_imports_the_rest(
    ctx: Context, db: Database
) -> None:
    text = (
        "Order Number,Item Title,Quantity,Sold For,Sale Date\n"
        "1-1,Mug,1,$5.00,Sep-01-26\n"
        f"1-2,Cup,{'9' * 5000},$5.00,Sep-01-26\n"
        "1-3,Bowl\x00,1,$5.00,Sep-01-26\n"
    ).encode() + b"1-4,Plate \xed\xa0\x80,1,$5.00,Sep-01-26\n"
    stopped = run(ctx, [ImportFile("bad.csv", text)])
    assert not stopped.committed and stopped.rejected == 3 and stopped.held_back == 1
    assert [(e.line, e.field) for e in stopped.errors] == [
        (3, "Quantity"),
        (4, "Item Title"),
        (5, "Item Title"),
    ]
    report = run(ctx, [ImportFile("bad.csv", text)], skip_invalid=True)
    assert report.committed and report.imported == 1
    assert set(stored(db)) == {"1-1"}


# -- kind 9: batches inside one transaction -----------------------------------------------------


def _many(n: int) -> ImportFile:
    rows = ["Order Number,Item Title,Quantity,Sold For,Sale Date"]
    rows += [f"{k}-1,Mug {k},1,$5.00,Sep-01-26" for k in range(n)]
    return ImportFile("many.csv", "\n".join(rows).encode())


def test_orders_are_written_in_batches_all_or_nothing(
    ctx: Context, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_service, "BATCH_ORDERS", 7)
    calls: list[int] = []
    real = upsert.upsert_orders

    def counting(conn: Any, account_id: int, records: Any, **kwargs: Any) -> upsert.UpsertCounts:
        calls.append(len(records))
        if len(calls) == 4:
            raise RuntimeError("the disk is full")  # a failure after three batches were written
        return real(conn, account_id, records, **kwargs)

    monkeypatch.setattr(upsert, "upsert_orders", counting)
    with pytest.raises(RuntimeError):
        run(ctx, [_many(30)])
    assert calls == [7, 7, 7, 7]
    assert stored(db) == {}  # the three written batches were rolled back with the fourth
    calls.clear()
    monkeypatch.setattr(upsert, "upsert_orders", real)
    report = run(ctx, [_many(30)])
    assert report.imported == 30 and len(stored(db)) == 30


def test_files_that_change_between_the_check_and_the_write_write_nothing(
    ctx: Context, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_service, "BATCH_ORDERS", 7)
    first, second = _many(30).data, _many(20).data
    assert first is not None and second is not None
    opened: list[int] = []

    class Shrinking(ImportFile):
        """Checked with 30 orders; by the time it is written again, 10 are gone."""

        def open(self) -> Any:
            opened.append(1)
            return io.BytesIO(first if len(opened) == 1 else second)

    with pytest.raises(ImportFailed, match="the files changed while they were being imported"):
        run(ctx, [Shrinking("many.csv", first)])
    assert len(opened) == 2
    assert stored(db) == {}  # three batches were written before the end showed it; all rolled back
    with db.connect() as conn:
        assert conn.execute(select(accounts)).first() is None  # the new account too


def _records(n: int) -> list[OrderRecord]:
    data = _many(n).data
    assert data is not None
    return read_file("many.csv", data, zone=ZoneInfo("UTC")).orders


def test_write_import_takes_batches_in_one_transaction(db: Database) -> None:
    records = _records(25)
    steps: list[float] = []
    arguments: dict[str, Any] = {
        "account_name": "shop1",
        "ebay_user_id": "shop1",
        "currency": "USD",
        "timezone": "UTC",
        "marketplace": "EBAY_US",
    }

    def failing() -> Iterator[list[OrderRecord]]:
        yield records[:10]
        yield records[10:20]
        raise OSError("the file went away")

    with pytest.raises(OSError, match="went away"):
        upsert.write_import(db, failing(), **arguments)
    assert stored(db) == {}  # two written batches rolled back with the failure
    assert upsert.find_account(db, "shop1") is None

    batches = (records[k : k + 10] for k in range(0, 25, 10))
    written = upsert.write_import(
        db, batches, total=25, progress=lambda fraction, _step: steps.append(fraction), **arguments
    )
    assert written.account_created and written.counts == upsert.UpsertCounts(imported=25)
    assert set(stored(db)) == {r.ebay_order_id for r in records}
    assert steps == sorted(steps) and steps[-1] == 1.0  # one bar over all batches, never back
    again = upsert.write_import(db, [records[:5], records[5:]], **arguments)
    assert not again.account_created and again.counts == upsert.UpsertCounts(unchanged=25)


def test_a_file_on_disk_is_read_as_a_stream_twice(ctx: Context, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    data = _many(12).data
    assert data is not None
    path.write_bytes(data)
    counted = CountedFile("many.csv", path=path)
    report = run(ctx, [counted])
    assert report.imported == 12 and len(counted.openings) == 2  # checked, then written: never held whole


def test_copies_of_an_order_keep_the_newest_across_files(ctx: Context, db: Database) -> None:
    newer = copy.deepcopy(API_ORDER)
    newer["lastModifiedDate"] = "2026-09-20T10:00:00.000Z"
    newer["orderFulfillmentStatus"] = "FULFILLED"
    report = run(ctx, [getorders(newer), getorders(API_ORDER)])
    assert (report.imported, report.duplicates) == (1, 1)
    assert stored(db)["27-12121-00001"]["status"] == "shipped"


# -- kind 10: reports a person can act on -------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "is empty"),
        (b"name,price\nwidget,1.00\n", "cannot be imported"),
        (b"PK\x03\x04rest", "Excel workbook"),
    ],
)
def test_an_unrecognised_or_empty_file_is_said_in_one_sentence(ctx: Context, data: bytes, words: str) -> None:
    report = run(ctx, [ImportFile("upload.csv", data)])
    assert report.failed and not report.committed
    assert words in report.summary and "0 of 0" not in report.summary
    assert report.summary.count(". ") <= 1


def test_a_stopped_import_says_how_to_import_the_rest(ctx: Context) -> None:
    report = run(ctx, [case("05-unescaped-quote-in-title.csv")])
    assert report.failed
    assert "skip invalid" in report.summary
    assert "--skip-invalid" in report.summary_text(skip_hint="run it again with --skip-invalid")


def test_the_command_imports_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("EBAYDASH_REDIS_URL", raising=False)
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("01-footer-count-own-cell.csv", "06-semicolon-excel-resave.csv", "README.md"):
        (folder / name).write_bytes((CASES / name).read_bytes())
    code = main(["import", str(folder), "--account", "folder shop", "--timezone", "UTC"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Importing 2 files" in out and "README" not in out
    assert "4 new" in out


def test_the_command_says_a_folder_without_order_files_is_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.md").write_text("hello")
    assert main(["import", str(tmp_path), "--account", "x"]) == 2
    assert "is a folder without order files" in capsys.readouterr().err


def test_a_line_cost_not_divisible_by_its_quantity_lands_exactly(ctx: Context, db: Database) -> None:
    odd = copy.deepcopy(API_ORDER)
    odd["lineItems"][0]["quantity"] = 3
    odd["lineItems"][0]["lineItemCost"]["value"] = "50.00"  # 3 × 16.666…
    first = run(ctx, [getorders(odd)])
    assert first.committed and first.imported == 1
    from ebaydash.db.schema import order_items

    with db.connect() as conn:
        items = conn.execute(select(order_items.c.quantity, order_items.c.unit_price)).all()
    assert sum(q for q, _ in items) == 3
    assert sum(q * p for q, p in items) == Decimal("50.00")
    again = run(ctx, [getorders(odd)])
    assert again.unchanged == 1  # the same file again changes nothing


def test_an_unreadable_file_beside_a_good_one_is_named(ctx: Context) -> None:
    report = run(ctx, [case("01-footer-count-own-cell.csv"), ImportFile("notes.txt", b"hello")])
    assert report.summary.startswith("Nothing was imported: notes.txt could not be read (1 listed below).")
    assert "skip invalid orders to import the other 2" in report.summary
    skipped = run(
        ctx, [case("01-footer-count-own-cell.csv"), ImportFile("notes.txt", b"hello")], skip_invalid=True
    )
    assert skipped.committed and skipped.imported == 2


def test_an_older_api_page_still_adds_its_refund_to_a_newer_report(ctx: Context, db: Database) -> None:
    run(ctx, [report_file()])  # the report first: shipped, no refund known
    report = run(ctx, [getorders(API_ORDER)])  # older than the report's shipping date
    assert report.updated == 1
    order = stored(db)["27-12121-00001"]
    assert (order["status"], order["refunded_amount"]) == ("shipped", Decimal("7.00"))


def test_an_older_cancellation_from_the_api_stands_over_a_newer_reports_dates(
    ctx: Context, db: Database
) -> None:
    run(ctx, [report_file()])
    cancelled = copy.deepcopy(API_ORDER)
    cancelled["cancelStatus"]["cancelState"] = "CANCELED"
    run(ctx, [getorders(cancelled)])
    order = stored(db)["27-12121-00001"]
    assert (order["status"], order["refunded_amount"]) == ("cancelled", Decimal("0.00"))


def test_an_older_report_adds_nothing_to_a_newer_api_page(ctx: Context, db: Database) -> None:
    later = copy.deepcopy(API_ORDER)
    later["lastModifiedDate"] = "2026-09-30T10:00:00.000Z"
    run(ctx, [getorders(later)])
    before = stored(db)
    report = run(ctx, [report_file()])  # knows neither refunds nor cancellations
    assert report.older == 1 and stored(db) == before
