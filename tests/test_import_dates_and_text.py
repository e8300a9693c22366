"""Dates and text a tester found imported wrongly without a word, through the import service on
SQLite and Postgres, with the stored values checked exactly:

1. slashed dates (``09/03/2026``) have one order per file: settled by the file's own dates, else
   the convention of its eBay site (said in a warning); a date against the settled order is a
   problem of its line;
2. an order dated more than a day after now, or before eBay opened, is a problem of its line (and
   two-digit years are read in eBay's lifetime);
3. UTF-8 encoded twice (``CafÃ©``) is repaired with a warning; correct text (``São``, ``Ã``) is not
   touched;
4. a file cut off inside a quoted value is said to be cut off, not blamed on its quoting.

Every test names its negative control: the edit of the new code that made it fail, run once and
undone.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from ebaydash import services
from ebaydash.context import Context, build_context
from ebaydash.db.engine import Database
from ebaydash.db.schema import order_items, orders
from ebaydash.importers import encoding
from ebaydash.services import ImportFile
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, ROOT

NOW = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)
HEADER = (
    '"Sales Record Number","Order Number","Buyer Username","Item Number","Item Title","Custom Label",'
    '"Quantity","Sold For","Shipping And Handling","Total Price","Sale Date","Paid On Date",'
    '"Shipped On Date","Transaction ID"'
)
API_ORDER: dict[str, Any] = json.loads(
    (ROOT / "tests" / "fixtures" / "import_cases" / "17a-getorders-partial-refund.json").read_text()
)["orders"][0]


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def row(n: int, sale: str, *, symbol: str = "£", title: str = "Walnut tray", paid: str = "") -> str:
    return (
        f'"{n}","11-11111-{n:05d}","buyer{n}","3500000000{n:02d}","{title}","TRAY-{n}","1",'
        f'"{symbol}50.00","{symbol}2.00","{symbol}52.00","{sale}","{paid}","","{n}"'
    )


def report_file(*rows: str, name: str = "orders.csv") -> ImportFile:
    return ImportFile(name, ("\r\n".join([HEADER, *rows]) + "\r\n").encode())


def run(ctx: Context, files: list[ImportFile], **kwargs: Any) -> services.ImportReport:
    report = services.import_orders(
        ctx, OPERATOR, files, account_name="shop1", timezone="UTC", now=NOW, **kwargs
    )
    assert report.accounted == report.orders_in, report.counts()
    return report


def order_dates(db: Database) -> dict[str, dt.datetime]:
    with db.connect() as conn:
        return {r.ebay_order_id: r.order_date for r in conn.execute(select(orders))}


def titles(db: Database) -> dict[str, str]:
    query = select(orders.c.ebay_order_id, order_items.c.title).join(
        order_items, order_items.c.order_id == orders.c.id
    )
    with db.connect() as conn:
        return {r.ebay_order_id: r.title for r in conn.execute(query)}


def problems(report: services.ImportReport) -> list[tuple[str, int | None, str | None, str]]:
    return [(e.file, e.line, e.field, e.reason) for e in report.errors]


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


# -- 1. the order of slashed dates ---------------------------------------------------------------


def test_a_uk_report_whose_dates_settle_nothing_is_read_day_first_as_ebay_co_uk_writes(
    ctx: Context, db: Database
) -> None:
    """Control: ``_day_first_site`` returning ``== "en_US"`` stored 3 Sep / 3 Oct and said "month
    first": this failed."""
    report = run(ctx, [report_file(row(1, "09/03/2026"), row(2, "10/03/2026"))])
    assert report.committed and not report.errors
    assert order_dates(db) == {"11-11111-00001": utc(2026, 3, 9), "11-11111-00002": utc(2026, 3, 10)}
    assert report.warnings == [
        "orders.csv: no date in the file shows whether its dates are day or month first (none has a "
        "part above 12, e.g. line 2, Sale Date '09/03/2026'); they were read day first (09/03/2026 as "
        "9 March 2026), the convention of ebay.co.uk, the eBay site the file comes from (its amounts "
        "are in GBP). If that is wrong, so are the orders' dates"
    ]


def test_a_us_report_whose_dates_settle_nothing_is_read_month_first_as_ebay_com_writes(
    ctx: Context, db: Database
) -> None:
    """Control: the same edit of ``_day_first_site`` stored 9 and 10 March: this failed."""
    report = run(ctx, [report_file(row(1, "09/03/2026", symbol="$"), row(2, "10/03/2026", symbol="$"))])
    assert report.committed and not report.errors
    assert order_dates(db) == {"11-11111-00001": utc(2026, 9, 3), "11-11111-00002": utc(2026, 10, 3)}
    assert len(report.warnings) == 1
    assert (
        "they were read month first (09/03/2026 as 3 September 2026), the convention of ebay.com"
        in (report.warnings[0])
    )


def test_one_date_of_the_file_settles_the_order_of_all_its_dates_also_those_before_it(
    ctx: Context, db: Database
) -> None:
    """The tester's US file: 09/03/2026 was read month first and 13/03/2026 day first. Now line 3
    settles day first for line 2 too, and nothing was assumed (no warning).

    Control: ``_slash_evidence`` not recording a settling date (``found.settled`` left ``None``)
    read 09/03/2026 month first and warned: this failed."""
    report = run(ctx, [report_file(row(1, "09/03/2026", symbol="$"), row(2, "13/03/2026", symbol="$"))])
    assert report.committed and not report.errors and not report.warnings
    assert order_dates(db) == {"11-11111-00001": utc(2026, 3, 9), "11-11111-00002": utc(2026, 3, 13)}


def test_a_date_against_the_order_an_earlier_line_settled_is_a_problem_of_its_line(
    ctx: Context, db: Database
) -> None:
    """Control: without the check in ``_Reader._date`` the problem was ``local_instant``'s bare
    "is day first (13 is no month), not month first", naming no settling line: this failed."""
    rows = (
        row(1, "03/14/2026", symbol="$"),
        row(2, "03/02/2026", symbol="$"),
        row(3, "13/03/2026", symbol="$", paid="03/13/2026"),
    )
    report = run(ctx, [report_file(*rows)])
    assert not report.committed and order_dates(db) == {}
    assert problems(report) == [
        (
            "orders.csv",
            4,
            "Sale Date",
            "'13/03/2026' is day first (13 is no month), but this file's dates are month first: line 2 "
            "settled that (Sale Date '03/14/2026'). The dates of one file are all in one order; check "
            "this one",
        )
    ]
    assert "Nothing was imported" in report.summary
    skipped = run(ctx, [report_file(*rows)], skip_invalid=True)
    assert skipped.committed and skipped.imported == 2 and skipped.rejected == 1
    assert order_dates(db) == {"11-11111-00001": utc(2026, 3, 14), "11-11111-00002": utc(2026, 3, 2)}


def test_dates_with_month_names_dots_and_iso_are_read_as_before(ctx: Context, db: Database) -> None:
    """Control: reading ``10.03.2026`` month first (``match["sep"] == "."`` dropped) stored 3 Oct
    for order 2: this failed."""
    rows = (
        row(1, "Mar-09-26 14:30:00", symbol="$"),
        row(2, "10.03.2026", symbol="$"),
        row(3, "2026-03-11 08:00:00", symbol="$"),
    )
    report = run(ctx, [report_file(*rows)])
    assert report.committed and not report.errors and not report.warnings
    assert order_dates(db) == {
        "11-11111-00001": utc(2026, 3, 9, 14, 30),
        "11-11111-00002": utc(2026, 3, 10),
        "11-11111-00003": utc(2026, 3, 11, 8),
    }


# -- 2. dates an order cannot have ---------------------------------------------------------------


def test_an_order_from_the_future_or_from_before_ebay_is_a_problem_of_its_line(
    ctx: Context, db: Database
) -> None:
    """Controls: ``FUTURE_TOLERANCE`` of 100 years let Sep-03-35 and the 24-hours-ahead sale
    through; ``full_year`` adding 2000 to every two-digit year read Sep-03-99 as 2099 (a problem)
    and Sep-02-95 as 2095: both failed."""
    rows = (
        row(1, "Sep-03-35", symbol="$"),  # 2035: a misread year
        row(2, "Oct-16-26 12:00:00", symbol="$"),  # a day after now: a clock away, accepted
        row(3, "Oct-16-26 12:01:00", symbol="$"),  # more than a day after now
        row(4, "Sep-02-95", symbol="$"),  # the day before eBay opened
        row(5, "Sep-03-95", symbol="$"),  # the day it opened
        row(6, "Sep-03-99", symbol="$"),
    )
    report = run(ctx, [report_file(*rows)])
    assert not report.committed and order_dates(db) == {}
    assert problems(report) == [
        (
            "orders.csv",
            2,
            "Sale Date",
            "'Sep-03-35' was read as 2035-09-03, which is in the future (today is 2026-10-15): an order "
            "cannot be dated later than now; check its year",
        ),
        (
            "orders.csv",
            4,
            "Sale Date",
            "'Oct-16-26 12:01:00' was read as 2026-10-16, which is in the future (today is 2026-10-15): "
            "an order cannot be dated later than now; check its year",
        ),
        (
            "orders.csv",
            5,
            "Sale Date",
            "'Sep-02-95' was read as 1995-09-02, before eBay opened (1995-09-03): it cannot be the date "
            "of an eBay order; check its year",
        ),
    ]
    run(ctx, [report_file(*rows)], skip_invalid=True)
    assert order_dates(db) == {
        "11-11111-00002": utc(2026, 10, 16, 12),
        "11-11111-00005": utc(1995, 9, 3),
        "11-11111-00006": utc(1999, 9, 3),
    }


def test_a_getorders_page_with_an_order_from_the_future_is_refused(ctx: Context, db: Database) -> None:
    """Control: ``creation`` in fulfillment.py parsing with ``iso_instant`` alone imported the
    order: this failed."""
    order = copy.deepcopy(API_ORDER)
    order["creationDate"] = "2035-09-12T15:00:00.000Z"
    page = ImportFile("page.json", json.dumps({"total": 1, "orders": [order]}).encode())
    report = run(ctx, [page])
    assert not report.committed and order_dates(db) == {}
    assert [(e.field, e.reason) for e in report.errors] == [
        (
            "orders[0].creationDate",
            "'2035-09-12T15:00:00.000Z' was read as 2035-09-12, which is in the future (today is "
            "2026-10-15): an order cannot be dated later than now; check its year",
        )
    ]


# -- 3. text encoded twice -----------------------------------------------------------------------


def windows(byte: int) -> str:
    """A byte as Windows reads it in Windows-1252: the five bytes it leaves undefined (0x81 …)
    become the C1 controls of the same number."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


def twice(text: str) -> bytes:
    """UTF-8 read as Windows-1252 and saved as UTF-8 again, as after an Excel round trip."""
    return "".join(windows(b) for b in text.encode("utf-8")).encode("utf-8")


def read_all(source: encoding.TextSource, size: int) -> str:
    chunks = []
    while chunk := source.read(size):
        chunks.append(chunk)
    return "".join(chunks)


def test_a_report_encoded_twice_is_repaired_and_said_so(ctx: Context, db: Database) -> None:
    """Control: ``TextSource`` not asking ``double_encoded`` (``example = None``) stored 'CafÃ©'
    with no warning: this failed."""
    rows = (
        row(1, "Mar-09-26", title="Café crème"),
        row(2, "Mar-10-26", title="Grüße – 5 €"),
        row(3, "Mar-11-26", title="Água de coco"),  # Á is C3 81: 0x81 is undefined in Windows-1252
    )
    report = run(ctx, [ImportFile("orders.csv", twice("\r\n".join([HEADER, *rows]) + "\r\n"))])
    assert report.committed and not report.errors
    assert titles(db) == {
        "11-11111-00001": "Café crème",
        "11-11111-00002": "Grüße – 5 €",
        "11-11111-00003": "Água de coco",
    }
    assert report.warnings == [
        "orders.csv was encoded twice: its UTF-8 text had been read as Windows-1252 and saved as UTF-8 "
        "again (as an Excel round trip does), so accented letters showed as two or three others. It "
        "was repaired, e.g. 'CafÃ©' → 'Café'; check that accented letters look right."
    ]


def test_correct_text_that_has_a_tilde_a_is_never_changed(ctx: Context, db: Database) -> None:
    """Control: ``double_encoded`` without its strict test (any non-ASCII text taken for encoded
    twice) warned about this file: this failed."""
    rows = (row(1, "Mar-09-26", title="São Paulo mug"), row(2, "Mar-10-26", title="Ã"))
    report = run(ctx, [report_file(*rows)])
    assert report.committed and not report.errors and not report.warnings
    assert titles(db) == {"11-11111-00001": "São Paulo mug", "11-11111-00002": "Ã"}


def test_a_getorders_page_encoded_twice_is_repaired_across_chunks() -> None:
    """The JSON reader reads chunks: a character cut between two is repaired whole, and a passage
    further down that is correct is kept as read and counted.

    Control: ``read`` without holding back the trailing non-ASCII run gave 'Ã' + '©' apart, kept
    as read: this failed."""
    good = "São"  # correct text after the sample: not encoded twice
    data = twice('{"title": "Café crème – Grüße"}\n') + f'{{"title": "{good}"}}\n'.encode()
    for size in range(1, 12):
        source = encoding.TextSource(io.BytesIO(data), sample_bytes=34)
        assert source.repaired is not None
        text = read_all(source, size)
        assert text == '{"title": "Café crème – Grüße"}\n{"title": "São"}\n', size
        assert source.repaired.kept == 1
    lines = encoding.TextSource(io.BytesIO(data), sample_bytes=34)
    assert list(lines.lines()) == ['{"title": "Café crème – Grüße"}\n', '{"title": "São"}\n']
    assert lines.repaired is not None and (lines.repaired.kept, lines.repaired.first_kept_line) == (1, 2)


# -- 4. a file cut off ---------------------------------------------------------------------------


def test_a_report_cut_off_inside_a_quoted_value_is_said_to_be_cut_off(ctx: Context, db: Database) -> None:
    """Control: without the new branch in ``_broken`` (its condition replaced by ``False``) the old
    "unbalanced quote … must be written twice" came back: this failed."""
    whole = report_file(row(1, "Mar-09-26"), row(2, "Mar-10-26")).data
    assert whole is not None
    cut = whole[: whole.index(b'"TRAY-2') + 4]  # the download stops inside Custom Label
    report = run(ctx, [ImportFile("orders.csv", cut)])
    assert not report.committed and order_dates(db) == {}
    assert problems(report) == [
        (
            "orders.csv",
            3,
            "Custom Label",
            "the file ends inside a quoted value: the value of Custom Label on line 3 starts with a "
            "quote that is never closed. Was the download cut off? Download the report again and "
            "import the whole file",
        )
    ]


def test_an_unbalanced_quote_inside_a_file_keeps_its_message(ctx: Context, db: Database) -> None:
    """Control: the cut-off message for every unbalanced quote (its condition in ``_broken``
    replaced by ``True``) changed this one: this failed."""
    broken = row(1, "Mar-09-26").replace('"TRAY-1"', '"TRAY-1')
    report = run(ctx, [report_file(broken, row(2, "Mar-10-26"))])
    assert not report.committed and order_dates(db) == {}
    assert [(e.line, e.field) for e in report.errors] == [(2, "Custom Label")]
    assert report.errors[0].reason.startswith("unbalanced quote: the value of Custom Label starts with")
    assert report.errors[0].reason.endswith('a quote inside a value must be written twice ("")')
