"""AppTest: the overview's top lists keep money as numbers, shown as money, so a click on the
Revenue header sorts by value (as text, "$18.10" sorted after "$168.82")."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Dataframe

from tests.conftest import ROOT
from tests.shop_data import Shop

# as text these sort 168.82, 18.10, 9.50 (and 1,204.00 first of all); as numbers the other way round
REVENUES = {"SKU-A": Decimal("168.82"), "SKU-B": Decimal("18.10"), "SKU-C": Decimal("9.50")}
BIG = Decimal("1204.00")


def small_shop() -> Shop:
    """One account; each SKU bought once by a buyer of its own, in the last few days, and a
    fourth buyer whose order is above a thousand (the thousands separator sorts first as text)."""
    shop = Shop()
    account = shop.account("Tills", "UTC")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for n, (sku, revenue) in enumerate(REVENUES.items()):
        buyer = shop.customer(account, f"buyer-{sku.lower()}")
        shop.order(
            account, now - dt.timedelta(days=n + 1), [(sku, f"Item {sku}", 1, revenue)], customer_id=buyer
        )
    whale = shop.customer(account, "buyer-whale")
    shop.order(account, now - dt.timedelta(days=4), [("SKU-D", "Item SKU-D", 2, BIG / 2)], customer_id=whale)
    return shop


@pytest.fixture
def shop_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    yield from small_shop().serve(tmp_path / "tills.sqlite3", monkeypatch)


def table_with(at: AppTest, first_column: str) -> list[Dataframe]:
    return [d for d in at.dataframe if d.value.columns[0] == first_column]


def assert_money_numbers(table: Dataframe, expected: dict[str, Decimal], key: str) -> None:
    """The Revenue column holds numbers (exact to the cent) that sort by value, shown as money."""
    frame: pd.DataFrame = table.value
    assert pd.api.types.is_float_dtype(frame["Revenue"]), frame["Revenue"].tolist()
    shown = {row[key]: Decimal(f"{row['Revenue']:.2f}") for _, row in frame.iterrows()}
    assert shown == expected
    by_header = frame.sort_values("Revenue")[key].tolist()  # what a click on the header does
    assert by_header == sorted(expected, key=lambda k: expected[k])
    assert json.loads(table.proto.columns)["Revenue"]["type_config"]["format"] == "$%,.2f"


def test_the_top_lists_revenue_is_numbers_shown_as_money(shop_env: Shop) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    by_revenue, by_units = table_with(at, "SKU")
    products = {**REVENUES, "SKU-D": BIG}
    assert_money_numbers(by_revenue, products, "SKU")
    assert_money_numbers(by_units, products, "SKU")

    (buyers,) = table_with(at, "Buyer")
    spent = {f"buyer-{sku.lower()}": revenue for sku, revenue in REVENUES.items()}
    assert_money_numbers(buyers, {**spent, "buyer-whale": BIG}, "Buyer")


def test_the_csv_download_writes_money_with_its_two_decimals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept as numbers for sorting, amounts still leave as 18.10 (not 18.1) in the CSV."""
    from ebaydash import ui

    sent: dict[str, bytes] = {}
    monkeypatch.setattr(ui.st, "download_button", lambda label, data, **_kw: sent.update(data=data))
    frame = pd.DataFrame({"Buyer": ["=cmd", "b"], "Revenue": [18.1, 1204.0]})
    ui.download_csv(frame, "x.csv", key="k", money_columns=["Revenue"])
    assert sent["data"].decode("utf-8").splitlines() == ["Buyer,Revenue", "'=cmd,18.10", "b,1204.00"]
