"""Importing into the database, on SQLite and Postgres: exact rows, idempotence, updates,
all-or-nothing, skip-invalid, crash safety, cache invalidation and large files."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from ebaydash import services
from ebaydash.context import Context, build_context
from ebaydash.db import upsert
from ebaydash.db.engine import Database
from ebaydash.db.meta import DEMO_PRISTINE, get_meta
from ebaydash.db.schema import TABLES, accounts, customers, meta, order_items, orders, products
from ebaydash.errors import InvalidInput
from ebaydash.models import Window
from ebaydash.seeding import seed_demo
from ebaydash.services import ImportFile, ImportReport
from ebaydash.settings import Settings
from tests.conftest import OPERATOR, SAMPLE_DIR
from tests.test_importers import FIXTURES

PAGES = ("getorders_page1.json", "getorders_page2.json")


@pytest.fixture
def ctx(db: Database, settings: Settings) -> Iterator[Context]:
    """A context on the parametrised backend, over the empty database ``db`` prepared."""
    context = build_context(settings, start_sampler=False)
    yield context
    context.close()


def fixture_file(name: str) -> ImportFile:
    return ImportFile(name, (FIXTURES / name).read_bytes())


def page_file(name: str, mutate: Callable[[dict[str, Any]], None] | None = None) -> ImportFile:
    raw = json.loads((FIXTURES / name).read_text())
    if mutate is not None:
        mutate(raw)
    return ImportFile(name, json.dumps(raw, indent=1).encode())


def run_import(
    ctx: Context, files: list[ImportFile], account: str = "Retro Records", **kwargs: Any
) -> ImportReport:
    report = services.import_orders(ctx, OPERATOR, files, account_name=account, **kwargs)
    # nothing is ever dropped silently: every order in the files is accounted for
    assert report.accounted == report.orders_in, report.counts()
    return report


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in id order: equal snapshots mean an identical database."""
    with db.connect() as conn:
        tables = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))] for t in TABLES}
        tables["meta"] = [tuple(r) for r in conn.execute(select(meta).order_by(meta.c.key))]
    return tables


def stored_orders(db: Database) -> pd.DataFrame:
    stmt = select(
        orders.c.ebay_order_id,
        orders.c.status,
        orders.c.total_amount,
        orders.c.refunded_amount,
        orders.c.currency,
        orders.c.order_date,
        orders.c.updated_at,
        customers.c.ebay_username.label("buyer"),
    ).select_from(orders.outerjoin(customers, customers.c.id == orders.c.customer_id))
    with db.connect() as conn:
        rows = conn.execute(stmt.order_by(orders.c.ebay_order_id)).all()
    return pd.DataFrame([r._mapping for r in rows])


def stored_lines(db: Database, ebay_order_id: str) -> list[tuple[Any, ...]]:
    stmt = (
        select(order_items.c.sku, order_items.c.quantity, order_items.c.unit_price, products.c.sku)
        .select_from(
            order_items.join(orders, orders.c.id == order_items.c.order_id).outerjoin(
                products, products.c.id == order_items.c.product_id
            )
        )
        .where(orders.c.ebay_order_id == ebay_order_id)
        .order_by(order_items.c.id)
    )
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


# -- the happy path -----------------------------------------------------------------------------


def test_getorders_pages_land_exactly_as_in_the_files(ctx: Context, db: Database) -> None:
    report = run_import(ctx, [fixture_file(n) for n in PAGES])
    assert report.committed and report.account_created
    assert (report.imported, report.updated, report.unchanged, report.rejected) == (6, 0, 0, 0)
    assert report.warnings == []  # both pages of the search are here

    # ground truth straight from the JSON, not through the parser
    source = [o for n in PAGES for o in json.loads((FIXTURES / n).read_text())["orders"]]
    frame = stored_orders(db)
    assert list(frame.ebay_order_id) == sorted(o["orderId"] for o in source)
    assert sum(frame.total_amount) == sum(Decimal(o["pricingSummary"]["total"]["value"]) for o in source)
    assert all(frame.currency == "USD")
    by_id = frame.set_index("ebay_order_id")
    for order in source:
        row = by_id.loc[order["orderId"]]
        assert row.order_date == dt.datetime.fromisoformat(order["creationDate"])
        assert row.buyer == order["buyer"]["username"]
    assert dict(by_id.status) == {
        "12-10000-00001": "shipped",
        "12-10000-00002": "paid",
        "12-10000-00003": "refunded",
        "12-10000-00004": "shipped",
        "12-10000-00005": "cancelled",
        "12-10000-00006": "pending",
    }
    assert by_id.loc["12-10000-00003"].refunded_amount == Decimal("80.00")
    assert by_id.loc["12-10000-00004"].refunded_amount == Decimal("15.00")
    with db.connect() as conn:
        n_items = conn.execute(select(func.count()).select_from(order_items)).scalar_one()
        account = conn.execute(select(accounts)).one()
        skus = set(conn.execute(select(products.c.sku)).scalars())
        n_customers = conn.execute(select(func.count()).select_from(customers)).scalar_one()
    assert n_items == sum(len(o["lineItems"]) for o in source)
    assert n_customers == len({o["buyer"]["username"] for o in source})  # vinyl_fan_77 ordered twice
    # the new account takes its seller id, currency and marketplace from the data
    assert (account.name, account.ebay_user_id, account.currency, account.marketplace) == (
        "Retro Records",
        "retro_records_us",
        "USD",
        "EBAY_US",
    )
    assert "RET-0002" in skus and "110000000777" in skus
    # items point at their products; a product bought in two orders exists once
    lines = stored_lines(db, "12-10000-00001")
    assert [(sku, qty, price) for sku, qty, price, _ in lines] == [
        ("RET-0001", 1, Decimal("29.99")),
        ("RET-0002", 2, Decimal("7.99")),
    ]
    assert all(sku == product_sku for sku, _, _, product_sku in lines)


def test_seller_hub_csv_lands_in_the_accounts_time_zone(ctx: Context, db: Database) -> None:
    report = run_import(
        ctx, [fixture_file("seller_hub_orders.csv")], "Gadget Garage", timezone="America/Chicago"
    )
    assert report.committed and report.imported == 3
    frame = stored_orders(db).set_index("ebay_order_id")
    assert frame.loc["23-20000-00001"].order_date == dt.datetime(2026, 10, 1, 4, 45, tzinfo=dt.UTC)
    assert frame.loc["23-20000-00002"].total_amount == Decimal("1234.56")
    with db.connect() as conn:
        account = conn.execute(select(accounts)).one()
    assert (account.ebay_user_id, account.timezone) == ("gadget_garage", "America/Chicago")


def test_importing_the_same_files_again_changes_nothing(ctx: Context, db: Database) -> None:
    files = [fixture_file(n) for n in (*PAGES, "seller_hub_orders.csv")]
    first = run_import(ctx, files)
    assert first.imported == 9
    before = snapshot(db)
    again = run_import(ctx, files)
    assert again.committed and not again.account_created
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 9)
    assert snapshot(db) == before  # not one row rewritten, not one id moved


def test_a_changed_status_amount_or_line_is_updated(ctx: Context, db: Database) -> None:
    run_import(ctx, [fixture_file(n) for n in PAGES])

    def later(order: dict[str, Any]) -> None:
        order["lastModifiedDate"] = "2026-10-20T00:00:00.000Z"

    def change(page: dict[str, Any]) -> None:
        refunded = page["orders"][0]
        refunded["orderPaymentStatus"] = "FULLY_REFUNDED"
        later(refunded)
        repriced = page["orders"][1]
        repriced["pricingSummary"]["total"]["value"] = "11.50"
        later(repriced)
        relined = page["orders"][3]  # same fields, one line now has 2 units at a lower price
        relined["lineItems"][0]["quantity"] = 4

    before = {r.ebay_order_id: r for r in stored_orders(db).itertuples()}
    with db.connect() as conn:
        ids_before = dict(conn.execute(select(orders.c.ebay_order_id, orders.c.id)).all())
    report = run_import(ctx, [page_file(PAGES[0], change), fixture_file(PAGES[1])])
    assert (report.imported, report.updated, report.unchanged) == (0, 3, 3)
    after = stored_orders(db).set_index("ebay_order_id")
    first = after.loc["12-10000-00001"]
    assert (first.status, first.refunded_amount) == ("refunded", first.total_amount)
    assert first.updated_at == dt.datetime(2026, 10, 20, tzinfo=dt.UTC)
    assert after.loc["12-10000-00002"].total_amount == Decimal("11.50")
    assert stored_lines(db, "12-10000-00004")[0][1:3] == (4, Decimal("30.00"))
    assert after.loc["12-10000-00005"].updated_at == before["12-10000-00005"].updated_at
    with db.connect() as conn:
        assert dict(conn.execute(select(orders.c.ebay_order_id, orders.c.id)).all()) == ids_before
        # the replaced line did not leave its old copy behind
        assert conn.execute(select(func.count()).select_from(order_items)).scalar_one() == 8


def test_an_older_export_never_undoes_a_newer_state(ctx: Context, db: Database) -> None:
    def refund(page: dict[str, Any]) -> None:
        page["orders"][0]["orderPaymentStatus"] = "FULLY_REFUNDED"
        page["orders"][0]["lastModifiedDate"] = "2026-10-20T00:00:00.000Z"

    run_import(ctx, [page_file(PAGES[0], refund)])
    before = snapshot(db)
    report = run_import(ctx, [fixture_file(PAGES[0])])  # the older copy, still "PAID"
    assert (report.older, report.unchanged, report.updated) == (1, 3, 0)
    assert snapshot(db) == before


def test_copies_of_an_order_within_one_import_are_counted_once(ctx: Context) -> None:
    report = run_import(ctx, [fixture_file(PAGES[0]), fixture_file(PAGES[0])])
    assert (report.orders_in, report.imported, report.duplicates) == (8, 4, 4)


def test_orders_go_into_an_existing_account_found_by_name_in_any_case(ctx: Context, db: Database) -> None:
    run_import(ctx, [fixture_file(PAGES[0])], "Retro Records")
    report = run_import(ctx, [fixture_file(PAGES[1])], "  retro   RECORDS ")
    assert not report.account_created and report.account_name == "Retro Records"
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 1


# -- bad input ----------------------------------------------------------------------------------


def bad_page(page: dict[str, Any]) -> None:
    page["orders"][1]["lineItems"][0]["quantity"] = -3
    page["orders"][2]["creationDate"] = "2026-09-31T00:00:00Z"


def test_one_bad_order_aborts_the_whole_import_and_every_problem_is_listed(
    ctx: Context, db: Database
) -> None:
    run_import(ctx, [fixture_file(PAGES[1])])
    before = snapshot(db)
    report = run_import(ctx, [page_file(PAGES[0], bad_page), fixture_file("seller_hub_orders.csv")])
    assert not report.committed and not report.ok
    assert (report.rejected, report.held_back, report.imported) == (2, 5, 0)
    assert [(e.file, e.field) for e in report.errors] == [
        (PAGES[0], "orders[1].lineItems[0].quantity"),
        (PAGES[0], "orders[2].creationDate"),
    ]
    assert all(e.line for e in report.errors)
    assert "Nothing was imported" in report.summary
    assert snapshot(db) == before


def test_skip_invalid_imports_the_rest_and_writes_the_rejects(ctx: Context, db: Database) -> None:
    report = run_import(ctx, [page_file(PAGES[0], bad_page), fixture_file(PAGES[1])], skip_invalid=True)
    assert report.committed and report.ok
    assert (report.imported, report.rejected, report.orders_in) == (4, 2, 6)
    assert set(stored_orders(db).ebay_order_id) == {
        "12-10000-00001",
        "12-10000-00004",
        "12-10000-00005",
        "12-10000-00006",
    }
    rows = list(csv.DictReader(io.StringIO(report.rejects_csv())))
    assert [(r["order_id"], r["field"]) for r in rows] == [
        ("12-10000-00002", "orders[1].lineItems[0].quantity"),
        ("12-10000-00003", "orders[2].creationDate"),
    ]
    assert json.loads(rows[0]["original"])["orderId"] == "12-10000-00002"  # enough to fix it from


def test_a_second_currency_in_an_account_is_refused(ctx: Context, db: Database) -> None:
    run_import(ctx, [fixture_file(PAGES[0])])
    before = snapshot(db)
    report = run_import(ctx, [fixture_file("seller_hub_orders_uk.csv")])
    assert not report.committed and report.rejected == 3
    assert all("in GBP" in e.reason and "USD" in e.reason for e in report.errors)
    assert snapshot(db) == before


def test_mixed_currencies_in_one_import_into_a_new_account_are_refused(ctx: Context, db: Database) -> None:
    report = run_import(ctx, [fixture_file(n) for n in (*PAGES, "seller_hub_orders_uk.csv")], "New Shop")
    assert not report.committed
    assert report.rejected == 3 and report.held_back == 6  # USD is what most orders use
    assert {e.file for e in report.errors} == {"seller_hub_orders_uk.csv"}
    assert snapshot(db)["accounts"] == []  # the account is not created either


def test_a_bad_account_name_or_time_zone_is_a_clear_message(ctx: Context) -> None:
    with pytest.raises(InvalidInput, match="name"):
        services.import_orders(ctx, OPERATOR, [fixture_file(PAGES[0])], account_name="   ")
    with pytest.raises(InvalidInput, match="not a time zone"):
        services.import_orders(
            ctx, OPERATOR, [fixture_file(PAGES[0])], account_name="A", timezone="Mars/Olympus"
        )


# -- crash safety -------------------------------------------------------------------------------


def test_a_crash_after_the_orders_are_written_leaves_the_database_exactly_as_before(
    ctx: Context, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_demo(db, SAMPLE_DIR)  # a demo database: the pristine flag must survive the crash too
    run_import(ctx, [fixture_file(PAGES[0])])
    before = snapshot(db)
    wrote_orders: list[bool] = []
    real_pg, real_sqlite = upsert.postgres.write_orders, upsert.sqlite.write_orders

    def pg_write_orders(*args: Any) -> None:
        real_pg(*args)
        wrote_orders.append(True)

    def sqlite_write_orders(*args: Any) -> None:
        real_sqlite(*args)
        wrote_orders.append(True)

    def crash(*_args: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(upsert.postgres, "write_orders", pg_write_orders)
    monkeypatch.setattr(upsert.sqlite, "write_orders", sqlite_write_orders)
    monkeypatch.setattr(upsert.postgres, "replace_items", crash)
    monkeypatch.setattr(upsert.sqlite, "replace_items", crash)

    def change(page: dict[str, Any]) -> None:
        page["orders"][0]["orderPaymentStatus"] = "FULLY_REFUNDED"
        page["orders"][0]["lastModifiedDate"] = "2026-10-20T00:00:00.000Z"

    with pytest.raises(RuntimeError, match="power cut"):
        services.import_orders(
            ctx,
            OPERATOR,
            [page_file(PAGES[0], change), fixture_file(PAGES[1]), fixture_file("seller_hub_orders.csv")],
            account_name="Retro Records",
        )
    assert wrote_orders == [True]  # the crash came after the orders upsert, mid-import
    assert snapshot(db) == before
    monkeypatch.undo()
    # and the next import runs normally (no leftover staging tables or locks)
    report = run_import(ctx, [page_file(PAGES[0], change), fixture_file(PAGES[1])])
    assert (report.imported, report.updated, report.unchanged) == (2, 1, 3)


def test_an_import_marks_a_demo_database_as_holding_real_data(ctx: Context, db: Database) -> None:
    seed_demo(db, SAMPLE_DIR)
    with db.connect() as conn:
        assert get_meta(conn, DEMO_PRISTINE) == "yes"
    run_import(ctx, [fixture_file(PAGES[0])], "Retro Records")  # a demo account's name
    with db.connect() as conn:
        assert get_meta(conn, DEMO_PRISTINE) == "no"
    # a later day's seed-demo keeps the seller's data
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    assert seed_demo(db, SAMPLE_DIR, now=later).action == "kept"


# -- the dashboard sees the new numbers ---------------------------------------------------------


def test_the_next_page_view_shows_the_imported_numbers(ctx: Context, db: Database) -> None:
    window = Window(dt.datetime(2026, 9, 1, tzinfo=dt.UTC), dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    first = run_import(ctx, [fixture_file(PAGES[0])])
    assert first.account_id is not None
    assert [a.name for a in services.accounts(ctx, OPERATOR)] == ["Retro Records"]  # cached now
    before = services.kpis(ctx, OPERATOR, first.account_id, window)  # cached now
    run_import(ctx, [fixture_file(PAGES[1])])
    after = services.kpis(ctx, OPERATOR, first.account_id, window)
    # ground truth: pandas over the stored rows
    frame = stored_orders(db)
    in_window = (frame.order_date >= window.start) & (frame.order_date < window.end)
    live = frame[(frame.status != "cancelled") & in_window]
    assert after.orders.current == len(live) == before.orders.current + 1
    assert after.revenue.current == sum(live.total_amount - live.refunded_amount)
    assert after.cancelled.current == 1
    assert services.accounts(ctx, OPERATOR)[0].last_order_at == max(frame.order_date)


# -- size ---------------------------------------------------------------------------------------


def big_seller_hub_csv(target_bytes: int) -> tuple[bytes, int, Decimal]:
    """A Seller Hub export of about ``target_bytes`` (one row per order, the real column set), the
    number of orders in it and the sum of their totals."""
    header = (FIXTURES / "seller_hub_orders.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    template = (
        '"{n}","25-{n:05d}-{m:05d}","buyer{b}","Buyer Name {b}","buyer{b}@example.com","","{n} Long Street",'
        '"Springfield","IL","62701","United States","Buyer Name {b}","2{n:011d}",'
        '"A reasonably long item title for product {p}, in very good condition","SKU-{p}","No","{q}",'
        '"${price}","$4.99","$0.00","$0.00","${total}","Yes","eBay","{date}","{date}","","",'
        '"No","","","USPS Ground Advantage","94001{n:017d}","3{n:012d}",""'
    )
    lines = ["", header]
    size, n, total_cents = 0, 0, 0
    start = dt.datetime(2026, 1, 1)
    while size < target_bytes:
        n += 1
        cents = 100 + (n * 7919) % 20000
        quantity = 1 + n % 3
        date = (start + dt.timedelta(minutes=7 * n)).strftime("%b-%d-%y %H:%M:%S")
        row = template.format(
            n=n,
            m=n % 99991,
            b=n % 5000,
            p=n % 700,
            q=quantity,
            price=f"{cents // 100}.{cents % 100:02d}",
            total=f"{(cents * quantity + 499) // 100}.{(cents * quantity + 499) % 100:02d}",
            date=date,
        )
        lines.append(row)
        size += len(row) + 1
        total_cents += cents * quantity + 499
    footer = f'"{n} record(s) downloaded, from Jan-01-26 00:00:00 to Dec-31-26 23:59:59"'
    lines += ["", footer, '"Seller ID : big_shop"']
    return ("\r\n".join(lines) + "\r\n").encode(), n, Decimal(total_cents) / 100


@pytest.mark.slow
def test_a_50_mb_export_imports_completely(ctx: Context, db: Database, tmp_path: Any) -> None:
    data, n, total = big_seller_hub_csv(50 * 2**20)
    path = tmp_path / "orders-2026.csv"
    path.write_bytes(data)
    assert path.stat().st_size >= 50 * 2**20
    # its orders run into mid-2027: read as of a later "now", so none is refused as in the future
    report = run_import(
        ctx,
        [ImportFile(path.name, path=path)],
        "Big Shop",
        timezone="UTC",
        now=dt.datetime(2028, 1, 1, tzinfo=dt.UTC),
    )
    assert report.committed and not report.errors and not report.warnings
    assert report.imported == report.orders_in == n
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == n
        assert conn.execute(select(func.count()).select_from(order_items)).scalar_one() == n
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 5000
    # exact to the cent, summed in SQL and by the generator
    assert (
        services.kpis(
            ctx,
            OPERATOR,
            report.account_id,
            Window(dt.datetime(2025, 12, 1, tzinfo=dt.UTC), dt.datetime(2029, 1, 1, tzinfo=dt.UTC)),
        ).revenue.current
        == total
    )


def test_a_file_over_the_size_limit_is_refused_with_a_message(db: Database, settings: Settings) -> None:
    context = build_context(settings.replace(import_max_mb=1), start_sampler=False)
    try:
        data, _n, _total = big_seller_hub_csv(2 * 2**20)
        report = run_import(context, [ImportFile("big.csv", data)], "Big Shop")
    finally:
        context.close()
    assert not report.committed
    [error] = report.errors
    assert "more than the import limit of 1 MB" in error.reason and "EBAYDASH_IMPORT_MAX_MB" in error.reason


def test_pages_of_a_search_that_are_missing_are_pointed_out(ctx: Context) -> None:
    report = run_import(ctx, [fixture_file(PAGES[0])])
    assert report.committed
    assert report.warnings == [
        f"{PAGES[0]}: the search matched 6 orders but these pages hold 4; "
        "import the other pages too to have them all."
    ]


def test_records_passed_twice_to_the_upsert_are_a_programming_error(db: Database) -> None:
    from zoneinfo import ZoneInfo

    from ebaydash.importers import read_file

    parsed = read_file(PAGES[0], (FIXTURES / PAGES[0]).read_bytes(), zone=ZoneInfo("UTC"))
    with db.transaction() as conn:
        account_id = upsert.create_account(
            conn, name="A", ebay_user_id="a", currency="USD", timezone="UTC", marketplace="EBAY_US"
        )
        with pytest.raises(ValueError, match="appears twice"):
            upsert.upsert_orders(conn, account_id, [*parsed.orders, copy.copy(parsed.orders[0])])


def test_buyers_are_created_once_and_keep_the_newest_email_they_were_given(db: Database) -> None:
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from ebaydash.importers import read_file

    parsed = read_file(PAGES[0], (FIXTURES / PAGES[0]).read_bytes(), zone=ZoneInfo("UTC"))
    first, second = parsed.orders[0], parsed.orders[1]

    def emails() -> dict[str, str | None]:
        with db.connect() as conn:
            return {
                str(name): email
                for name, email in conn.execute(select(customers.c.ebay_username, customers.c.email))
            }

    with db.transaction() as conn:
        account_id = upsert.create_account(
            conn, name="A", ebay_user_id="a", currency="USD", timezone="UTC", marketplace="EBAY_US"
        )
        # the same new buyer twice in one import: one customer, with the email either order gave
        upsert.upsert_orders(
            conn,
            account_id,
            [
                replace(first, buyer="anna", buyer_email=None),
                replace(second, buyer="anna", buyer_email="a@x.test"),
            ],
        )
    assert emails() == {"anna": "a@x.test"}
    with db.transaction() as conn:  # an export without emails never erases one
        upsert.upsert_orders(conn, account_id, [replace(first, buyer="anna", buyer_email=None)])
    assert emails() == {"anna": "a@x.test"}
    with db.transaction() as conn:  # a changed email is taken; a new buyer appears beside her
        upsert.upsert_orders(
            conn,
            account_id,
            [
                replace(first, buyer="anna", buyer_email="anna@y.test"),
                replace(second, buyer="bob", buyer_email=None),
            ],
        )
    assert emails() == {"anna": "anna@y.test", "bob": None}
    with db.connect() as conn:
        owners = conn.execute(
            select(customers.c.ebay_username, func.count(orders.c.id))
            .select_from(customers.join(orders, orders.c.customer_id == customers.c.id))
            .group_by(customers.c.ebay_username)
        ).all()
    assert dict(owners) == {"anna": 1, "bob": 1}
