"""AppTest interaction tests for the overview and orders pages, on a SQLite shop built in the test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from ebaydash import services, ui
from tests import shop_data as sd
from tests.conftest import ROOT
from tests.shop_data import Shop

TZ = "America/Chicago"


def recent_shop() -> tuple[Shop, int, int]:
    """Alpha: 60 orders over the last 20 days; Quiet: a listing and no orders at all."""
    shop = Shop()
    alpha = shop.account("Alpha", TZ)
    quiet = shop.account("Quiet", TZ)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    buyers = [shop.customer(alpha, f"buyer{n}", f"b{n}@example.com") for n in range(6)]
    statuses = ["paid", "shipped", "delivered", "delivered", "cancelled", "refunded"]
    for n in range(60):
        price = Decimal(10 + n) + Decimal("0.25")
        status = statuses[n % 6]
        shop.order(
            alpha,
            now - dt.timedelta(hours=8 * n + 1),
            [(f"SKU-{n % 5}", f"Widget {n % 5}", 1 + n % 2, price)],
            customer_id=buyers[n % 6],
            status=status,
            shipping=Decimal("4.99") if n % 3 == 0 else Decimal("0.00"),
            refunded=Decimal("0.00"),
        )
        if status == "refunded":
            shop.rows["orders"][-1]["refunded_amount"] = shop.rows["orders"][-1]["total_amount"]
    product = shop.product(quiet, "JAR", "Jar")
    shop.listing(quiet, product, now - dt.timedelta(days=100))
    return shop, alpha, quiet


@pytest.fixture
def app_shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    shop, _, _ = recent_shop()
    yield from shop.serve(tmp_path / "app.sqlite3", monkeypatch)


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_every_figure_with_its_definition(app_shop: Shop) -> None:
    at = app().run()
    assert not at.exception and not at.error
    assert at.sidebar.selectbox(key="account_id").value == 1  # Alpha, the shop with recent orders
    tiles = {m.label: m for m in at.metric}
    assert set(tiles) == set(services.FIGURES) - {"Top products", "Top buyers", "Status mix"}
    for label, tile in tiles.items():
        assert tile.help == services.FIGURES[label]
    today = dt.datetime.now(ZoneInfo(TZ)).date()
    window_start, _ = sd.day_bounds(today - dt.timedelta(days=29), today, TZ)
    truth = sd.order_figures(app_shop, 1, window_start, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert tiles["Orders"].value == f"{truth['orders']:,}"
    assert tiles["Revenue"].value == f"${truth['revenue']:,.2f}"
    assert tiles["Cancelled"].value == str(truth["cancelled"])
    assert len(at.dataframe) >= 4  # two top-product tabs, top buyers, status mix
    statuses = at.dataframe[-1].value
    assert dict(zip(statuses["Status"], statuses["Orders"], strict=True))["Cancelled"] == truth["cancelled"]
    # Alpha has orders but no listing: its listings are unknown, said so, never a confident 0
    for label in ("Active listings", "Active products"):
        assert tiles[label].value == "—"
        assert "unknown" in tiles[label].delta and "no listings imported" in tiles[label].delta


def test_overview_draws_money_axes_with_the_currency_and_whole_order_ticks(app_shop: Shop) -> None:
    at = app().run()
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    layout = chart["layout"]
    assert layout["yaxis"]["tickprefix"] == "$" and layout["yaxis"]["tickformat"] == ",.2~f"
    assert layout["yaxis2"]["tickformat"] == ",d" and layout["yaxis2"]["dtick"] >= 1
    assert layout["xaxis"]["tickformat"] == "%b %d"  # one line: no year under the first tick


def test_the_top_products_table_leaves_room_for_every_column(app_shop: Shop) -> None:
    """At 1400 px the titles took half the page and cut the Orders column off (seen in a browser):
    the products' side is the wider one and their titles have a set width."""
    at = app().run()
    assert not at.exception
    products = next(d for d in at.dataframe if "Title" in d.value.columns)
    assert json.loads(products.proto.columns)["Title"]["width"] == "medium"
    assert at.columns[-2].proto.weight > at.columns[-1].proto.weight  # products, then buyers


def test_a_shop_without_orders_shows_zero_revenue_and_its_listings(app_shop: Shop) -> None:
    at = app().run()
    at.sidebar.selectbox(key="account_id").set_value(2).run()
    assert not at.exception and not at.error
    values = metrics(at)
    assert values["Revenue"] == "$0.00" and values["Orders"] == "0"
    assert values["Average order value"] == "$0.00"
    assert values["Active listings"] == "1" and values["Active products"] == "1"
    # both periods hold the same one listing: an unchanged figure has a grey line, no green arrow
    tile = next(m for m in at.metric if m.label == "Active listings")
    assert tile.delta == "no change"
    assert tile.proto.color == MetricProto.MetricColor.GRAY
    assert tile.proto.direction == MetricProto.MetricDirection.NONE
    assert any("No orders in this period" in i.value for i in at.info)


def orders_app() -> AppTest:
    at = app().run()
    at.switch_page("pages/orders.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def shown_orders(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["Order"])


def summary(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown if "matching order" in m.value or "match these" in m.value)


def test_orders_page_pages_forward_and_back(app_shop: Shop) -> None:
    at = orders_app()
    # the sidebar's last 30 days hold all 60 orders, newest first
    newest_first = [
        o["ebay_order_id"]
        for o in sorted(app_shop.rows["orders"], key=lambda o: o["order_date"], reverse=True)
    ]
    assert "**60** matching orders · rows 1–25" in summary(at)
    first = shown_orders(at)
    assert first == newest_first[:25]
    assert at.button(key="orders_prev").disabled
    at.button(key="orders_next").click().run()
    assert "rows 26–50" in summary(at)
    assert shown_orders(at) == newest_first[25:50]
    at.button(key="orders_next").click().run()
    assert shown_orders(at) == newest_first[50:] and at.button(key="orders_next").disabled
    at.button(key="orders_prev").click().run()
    at.button(key="orders_prev").click().run()
    assert shown_orders(at) == first and "rows 1–25" in summary(at)


def test_orders_page_filters_sorts_and_resets_to_page_one(app_shop: Shop) -> None:
    at = orders_app()
    at.button(key="orders_next").click().run()
    at.multiselect(key="orders_status").set_value(["cancelled"]).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert set(table["Status"]) == {"Cancelled"} and len(table) == 10
    assert "**10** matching orders · rows 1–10" in summary(at)
    at.selectbox(key="orders_sort").set_value("amount_high").run()
    totals = list(at.dataframe[0].value["Total"])
    assert totals == sorted(totals, reverse=True)
    at.text_input(key="orders_search").input("widget 3").run()
    assert set(at.dataframe[0].value["Order"]) == {
        o["ebay_order_id"]
        for o in app_shop.rows["orders"]
        if o["status"] == "cancelled"
        and any(i["order_id"] == o["id"] and i["sku"] == "SKU-3" for i in app_shop.rows["order_items"])
    }
    at.text_input(key="orders_search").input("50% off_\\").run()
    assert not at.exception and not at.error
    assert summary(at) == "No orders match these filters."  # not "0 matching orders · no rows on this page"


def test_the_orders_tables_amounts_are_numbers_shown_as_money(app_shop: Shop) -> None:
    """A click on a header sorts the column's values: text put "$18.10" after "$168.82"."""
    at = orders_app()
    table = at.dataframe[0]
    by_id = {o["ebay_order_id"]: o for o in app_shop.rows["orders"]}
    columns = (table.value["Order"], table.value["Total"], table.value["Refunded"])
    for order, total, refunded in zip(*columns, strict=True):
        assert isinstance(total, float) and isinstance(refunded, float)
        assert Decimal(f"{total:.2f}") == by_id[order]["total_amount"]
        assert Decimal(f"{refunded:.2f}") == by_id[order]["refunded_amount"]
    config = json.loads(table.proto.columns)
    assert config["Total"]["type_config"]["format"] == "$%,.2f"
    assert config["Refunded"]["type_config"]["format"] == "$%,.2f"


def test_custom_dates_end_on_the_accounts_today_not_utcs(
    app_shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ebaydash import models

    asked: list[str] = []

    def fake_today(tz: str) -> dt.date:
        asked.append(tz)
        return dt.date(2031, 1, 15)

    monkeypatch.setattr(models, "local_today", fake_today)
    at = orders_app()
    at.radio(key="orders_dates").set_value("Custom").run()
    assert not at.exception and not at.error
    assert at.date_input(key="orders_custom_dates").value == (dt.date(2031, 1, 9), dt.date(2031, 1, 15))
    assert TZ in asked


def test_the_day_of_a_zone_is_its_own() -> None:
    from ebaydash.models import local_today

    # 25 hours apart: whatever the moment, the two calendars are on different days
    assert local_today("Pacific/Kiritimati") > local_today("Pacific/Pago_Pago")


def click_row(at: AppTest, row: int) -> None:
    """What a click on the orders table's ``row`` does (AppTest cannot click a dataframe)."""
    table = at.dataframe[0].key
    assert table is not None and table.startswith("orders_table")
    at.session_state[table] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()


def test_drill_down_opens_the_clicked_row(app_shop: Shop) -> None:
    at = orders_app()
    assert "orders_detail" not in [s.key for s in at.selectbox]  # the table's rows are the choice
    assert not [h.value for h in at.subheader if h.value.startswith("Order ")]
    assert any("Click a row" in c.value for c in at.caption)
    newest_first = sorted(app_shop.rows["orders"], key=lambda o: o["order_date"], reverse=True)
    click_row(at, 0)
    assert not at.exception and not at.error
    newest = newest_first[0]  # n = 0: 4.99 shipping
    values = metrics(at)
    # the heading names the order (its eBay number, as Markdown-safe text)
    assert [h.value for h in at.subheader if h.value.startswith("Order ")] == [
        f"Order {ui.md(newest['ebay_order_id'])}"
    ]
    # above the table, a link down to the details (25 rows push them out of sight)
    [opened] = [m.value for m in at.markdown if "is open" in m.value]
    assert ui.md(newest["ebay_order_id"]) in opened and "(#order-details)" in opened
    assert next(h for h in at.subheader if h.value.startswith("Order ")).proto.anchor == "order-details"
    assert values["Shipping & other"] == "$4.99"
    assert values["Total"] == f"${newest['total_amount']:,.2f}"
    lines = at.dataframe[1].value
    assert list(lines["SKU"]) == ["SKU-0"] and list(lines["Qty"]) == [1]
    click_row(at, 1)
    second = newest_first[1]
    values = metrics(at)
    assert values["Shipping & other"] == "$0.00" and values["Total"] == f"${second['total_amount']:,.2f}"
    # the next page shows its own rows: the previous page's choice does not carry over
    at.button(key="orders_next").click().run()
    assert not [h.value for h in at.subheader if h.value.startswith("Order ")]
    click_row(at, 0)
    assert metrics(at)["Total"] == f"${newest_first[25]['total_amount']:,.2f}"


def test_one_matching_order_is_singular(app_shop: Shop) -> None:
    at = orders_app()
    one = app_shop.rows["orders"][7]["ebay_order_id"]
    at.text_input(key="orders_search").input(one).run()
    assert "**1** matching order · rows 1–1" in summary(at)
    assert "Download 1 order as CSV" in at.get("download_button")[0].label


def test_export_hands_streamlit_a_file_of_the_current_filter(
    app_shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[Callable[[], Any]] = []
    original = MediaFileManager.add_deferred

    def capture(self: MediaFileManager, data: Callable[[], Any], *args: Any, **kwargs: Any) -> str:
        captured.append(data)
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", capture)
    at = orders_app()
    at.multiselect(key="orders_status").set_value(["paid", "shipped"]).run()
    button = at.get("download_button")[0]
    assert "Download 20 orders as CSV" in button.label
    handle = captured[-1]()  # what Streamlit runs when the button is clicked
    rows = list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))
    handle.close()
    assert len(rows) == 20 and {r["status"] for r in rows} == {"paid", "shipped"}
    assert "sku" not in rows[0]
    at.toggle(key="orders_export_items").set_value(True).run()
    handle = captured[-1]()
    items = list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))
    handle.close()
    # one item per order in this shop: the same orders, now with their item columns
    assert sorted(r["ebay_order_id"] for r in items) == sorted(r["ebay_order_id"] for r in rows)
    assert all(r["sku"].startswith("SKU-") for r in items)


def test_a_tampered_cursor_shows_a_message_and_first_page_recovers(app_shop: Shop) -> None:
    at = orders_app()
    at.session_state["orders_cursor"] = "eyJ0YW1wZXJlZCI6dHJ1ZX0"
    at.run()
    assert not at.exception
    assert any("no longer valid" in e.value for e in at.error)
    at.button(key="orders_first").click().run()
    assert not at.error and "rows 1–25" in summary(at)
