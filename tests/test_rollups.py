"""Rollups (ebaydash.db.rollups) on SQLite and Postgres: equal to a full recomputation after random
sequences of imports, updates, refunds and status changes; the overview figures read through
them equal pandas over the same rows (and the plain SQL) for windows on and off local midnights;
the check finds a damaged row; the CLI rebuilds and checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from ebaydash.cli import main
from ebaydash.db import bulk, queries, rollup_reads, rollups, upsert
from ebaydash.db.engine import Database
from ebaydash.db.schema import ROLLUP_TABLES, TABLES, day_rollups, orders, sku_day_rollups
from ebaydash.models import LineRecord, OrderRecord, Window
from ebaydash.settings import Settings
from tests import shop_data as sd

NY = "America/New_York"
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
BASE = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)  # a week before New York's clocks go forward
ZONES = ["UTC", NY, "Asia/Kathmandu", "Australia/Sydney"]
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
_names = itertools.count()


# -- the split of a window into whole local days and edges ---------------------------------------


def test_a_window_of_whole_local_days_has_no_edges() -> None:
    window = Window.for_dates(dt.date(2026, 3, 1), dt.date(2026, 3, 14), NY)  # across DST
    piece = rollups.split(window.start, window.end, NY)
    assert piece == rollups.Split((dt.date(2026, 3, 1), dt.date(2026, 3, 14)), ())


def test_a_window_off_midnight_is_cut_into_days_and_two_edges() -> None:
    start = sd.local_midnight(dt.date(2026, 3, 1), NY) + dt.timedelta(hours=5)
    end = sd.local_midnight(dt.date(2026, 3, 9), NY) + dt.timedelta(minutes=1)
    piece = rollups.split(start, end, NY)
    assert piece.days == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    assert piece.edges == (
        (start, sd.local_midnight(dt.date(2026, 3, 2), NY)),
        (sd.local_midnight(dt.date(2026, 3, 9), NY), end),
    )
    # shorter than a day and inside one: all edge
    short = rollups.split(start, start + dt.timedelta(hours=3), NY)
    assert short == rollups.Split(None, ((start, start + dt.timedelta(hours=3)),))


def test_month_split_cuts_whole_months_out_of_a_run_of_days() -> None:
    d = dt.date
    assert rollups.month_split(d(2026, 2, 1), d(2026, 4, 30)) == ([], (d(2026, 2, 1), d(2026, 4, 1)))
    assert rollups.month_split(d(2026, 1, 31), d(2026, 3, 1)) == (
        [(d(2026, 1, 31), d(2026, 1, 31)), (d(2026, 3, 1), d(2026, 3, 1))],
        (d(2026, 2, 1), d(2026, 2, 1)),
    )
    assert rollups.month_split(d(2025, 11, 30), d(2026, 11, 29)) == (
        [(d(2025, 11, 30), d(2025, 11, 30)), (d(2026, 11, 1), d(2026, 11, 29))],
        (d(2025, 12, 1), d(2026, 10, 1)),
    )
    # no whole month: the days as they are (within one month, and across a month's end)
    assert rollups.month_split(d(2026, 3, 2), d(2026, 3, 31)) == ([(d(2026, 3, 2), d(2026, 3, 31))], None)
    assert rollups.month_split(d(2026, 3, 20), d(2026, 4, 10)) == ([(d(2026, 3, 20), d(2026, 4, 10))], None)
    assert rollups.month_split(d(2024, 2, 1), d(2024, 2, 29)) == ([], (d(2024, 2, 1), d(2024, 2, 1)))


# -- truth: the figures through rollups equal pandas and the plain SQL ----------------------------


def _rows(rows: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows]


def assert_figures_match(db: Database, shop: sd.Shop, account_id: int, tz: str, window: Window) -> None:
    """Every rollup-backed figure equals pandas over the shop's rows and the plain SQL."""
    kpis = rollup_reads.account_kpis(db, account_id, window, NOW, tz)
    plain = queries.account_kpis(db, account_id, window, NOW)
    assert dict(kpis._mapping) == dict(plain._mapping)
    previous = window.previous()
    for suffix, (start, end) in (
        ("cur", (window.start, window.end)),
        ("prev", (previous.start, previous.end)),
    ):
        truth = sd.order_figures(shop, account_id, start, end)
        m = kpis._mapping
        got = {
            "orders": m[f"orders_{suffix}"],
            "revenue": m[f"revenue_{suffix}"],
            "customers": m[f"customers_{suffix}"],
            "refunds": m[f"refunds_{suffix}"],
            "refunded": m[f"refunded_{suffix}"],
            "cancelled": m[f"cancelled_{suffix}"],
        }
        assert got == {k: truth[k] for k in got}, suffix
    for granularity in ("day", "week"):
        trend = rollup_reads.revenue_trend(db, account_id, window, tz, granularity)  # type: ignore[arg-type]
        assert _rows(trend) == _rows(queries.revenue_trend(db, account_id, window, tz, granularity))  # type: ignore[arg-type]
        truth_trend = sd.trend_truth(shop, account_id, window.start, window.end, tz, granularity == "week")
        assert {_date(r.bucket): (int(r.orders), r.revenue) for r in trend} == truth_trend
    for by in ("revenue", "units"):
        top = rollup_reads.top_products(db, account_id, window, by, 5, tz)  # type: ignore[arg-type]
        assert _rows(top) == _rows(queries.top_products(db, account_id, window, by, 5))  # type: ignore[arg-type]
        assert [
            (r.sku, r.title, int(r.units), r.revenue, int(r.orders)) for r in top
        ] == sd.top_products_truth(shop, account_id, window.start, window.end, by, 5)
    mix = rollup_reads.status_mix(db, account_id, window, tz)
    assert _rows(mix) == _rows(queries.status_mix(db, account_id, window))
    assert {r.status: (int(r.orders), r.amount) for r in mix} == sd.status_truth(
        shop, account_id, window.start, window.end
    )
    for limit in (1, 3, 10):
        buyers = _buyers(rollup_reads.top_buyers(db, account_id, window, limit))
        assert buyers == _buyers(queries.top_buyers(db, account_id, window, limit))
        assert [(name, n, net) for _id, name, n, net in buyers] == sd.top_buyers_truth(
            shop, account_id, window.start, window.end, limit
        )


def _buyers(rows: Any) -> list[tuple[Any, ...]]:
    return [(int(r.customer_id), r.username, int(r.orders), r.revenue) for r in rows]


@pytest.fixture(autouse=True)
def few_top_buyer_candidates(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Top buyers read few candidates here, so both of their ways are taken: stopping early, and
    reading the window's orders when the candidates do not settle the list."""
    candidates = getattr(request, "param", 3)
    monkeypatch.setattr(rollup_reads, "TOP_BUYER_CANDIDATES", candidates)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    tz=st.sampled_from(ZONES),
    window_tz=st.sampled_from(ZONES),
    first=st.dates(dt.date(2026, 2, 20), dt.date(2026, 3, 20)),
    days=st.sampled_from([1, 3, 7, 30]),
    shift_minutes=st.sampled_from([0, 0, 1, 59, 300, 1439]),
    end_shift_minutes=st.sampled_from([0, -1, 17, 600]),
)
def test_figures_through_rollups_match_pandas_on_and_off_midnight(
    db: Database,
    seed: int,
    tz: str,
    window_tz: str,
    first: dt.date,
    days: int,
    shift_minutes: int,
    end_shift_minutes: int,
) -> None:
    """Windows of whole days of the account's zone read rollups only; windows in another zone
    or shifted off midnight read the partial days at their edges from the orders."""
    with db.transaction() as conn:
        bulk.delete_all(conn, (*TABLES, *ROLLUP_TABLES))
    last = first + dt.timedelta(days=days - 1)
    shop, account_id = sd.random_shop(seed, n_orders=80, tz=tz, first=first, last=last)
    shop.load(db)
    base = Window.for_dates(first, last, window_tz)
    start = base.start + dt.timedelta(minutes=shift_minutes)
    end = base.end + dt.timedelta(minutes=end_shift_minutes)
    window = Window(start, end, window_tz) if end > start else base
    assert_figures_match(db, shop, account_id, tz, window)


def test_an_empty_account_reads_zeros_through_rollups(db: Database) -> None:
    shop = sd.Shop()
    account_id = shop.account("Empty", NY)
    shop.load(db)
    window = Window.for_dates(dt.date(2026, 3, 1), dt.date(2026, 3, 30), NY)
    assert_figures_match(db, shop, account_id, NY, window)
    kpis = rollup_reads.account_kpis(db, account_id, window, NOW, NY)
    assert (kpis.orders_cur, kpis.revenue_cur, kpis.refunded_prev) == (0, Decimal("0.00"), Decimal("0.00"))


# -- the property: rollups equal a full recomputation after random writes -------------------------

order_no = st.integers(0, 25)
# titles whose order differs between code points and a linguistic collation: the greatest title
# of a SKU's day must be the database's, however the rollups were written
TITLES = ["apple", "Banana", "cherry", "Ápple", "banana 2"]
line = st.tuples(
    st.sampled_from(["MUG", "CAP", "HAT", "JAR"]),
    st.integers(1, 3),
    st.integers(1, 5_000),
    st.sampled_from(TITLES),
)
new_order = st.fixed_dictionaries(
    {
        "no": order_no,
        "minutes": st.integers(0, 20 * 24 * 60),  # up to 20 days after BASE, any minute
        "status": st.sampled_from(STATUSES),
        "lines": st.lists(line, min_size=1, max_size=3),
        "shipping": st.integers(0, 999),
        "refund_share": st.sampled_from([0, 0, 0, 0.5, 1]),
        "age_hours": st.integers(-48, 48),  # updated_at relative to the last copy: older copies too
        "buyer": st.sampled_from([None, "ann", "bob", "cy"]),
    }
)
operation = st.one_of(
    st.tuples(st.just("import"), st.lists(new_order, min_size=1, max_size=6, unique_by=lambda o: o["no"])),
    st.tuples(st.just("status"), order_no, st.sampled_from(STATUSES)),
    st.tuples(st.just("refund"), order_no, st.sampled_from([0.1, 0.5, 1.0])),
    st.tuples(st.just("move"), order_no, st.integers(-3 * 24 * 60, 3 * 24 * 60)),
)


def _record(spec: dict[str, Any], previous: OrderRecord | None) -> OrderRecord:
    lines = tuple(
        LineRecord(sku=sku, title=title, quantity=q, unit_price=sd.cents(p))
        for sku, q, p, title in spec["lines"]
    )
    total = sum((li.unit_price * li.quantity for li in lines), sd.cents(spec["shipping"]))
    refunded = (total * Decimal(str(spec["refund_share"]))).quantize(Decimal("0.01"))
    status = spec["status"]
    if status == "refunded":
        refunded = total
    order_date = BASE + dt.timedelta(minutes=spec["minutes"])
    last_update = previous.updated_at if previous is not None else order_date
    return OrderRecord(
        ebay_order_id=f"O-{spec['no']}",
        status=status,
        total_amount=total,
        refunded_amount=refunded,
        currency="USD",
        order_date=order_date,
        updated_at=last_update + dt.timedelta(hours=spec["age_hours"]),
        lines=lines,
        buyer=spec["buyer"],
    )


def _import(db: Database, name: str, tz: str, records: list[OrderRecord]) -> int:
    return upsert.write_import(
        db,
        [records],
        account_name=name,
        ebay_user_id=name.lower().replace(" ", "-"),
        currency="USD",
        timezone=tz,
        marketplace="EBAY_US",
    ).account_id


def _stored_ids(db: Database, account_id: int) -> dict[str, int]:
    with db.connect() as conn:
        stmt = select(orders.c.ebay_order_id, orders.c.id).where(orders.c.account_id == account_id)
        return {str(e): int(i) for e, i in conn.execute(stmt).all()}


def _apply(
    db: Database,
    name: str,
    tz: str,
    op: tuple[Any, ...],
    last: dict[int, OrderRecord],
    account_id: int | None,
) -> int | None:
    """Carry out one random write (see ``operation``); the account's id once it exists."""
    kind = op[0]
    if kind == "import":
        records = [_record(spec, last.get(spec["no"])) for spec in op[1]]
        account_id = _import(db, name, tz, records)
        for spec, record in zip(op[1], records, strict=True):
            last[spec["no"]] = record
    elif account_id is None or op[1] not in last:
        pass
    elif kind == "status":
        order_id = _stored_ids(db, account_id)[f"O-{op[1]}"]
        assert queries.update_order_status(db, account_id, order_id, op[2], NOW)
    elif kind == "refund":  # a later copy of the order from the API, with a refund
        record = last[op[1]]
        refunded = (record.total_amount * Decimal(str(op[2]))).quantize(Decimal("0.01"))
        record = dataclasses.replace(
            record,
            refunded_amount=refunded,
            status="refunded" if refunded == record.total_amount else record.status,
            updated_at=record.updated_at + dt.timedelta(days=1),
        )
        _import(db, name, tz, [record])
        last[op[1]] = record
    else:  # "move": a later copy with another order date moves the order to another day
        record = last[op[1]]
        record = dataclasses.replace(
            record,
            order_date=record.order_date + dt.timedelta(minutes=op[2]),
            updated_at=record.updated_at + dt.timedelta(days=1),
        )
        _import(db, name, tz, [record])
        last[op[1]] = record
    return account_id


@hsettings(
    max_examples=80,  # sequences of up to 30 operations: several hundred per backend and run
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tz=st.sampled_from(ZONES), operations=st.lists(operation, min_size=1, max_size=30))
def test_rollups_equal_a_full_recomputation_after_random_writes(
    db: Database, tz: str, operations: list[tuple[Any, ...]]
) -> None:
    name = f"Shop {next(_names)}"
    last: dict[int, OrderRecord] = {}
    account_id: int | None = None
    for op in operations:
        account_id = _apply(db, name, tz, op, last, account_id)
    if account_id is None:
        return
    with db.connect() as conn:
        assert rollups.check(conn, [account_id]) == []
    # and the figures read through them equal the plain SQL, on and off the local midnights
    for window in (
        Window.for_dates(BASE.date(), BASE.date() + dt.timedelta(days=20), tz),
        Window(BASE + dt.timedelta(hours=7), BASE + dt.timedelta(days=9, minutes=13), tz),
        # whole months (February to April: March from the month rows) and part months around one
        Window.for_dates(dt.date(2026, 2, 1), dt.date(2026, 4, 30), tz),
        Window.for_dates(dt.date(2026, 2, 17), dt.date(2026, 4, 3), tz),
    ):
        for by in ("revenue", "units"):
            assert _rows(rollup_reads.top_products(db, account_id, window, by, 5, tz)) == _rows(  # type: ignore[arg-type]
                queries.top_products(db, account_id, window, by, 5)  # type: ignore[arg-type]
            )
        assert dict(rollup_reads.account_kpis(db, account_id, window, NOW, tz)._mapping) == dict(
            queries.account_kpis(db, account_id, window, NOW)._mapping
        )
        assert _rows(rollup_reads.status_mix(db, account_id, window, tz)) == _rows(
            queries.status_mix(db, account_id, window)
        )
        for limit in (1, 2, 5):
            assert _buyers(rollup_reads.top_buyers(db, account_id, window, limit)) == _buyers(
                queries.top_buyers(db, account_id, window, limit)
            )
        assert _rows(rollup_reads.top_products(db, account_id, window, "units", 10, tz)) == _rows(
            queries.top_products(db, account_id, window, "units", 10)
        )


def _random_operation(rng: random.Random, orders_known: int) -> tuple[Any, ...]:
    """One operation of the kinds ``operation`` draws, from a seeded generator: a sequence of a
    thousand is beyond what Hypothesis draws in one example."""

    def spec(no: int) -> dict[str, Any]:
        return {
            "no": no,
            "minutes": rng.randint(0, 20 * 24 * 60),
            "status": rng.choice(STATUSES),
            "lines": [
                (
                    rng.choice(["MUG", "CAP", "HAT", "JAR"]),
                    rng.randint(1, 3),
                    rng.randint(1, 5_000),
                    rng.choice(TITLES),
                )
                for _ in range(rng.randint(1, 3))
            ],
            "shipping": rng.randint(0, 999),
            "refund_share": rng.choice([0, 0, 0, 0.5, 1]),
            "age_hours": rng.randint(-48, 48),
            "buyer": rng.choice([None, "ann", "bob", "cy", "dee", "eli"]),
        }

    kind = rng.choice(["import", "import", "status", "refund", "move"])
    no = rng.randrange(orders_known)
    if kind == "import":
        return ("import", [spec(n) for n in rng.sample(range(orders_known), rng.randint(1, 6))])
    if kind == "status":
        return ("status", no, rng.choice(STATUSES))
    if kind == "refund":
        return ("refund", no, rng.choice([0.1, 0.5, 1.0]))
    return ("move", no, rng.randint(-3 * 24 * 60, 3 * 24 * 60))


def test_rollups_equal_a_full_recomputation_after_a_thousand_random_writes(db: Database) -> None:
    """The issue's figure: 1,000 random imports, status changes, refunds and moves in one account,
    checked against a full recomputation every 250 writes (and the reads against the plain SQL
    at the end). The negative control is test_a_write_that_bypasses_the_rollups_is_caught."""
    rng = random.Random(20261129)
    tz = NY
    name = f"Shop {next(_names)}"
    last: dict[int, OrderRecord] = {}
    account_id: int | None = None
    for n in range(1, 1001):
        account_id = _apply(db, name, tz, _random_operation(rng, 150), last, account_id)
        if n % 250 == 0:
            assert account_id is not None
            with db.connect() as conn:
                assert rollups.check(conn, [account_id]) == [], f"after {n} writes"
    assert account_id is not None and len(last) > 100
    window = Window(BASE + dt.timedelta(hours=5), BASE + dt.timedelta(days=17, minutes=41), tz)
    assert dict(rollup_reads.account_kpis(db, account_id, window, NOW, tz)._mapping) == dict(
        queries.account_kpis(db, account_id, window, NOW)._mapping
    )
    assert _rows(rollup_reads.top_products(db, account_id, window, "revenue", 10, tz)) == _rows(
        queries.top_products(db, account_id, window, "revenue", 10)
    )


# -- the check, the rebuild and the CLI ------------------------------------------------------------


def _some_shop(db: Database) -> int:
    shop, account_id = sd.random_shop(
        7, n_orders=60, tz=NY, first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 14)
    )
    shop.load(db)
    return account_id


def test_the_check_finds_a_damaged_missing_or_extra_row_and_the_rebuild_repairs_it(db: Database) -> None:
    account_id = _some_shop(db)
    with db.connect() as conn:
        assert rollups.check(conn) == []
    with db.transaction() as conn:
        some_day = conn.execute(select(func.min(day_rollups.c.day))).scalar_one()
        conn.execute(
            update(day_rollups)
            .where(day_rollups.c.account_id == account_id, day_rollups.c.day == some_day)
            .values(orders=day_rollups.c.orders + 1)
        )
        conn.execute(sku_day_rollups.delete().where(sku_day_rollups.c.day == some_day))
    with db.connect() as conn:
        found = rollups.check(conn)
    assert {d.table for d in found} == {"day_rollups", "sku_day_rollups"}
    assert all(d.account_id == account_id for d in found)
    assert any(d.stored is None for d in found)  # the deleted SKU rows are missing
    with db.transaction() as conn:
        written = rollups.rebuild(conn)
    assert written["day_rollups"] > 0 and written["sku_day_rollups"] > 0
    with db.connect() as conn:
        assert rollups.check(conn) == []


def test_a_write_that_bypasses_the_rollups_is_caught(db: Database) -> None:
    """Negative control for the property above: changing an order without refreshing its day
    leaves the rollups stale, and the check says so."""
    account_id = _some_shop(db)
    with db.transaction() as conn:
        newest = conn.execute(
            select(func.max(orders.c.id)).where(orders.c.account_id == account_id)
        ).scalar_one()
        conn.execute(update(orders).where(orders.c.id == newest).values(status="cancelled", total_amount=1))
    with db.connect() as conn:
        assert rollups.check(conn) != []


def test_cli_rebuilds_and_checks_the_rollups(
    db: Database, settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _some_shop(db)
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", settings.database_url)
    assert main(["db", "check-rollups"]) == 0
    assert "agree" in capsys.readouterr().out
    with db.transaction() as conn:
        conn.execute(day_rollups.delete())
    assert main(["db", "check-rollups"]) == 1
    assert "differ from the orders" in capsys.readouterr().err
    assert main(["db", "rebuild-rollups"]) == 0
    assert "day_rollups" in capsys.readouterr().out
    assert main(["db", "check-rollups"]) == 0


# -- top buyers: the threshold scan -----------------------------------------------------------------


def _spend(buyer: str, n: int, day: int, amount: str) -> OrderRecord:
    when = BASE + dt.timedelta(days=day, hours=n % 20)
    total = Decimal(amount)
    return OrderRecord(
        ebay_order_id=f"T-{buyer}-{day}-{n}",
        status="paid",
        total_amount=total,
        refunded_amount=Decimal("0.00"),
        currency="USD",
        order_date=when,
        updated_at=when,
        lines=(LineRecord(sku="S", title="Thing", quantity=1, unit_price=total),),
        buyer=buyer,
    )


@pytest.fixture
def loyal_and_new(db: Database) -> int:
    """Five loyal buyers who spend the most every day of 20, and one new buyer who spends more than
    any of them on the last day only."""
    records = [
        _spend(f"loyal{b}", n, day, f"{100 - b}.00") for b in range(5) for day in range(20) for n in range(2)
    ]
    records += [_spend(f"small{b}", 0, day, "5.00") for b in range(20) for day in (0, 19)]
    records.append(_spend("new", 0, 19, "900.00"))
    return _import(db, "Threshold Shop", "UTC", records)


@pytest.mark.parametrize("few_top_buyer_candidates", [5], indirect=True)
def test_top_buyers_stop_early_when_the_biggest_spenders_settle_the_list(
    db: Database, loyal_and_new: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = queries.top_buyers
    calls: list[int] = []
    monkeypatch.setattr(queries, "top_buyers", lambda *a, **k: calls.append(1) or plain(*a, **k))
    # the whole period: the five loyal buyers lead, and the sixth-biggest spender (the new one,
    # 900) is below the third's 20 days x 2 x 98; the top three are settled by the candidates
    window = Window.for_dates(BASE.date(), BASE.date() + dt.timedelta(days=19), "UTC")
    top = _buyers(rollup_reads.top_buyers(db, loyal_and_new, window, 3))
    assert calls == []  # no window scan
    assert top == _buyers(plain(db, loyal_and_new, window, 3))
    assert [name for _id, name, _n, _net in top] == ["loyal0", "loyal1", "loyal2"]
    # the last day alone: the new buyer leads, who is not among the five candidates
    last_day = Window.for_dates(
        BASE.date() + dt.timedelta(days=19), BASE.date() + dt.timedelta(days=19), "UTC"
    )
    top = _buyers(rollup_reads.top_buyers(db, loyal_and_new, last_day, 3))
    assert calls == [1]  # the candidates could not settle it: the window's orders were read
    assert top == _buyers(plain(db, loyal_and_new, last_day, 3))
    assert top[0][1] == "new"


@pytest.mark.parametrize("few_top_buyer_candidates", [5], indirect=True)
def test_top_buyers_without_the_ceiling_test_would_miss_a_buyer(db: Database, loyal_and_new: int) -> None:
    """The negative control: the candidates' own list, taken without comparing its last revenue
    with the next ceiling, misses the new buyer of the last day; the scan has them."""
    day = BASE.date() + dt.timedelta(days=19)
    last_day = Window.for_dates(day, day, "UTC")
    truth = _buyers(queries.top_buyers(db, loyal_and_new, last_day, 3))
    params = {
        "account_id": loyal_and_new,
        "start": last_day.start,
        "end": last_day.end,
        "candidates": 5,
        "top": 3,
    }
    blind = _buyers(db.fetch_all("top_buyers", rollup_reads._top_buyer_candidates_statement(), params=params))
    assert "new" not in [name for _id, name, _n, _net in blind] and blind != truth
    assert _buyers(rollup_reads.top_buyers(db, loyal_and_new, last_day, 3)) == truth


def test_an_import_of_new_orders_only_keeps_every_rollup_exact(db: Database) -> None:
    """New orders take the added-from-the-records path on Postgres (nothing recomputed from the
    orders), in this month and the next; each rollup table must still equal a recomputation.
    (Without the month rows' addition this fails on Postgres; SQLite recomputes the days.)"""
    name = f"Shop {next(_names)}"
    first = [_spend(f"b{n % 4}", n, n % 9, f"{10 + n}.00") for n in range(12)]
    account_id = _import(db, name, NY, first)
    later = [_spend(f"b{n % 5}", n, 20 + n % 30, f"{20 + n}.50") for n in range(12, 40)]
    assert _import(db, name, NY, later) == account_id
    with db.connect() as conn:
        assert rollups.check(conn, [account_id]) == []
