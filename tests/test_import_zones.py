"""A new account's time zone, when an import creates it: that of the eBay site its files come from
(a Seller Hub report writes the site's local time without saying so), unless the person importing
names one; an existing account keeps its own; dates that name their zone are read in it.

The expected zones are written here from the sites themselves, not read from ebaydash's table: each
country's zone, Sydney and Toronto for Australia and Canada, and Pacific time for ebay.com (eBay's
"official time", in which the US site shows its times).
"""

from __future__ import annotations

import datetime as dt
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
from ebaydash.db.engine import Database
from ebaydash.db.schema import accounts, day_rollups, orders
from ebaydash.importers import read_file
from ebaydash.services import ImportFile
from ebaydash.services import imports as import_service
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT, CountedFile
from tests.export_files import SITES, Layout, Line, Order, render

CASES = ROOT / "tests" / "fixtures" / "import_cases"
# not UTC, and no eBay site's: a zone that comes from the setting shows as such
SETTING_ZONE = "Asia/Kolkata"
SITE_ZONES = {
    "US": ("America/Los_Angeles", "ebay.com"),
    "UK": ("Europe/London", "ebay.co.uk"),
    "AU": ("Australia/Sydney", "ebay.com.au"),
    "CA": ("America/Toronto", "ebay.ca"),
    "DE": ("Europe/Berlin", "ebay.de"),
    "FR": ("Europe/Paris", "ebay.fr"),
    "IT": ("Europe/Rome", "ebay.it"),
    "ES": ("Europe/Madrid", "ebay.es"),
}
# just after midnight: which UTC day it falls on depends on the zone it is read in
SALE = dt.datetime(2026, 9, 14, 0, 30)


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    context = build_context(settings.replace(timezone=SETTING_ZONE), start_sampler=False)
    yield context
    context.close()


def run_import(ctx: Context, files: list[ImportFile], **kwargs: Any) -> services.ImportReport:
    report = services.import_orders(ctx, OPERATOR, files, account_name="shop1", **kwargs)
    assert report.accounted == report.orders_in, report.counts()
    return report


def the_account(db: Database) -> dict[str, Any]:
    with db.connect() as conn:
        return dict(conn.execute(select(accounts)).mappings().one())


def order_dates(db: Database) -> dict[str, dt.datetime]:
    with db.connect() as conn:
        rows = conn.execute(select(orders.c.ebay_order_id, orders.c.order_date))
        return {row.ebay_order_id: row.order_date for row in rows}


def days(db: Database) -> list[dt.date]:
    with db.connect() as conn:
        return sorted(conn.execute(select(day_rollups.c.day)).scalars())


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def report_of(code: str, *sales: dt.datetime, first_record: int = 1) -> ImportFile:
    written = [
        Order(
            first_record + n,
            f"1-11111-{first_record + n:05d}",
            f"buyer{n}",
            (Line(f"S{n}", "Mug", f"12345678{first_record + n:04d}", 1, Decimal("9.00")),),
            Decimal(0),
            sale,
        )
        for n, sale in enumerate(sales)
    ]
    layout = Layout(delimiter=";" if SITES[code].language != "en" else ",")
    return ImportFile(f"report-{code}.csv", render(written, SITES[code], layout))


@pytest.mark.parametrize("code", sorted(SITE_ZONES))
def test_a_new_account_takes_the_zone_of_its_reports_site(code: str, ctx: Context, db: Database) -> None:
    zone, domain = SITE_ZONES[code]
    report = run_import(ctx, [report_of(code, SALE)])
    assert report.committed, report.summary
    assert the_account(db)["timezone"] == zone
    assert order_dates(db) == {"1-11111-00001": local(SALE, zone)}  # the dates read in it too
    assert days(db) == [SALE.date()]  # so the report's day is the account's day
    assert f"Time zone of the new account: {zone}, from {domain}." in report.summary


def test_the_german_case_gets_berlin_and_its_local_days(ctx: Context, db: Database) -> None:
    name = "07-ebay-de-report.csv"
    report = run_import(ctx, [ImportFile(name, (CASES / name).read_bytes())])
    assert report.committed, report.summary
    assert (the_account(db)["timezone"], the_account(db)["marketplace"]) == ("Europe/Berlin", "EBAY_DE")
    # "10-Dez-25" and "03-Mär-26": midnight in Berlin, winter time (UTC+1)
    assert order_dates(db) == {
        "11-55555-00001": dt.datetime(2025, 12, 9, 23, 0, tzinfo=dt.UTC),
        "11-55555-00002": dt.datetime(2026, 3, 2, 23, 0, tzinfo=dt.UTC),
    }
    assert days(db) == [dt.date(2025, 12, 10), dt.date(2026, 3, 3)]
    assert "Europe/Berlin, from ebay.de" in report.summary


def test_an_api_page_of_a_site_gives_its_zone_to_the_days(ctx: Context, db: Database) -> None:
    api: dict[str, Any] = json.loads((CASES / "17a-getorders-partial-refund.json").read_text())["orders"][0]
    order = json.loads(json.dumps(api).replace('"USD"', '"EUR"'))
    order["creationDate"] = order["lastModifiedDate"] = "2026-09-14T22:30:00.000Z"
    order["lineItems"][0]["listingMarketplaceId"] = "EBAY_DE"
    page = ImportFile("page.json", json.dumps({"total": 1, "orders": [order]}).encode())
    report = run_import(ctx, [page])
    assert report.committed, report.summary
    assert the_account(db)["timezone"] == "Europe/Berlin"
    assert days(db) == [dt.date(2026, 9, 15)]  # 00:30 in Berlin (summer time, UTC+2)
    assert "Europe/Berlin, from ebay.de" in report.summary


def test_a_zone_named_for_the_import_wins_over_the_site(ctx: Context, db: Database) -> None:
    report = run_import(ctx, [report_of("DE", SALE)], timezone="America/New_York")
    assert the_account(db)["timezone"] == "America/New_York"
    assert order_dates(db) == {"1-11111-00001": local(SALE, "America/New_York")}
    assert "Time zone of the new account: America/New_York, as chosen for this import." in report.summary


def test_an_existing_account_keeps_its_zone(ctx: Context, db: Database) -> None:
    run_import(ctx, [report_of("DE", SALE)], timezone="Asia/Tokyo")
    later = dt.datetime(2026, 9, 20, 0, 30)
    report = run_import(ctx, [report_of("DE", later, first_record=2)])
    assert report.committed and not report.account_created
    assert the_account(db)["timezone"] == "Asia/Tokyo"
    assert order_dates(db)["1-11111-00002"] == local(later, "Asia/Tokyo")
    assert "Time zone" not in report.summary


def test_dates_that_name_their_zone_are_read_in_it(ctx: Context, db: Database) -> None:
    data = report_of("DE", SALE).data
    assert data is not None
    text, written = data.decode("utf-8-sig"), SITES["DE"].date(SALE)
    assert text.count(written) == 1  # the sale date, as ebay.de writes it
    named = text.replace(written, f"{written} UTC")
    report = run_import(ctx, [ImportFile("report.csv", named.encode())])
    assert report.committed, report.summary
    assert the_account(db)["timezone"] == "Europe/Berlin"  # the report is still ebay.de's
    assert order_dates(db) == {"1-11111-00001": SALE.replace(tzinfo=dt.UTC)}


def test_a_report_that_does_not_say_its_site_leaves_the_setting(ctx: Context, db: Database) -> None:
    # English headings and amounts without a currency: any English-speaking site could write them
    text = (
        "Order Number,Item Title,Quantity,Sold For,Total Price,Sale Date\n"
        "1-11111-00001,Mug,1,9.00,9.00,Sep-14-26 00:30:00\n"
    )
    parsed = read_file("bare.csv", text.encode(), zone=ZoneInfo("UTC"))
    assert parsed.marketplace is None and parsed.orders[0].marketplace is None
    report = run_import(ctx, [ImportFile("bare.csv", text.encode())])
    assert report.committed, report.summary
    assert the_account(db)["timezone"] == SETTING_ZONE
    assert order_dates(db) == {"1-11111-00001": local(SALE, SETTING_ZONE)}
    assert (
        "The files do not say their eBay site and currency, so EBAY_US and USD were assumed. "
        f"Time zone of the new account: {SETTING_ZONE}, from the EBAYDASH_TIMEZONE setting."
    ) in report.summary


BARE_REPORT = (
    "Order Number,Item Title,Quantity,Sold For,Total Price,Sale Date\n"
    "1-11111-00001,Mug,1,9.00,9.00,Sep-14-26 00:30:00\n"
)


def test_a_report_that_does_not_say_its_site_takes_the_fallback_zone(ctx: Context, db: Database) -> None:
    """The page gives the browser's zone for files that do not say their site: it wins over the
    setting there, and only there (a site's zone still wins over it)."""
    report = run_import(ctx, [ImportFile("bare.csv", BARE_REPORT.encode())], fallback_timezone="Asia/Tokyo")
    assert report.committed, report.summary
    assert the_account(db)["timezone"] == "Asia/Tokyo"
    assert order_dates(db) == {"1-11111-00001": local(SALE, "Asia/Tokyo")}
    assert "Asia/Tokyo, the zone given for files that do not say their eBay site" in report.summary
    assert "EBAY_US and USD were assumed" in report.summary


def test_the_summary_says_whose_the_fallback_zone_is(ctx: Context, db: Database) -> None:
    """The page says the zone is the browser's: the summary takes its words."""
    report = run_import(
        ctx,
        [ImportFile("bare.csv", BARE_REPORT.encode())],
        fallback_timezone="Asia/Tokyo",
        fallback_source="your browser's zone",
    )
    assert report.committed, report.summary
    assert (
        "The files do not say their eBay site and currency, so EBAY_US and USD were assumed. "
        "Time zone of the new account: Asia/Tokyo, your browser's zone."
    ) in report.summary


def test_a_site_the_files_say_is_not_called_assumed(ctx: Context, db: Database) -> None:
    report = run_import(ctx, [report_of("DE", SALE)], fallback_timezone="Asia/Tokyo")
    assert report.committed, report.summary
    assert "assumed" not in report.summary


def test_a_site_s_zone_wins_over_the_fallback_zone(ctx: Context, db: Database) -> None:
    data = report_of("DE", SALE).data
    assert data is not None
    report = run_import(ctx, [ImportFile("report.csv", data)], fallback_timezone="Asia/Tokyo")
    assert report.committed, report.summary
    assert the_account(db)["timezone"] == "Europe/Berlin"


def test_the_check_reads_the_files_once_when_the_first_orders_tell_the_site(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "report.csv"
    data = report_of("DE", SALE).data
    assert data is not None
    path.write_bytes(data)
    counted = CountedFile("report.csv", path=path)
    report = run_import(ctx, [counted])
    assert report.committed
    assert len(counted.openings) == 3  # the first orders, the check, the write: never checked twice


def test_dates_are_read_again_when_the_first_orders_told_another_site(
    ctx: Context, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as if the first orders had come from ebay.com.au: all of them say ebay.de
    monkeypatch.setattr(import_service, "_first_orders_site", lambda *_args: "EBAY_AU")
    # Sydney's clocks skip from 02:00 to 03:00 on 4 October 2026; Berlin's do not
    skipped = dt.datetime(2026, 10, 4, 2, 30)
    report = run_import(ctx, [report_of("DE", SALE, skipped)])
    assert report.committed, report.summary
    assert the_account(db)["timezone"] == "Europe/Berlin"
    assert order_dates(db) == {
        "1-11111-00001": local(SALE, "Europe/Berlin"),
        "1-11111-00002": local(skipped, "Europe/Berlin"),
    }


def test_the_command_says_the_new_accounts_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("EBAYDASH_REDIS_URL", raising=False)
    monkeypatch.delenv("EBAYDASH_TIMEZONE", raising=False)
    path = tmp_path / "bestellungen.csv"
    path.write_bytes((CASES / "07-ebay-de-report.csv").read_bytes())
    code = main(["import", str(path), "--account", "shop1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Time zone of the new account: Europe/Berlin, from ebay.de." in out
    assert "Created the account 'shop1' (it did not exist): EUR, EBAY_DE, time zone Europe/Berlin." in out
