import datetime as dt

from ebaydash import sample_data
from tests.conftest import SAMPLE_DIR


def test_generation_is_deterministic_and_matches_the_shipped_csvs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sample_data.write_csvs(sample_data.generate(seed=7), tmp_path)
    for path in sorted(SAMPLE_DIR.glob("*.csv")):
        assert (tmp_path / path.name).read_text() == path.read_text(), f"{path.name} differs"


def test_the_demo_has_what_a_realistic_shop_has() -> None:
    frames = sample_data.read_csvs(SAMPLE_DIR)
    orders = frames["orders"]
    per_account = orders.groupby("account_id").size()
    assert len(per_account) >= 4 and per_account.max() > 10 * per_account.min()
    assert 2000 <= len(orders) <= 10000
    assert {"cancelled", "refunded", "delivered", "shipped", "paid"} <= set(orders.status)
    assert (orders.refunded_amount > 0).sum() > (orders.status == "refunded").sum()  # partial refunds
    span = orders.order_date.max() - orders.order_date.min()
    assert dt.timedelta(days=380) < span < dt.timedelta(days=400)
    repeat = orders.groupby(["account_id", "customer_id"]).size()
    assert (repeat > 3).sum() > 20  # repeat buyers
    assert (frames["listings"].status == "ended").any()
    # an account with no orders in the last 90 days but live listings
    newest = orders.groupby("account_id").order_date.max()
    quiet = newest[newest < orders.order_date.max() - dt.timedelta(days=90)].index
    assert len(quiet) == 1
    assert (frames["listings"][frames["listings"].account_id == quiet[0]].status == "active").any()


def test_shift_brings_the_newest_order_into_the_last_minute() -> None:
    frames = sample_data.read_csvs(SAMPLE_DIR)
    now = dt.datetime(2027, 6, 3, 8, 15, 30, tzinfo=dt.UTC)
    shifted = sample_data.shift_to_now(frames, now)
    # the newest *order*: the CSVs' latest update is hours after it, and anchoring on that left
    # the demo's newest order a day and a half old
    assert now - dt.timedelta(minutes=1) < shifted["orders"].order_date.max() <= now
    assert shifted["orders"].updated_at.max() <= now  # nothing lands in the future
    assert (shifted["orders"].updated_at >= shifted["orders"].order_date).all()
    delta = shifted["orders"].order_date - frames["orders"].order_date
    assert delta.nunique() == 1 and delta.iloc[0] % dt.timedelta(minutes=1) == dt.timedelta(0)


def test_synthetic_data_is_consistent() -> None:
    frames = sample_data.synthetic(20_000, accounts=5, seed=1)
    orders, items = frames["orders"], frames["order_items"]
    assert len(orders) == 20_000
    share = orders.groupby("account_id").size().max() / len(orders)
    assert 0.28 <= share <= 0.4
    assert set(items.order_id) == set(orders.id)
    line_cents = items.quantity * items.unit_price.map(lambda v: int(v.replace(".", "")))
    by_order = line_cents.groupby(items.order_id).sum()
    totals = orders.set_index("id").total_amount.map(lambda v: int(v.replace(".", "")))
    assert (by_order == totals.loc[by_order.index]).all()
