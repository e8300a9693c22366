"""The data model and the gateway, on SQLite and on Postgres."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from ebaydash import sample_data
from ebaydash.db import queries
from ebaydash.db.engine import Database
from ebaydash.db.schema import accounts, orders
from ebaydash.errors import DatabaseUnavailable, QueryTimeout
from ebaydash.seeding import seed_demo
from ebaydash.settings import Settings
from tests.conftest import SAMPLE_DIR

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_demo_loads_every_row_and_is_idempotent(db: Database) -> None:
    first = seed_demo(db, SAMPLE_DIR, now=NOW)
    assert first.action == "loaded"
    expected = {name: len(frame) for name, frame in sample_data.read_csvs(SAMPLE_DIR).items()}
    assert first.counts == expected
    again = seed_demo(db, SAMPLE_DIR, now=NOW)
    assert again.action == "kept"
    with db.connect() as conn:
        assert conn.execute(select(orders.c.id).order_by(orders.c.id.desc())).first()[0] == expected["orders"]


def test_demo_is_reloaded_on_a_later_day_so_it_stays_current(db: Database) -> None:
    seed_demo(db, SAMPLE_DIR, now=NOW)
    later = NOW + dt.timedelta(days=40)
    assert seed_demo(db, SAMPLE_DIR, now=later).action == "reloaded"
    with db.connect() as conn:
        newest = conn.execute(select(orders.c.order_date).order_by(orders.c.order_date.desc())).scalar()
    assert later - dt.timedelta(days=2) <= newest <= later


def test_the_newest_demo_order_is_from_the_last_minute_and_nothing_is_in_the_future(db: Database) -> None:
    now = NOW + dt.timedelta(hours=7, minutes=13, seconds=42)  # not a whole day after anything
    seed_demo(db, SAMPLE_DIR, now=now)
    with db.connect() as conn:
        newest = conn.execute(select(func.max(orders.c.order_date))).scalar_one()
        latest_update = conn.execute(select(func.max(orders.c.updated_at))).scalar_one()
        behind = conn.execute(
            select(func.count()).select_from(orders).where(orders.c.updated_at < orders.c.order_date)
        ).scalar_one()
    newest, latest_update = as_utc(newest), as_utc(latest_update)
    assert now - dt.timedelta(minutes=1) < newest <= now  # the last hour, in fact the last minute
    assert latest_update <= now and behind == 0  # no update from the future, none before its order
    # the same CSVs and moment give the same data (tests rely on it), and the move is one shift
    # for every date: the gaps between orders are the CSVs' own
    frames = sample_data.read_csvs(SAMPLE_DIR)
    once, twice = sample_data.shift_to_now(frames, now), sample_data.shift_to_now(frames, now)
    assert once["orders"].equals(twice["orders"]) and once["listings"].equals(twice["listings"])
    gaps = (once["orders"]["order_date"] - frames["orders"]["order_date"]).unique()
    assert len(gaps) == 1 and gaps[0] % pd.Timedelta(minutes=1) == pd.Timedelta(0)


def test_the_demo_is_reloaded_an_hour_later_not_sooner(db: Database) -> None:
    seed_demo(db, SAMPLE_DIR, now=NOW)
    assert seed_demo(db, SAMPLE_DIR, now=NOW + dt.timedelta(minutes=59)).action == "kept"
    assert seed_demo(db, SAMPLE_DIR, now=NOW + dt.timedelta(hours=1)).action == "reloaded"


def as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def test_money_and_time_round_trip_exactly(db: Database) -> None:
    moment = dt.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with db.transaction() as conn:
        account_id = conn.execute(
            insert(accounts).values(name="A", ebay_user_id="a").returning(accounts.c.id)
        ).scalar_one()
        conn.execute(
            insert(orders),
            [
                dict(
                    account_id=account_id,
                    ebay_order_id=f"o{i}",
                    status="paid",
                    total_amount=Decimal("0.10"),
                    refunded_amount=Decimal("0"),
                    currency="USD",
                    order_date=moment,
                    updated_at=moment,
                )
                for i in range(1000)
            ],
        )
    row = db.fetch_one("t", select(orders.c.total_amount, orders.c.order_date).limit(1))
    assert row is not None
    assert row.total_amount == Decimal("0.10")
    assert row.order_date == moment and row.order_date.tzinfo is not None
    # 1000 × 0.10 summed in SQL must be exactly 100.00 (a float sum would not be)
    total = queries.account_kpis(
        db, account_id, sample_window(moment), now=moment + dt.timedelta(days=1)
    ).revenue_cur
    assert total == Decimal("100.00")


def sample_window(moment: dt.datetime):  # type: ignore[no-untyped-def]
    from ebaydash.models import Window

    return Window(moment - dt.timedelta(days=1), moment + dt.timedelta(days=1))


def test_kpis_match_pandas_on_the_demo_data(db: Database) -> None:
    from ebaydash.models import Window

    seed_demo(db, SAMPLE_DIR, now=NOW)
    frame = pd.read_sql(select(orders), db.engine, coerce_float=False)
    frame["order_date"] = pd.to_datetime(frame["order_date"], utc=True)
    for account_id in sorted(frame["account_id"].unique()):
        window = Window(NOW - dt.timedelta(days=30), NOW)
        row = queries.account_kpis(db, int(account_id), window, NOW)
        mine = frame[(frame.account_id == account_id) & (frame.status != "cancelled")]
        in_window = mine[(mine.order_date >= window.start) & (mine.order_date < window.end)]
        assert row.orders_cur == len(in_window)
        # read through the Money type, so pandas holds Decimals on both backends
        expected = sum(
            (a - r for a, r in zip(in_window.total_amount, in_window.refunded_amount, strict=True)),
            Decimal("0"),
        )
        assert row.revenue_cur == expected
        assert row.customers_cur == in_window.customer_id.nunique()


def test_a_runaway_query_stops_at_the_time_limit(db: Database) -> None:
    from sqlalchemy import text

    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
    )
    started = dt.datetime.now()
    with pytest.raises(QueryTimeout, match=r"longer than its 0\.2 s limit"):
        db.fetch_all("runaway", text(slow), timeout_ms=200)
    assert (dt.datetime.now() - started).total_seconds() < 5
    # the connection is usable again, with the default limit
    assert db.fetch_one("after", text("SELECT 1"))[0] == 1


def test_an_unreachable_database_gives_a_readable_error() -> None:
    from ebaydash.db.engine import make_engine
    from ebaydash.settings import Settings
    from tests.conftest import free_port

    settings = Settings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    database = Database(make_engine(settings), timeout_ms=1000)
    with pytest.raises(DatabaseUnavailable, match="cannot be reached"):
        queries.list_accounts(database)
    health = database.health()
    assert not health.ok and "cannot be reached" in health.message


def test_synthetic_seed_loads_in_bulk_and_can_be_repeated(db: Database) -> None:
    from sqlalchemy import func

    from ebaydash.db.schema import order_items
    from ebaydash.seeding import seed_synthetic

    first = seed_synthetic(db, 3000, accounts=4, seed=1)
    second = seed_synthetic(db, 2000, accounts=3, seed=1)
    assert first.counts["orders"] == 3000 and second.counts["orders"] == 2000
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 5000
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 7
        items = conn.execute(select(func.count()).select_from(order_items)).scalar_one()
    assert items == first.counts["order_items"] + second.counts["order_items"]
    # the foreign keys and indexes dropped for the bulk load are back
    from sqlalchemy import inspect

    inspector = inspect(db.engine)
    referred = {fk["referred_table"] for fk in inspector.get_foreign_keys("order_items")}
    assert referred == {"orders", "products"}
    assert "ix_orders_account_date" in {ix["name"] for ix in inspector.get_indexes("orders")}


def test_reads_survive_a_database_restart_of_their_pooled_connections(postgres_url: str) -> None:
    """Every pooled connection is killed (as a Postgres restart would); the next read must still
    succeed, without pre-ping, by retrying once on a fresh connection."""
    from sqlalchemy import text

    from ebaydash.db.engine import make_engine

    settings = Settings(database_url=postgres_url)
    database = Database(make_engine(settings), timeout_ms=5000)
    pids = set()
    with database.connect() as a, database.connect() as b:  # two pooled connections
        pids = {
            a.execute(text("SELECT pg_backend_pid()")).scalar(),
            b.execute(text("SELECT pg_backend_pid()")).scalar(),
        }
    killer = Database(make_engine(settings), timeout_ms=5000)
    with killer.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    killer.dispose()
    assert database.fetch_one("after_restart", text("SELECT 42"))[0] == 42
    assert database.fetch_one("again", text("SELECT 43"))[0] == 43
    database.dispose()


def test_tables_created_after_a_bulk_seed_still_get_their_foreign_keys(db: Database) -> None:
    # Re-adding the keys with ALTER TABLE must not change the shared Table objects: a later
    # CREATE TABLE in the same process (a second database, a test) would silently lose them.
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from ebaydash.db.schema import order_items
    from ebaydash.seeding import seed_synthetic

    seed_synthetic(db, 200, accounts=2, seed=3)
    ddl = str(CreateTable(order_items).compile(dialect=postgresql.dialect()))
    assert "FOREIGN KEY(order_id) REFERENCES orders" in ddl
    assert "FOREIGN KEY(product_id) REFERENCES products" in ddl
