"""Row-level security on Postgres (issue 13, defence in depth): with the app logged in as a role
that neither owns the tables nor has BYPASSRLS, a transaction sees and writes only the accounts of
its :mod:`ebaydash.db.scope`, whatever its SQL says. 1,000 interleaved requests of two tenants over
a pool of two connections read 0 rows of the other tenant; the negative controls show the same
harness does count leaks (the owner without FORCE, a session-level SET). On SQLite a scope is a
no-op.

Each test database and role is named ``replica_…`` and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import column, create_engine, event, insert, select, table, text
from sqlalchemy.engine import make_url

from ebaydash.context import open_database
from ebaydash.db import migrations, queries, scope, security
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import customers
from ebaydash.errors import ConfigError, PermissionDenied
from ebaydash.models import OrderFilter
from ebaydash.settings import Settings
from tests.conftest import PG_ADMIN_URL, _postgres_available, require
from tests.migration_support import insert as insert_rows

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
ORDERS_PER_TENANT = 30
SCOPED = ("accounts", "customers", "products", "listings", "orders")


@dataclass
class Tenants:
    owner_url: str
    app_url: str
    owner_role: str
    app_role: str
    ids: tuple[int, int]
    owner: Database  # the tables' owner: migrations and the data


def _url(role: str, database: str) -> str:
    return make_url(PG_ADMIN_URL).set(username=role, database=database).render_as_string(hide_password=False)


def _seed(db: Database) -> tuple[int, int]:
    ids = []
    for n in (1, 2):
        insert_rows(db, "accounts", [{"name": f"Shop {n}", "ebay_user_id": f"shop{n}"}])
        with db.connect() as conn:
            account_id = conn.execute(
                text("SELECT id FROM accounts WHERE ebay_user_id = :u"), {"u": f"shop{n}"}
            ).scalar_one()
        ids.append(account_id)
        insert_rows(
            db, "customers", [{"account_id": account_id, "ebay_username": f"buyer{n}_{i}"} for i in range(3)]
        )
        insert_rows(
            db,
            "products",
            [{"account_id": account_id, "sku": f"SKU{n}-{i}", "title": f"Thing {i}"} for i in range(2)],
        )
        with db.connect() as conn:
            product = conn.execute(
                text("SELECT min(id) FROM products WHERE account_id = :a"), {"a": account_id}
            ).scalar_one()
            customer = conn.execute(
                text("SELECT min(id) FROM customers WHERE account_id = :a"), {"a": account_id}
            ).scalar_one()
        insert_rows(
            db,
            "listings",
            [
                {
                    "account_id": account_id,
                    "product_id": product,
                    "ebay_item_id": f"item{n}",
                    "status": "active",
                    "price": Decimal("9.99"),
                    "quantity": 5,
                    "started_at": T0,
                }
            ],
        )
        insert_rows(
            db,
            "orders",
            [
                {
                    "account_id": account_id,
                    "ebay_order_id": f"{n}-{i}",
                    "customer_id": customer,
                    "status": "paid",
                    "total_amount": Decimal("10.00") + i,
                    "currency": "USD",
                    "order_date": T0 + dt.timedelta(hours=i),
                    "updated_at": T0,
                }
                for i in range(ORDERS_PER_TENANT)
            ],
        )
    return ids[0], ids[1]


@pytest.fixture(scope="module")
def tenants() -> Iterator[Tenants]:
    require(_postgres_available(), "Postgres at 127.0.0.1:5432")
    tag = uuid.uuid4().hex[:8]
    owner_role, app_role, name = f"replica_owner_{tag}", f"replica_app_{tag}", f"replica_rls_{tag}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{owner_role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
        conn.execute(text(f'CREATE ROLE "{app_role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{owner_role}"'))
    owner_url, app_url = _url(owner_role, name), _url(app_role, name)
    owner = Database(make_engine(Settings(database_url=owner_url)), timeout_ms=30_000)
    try:
        migrations.upgrade(owner)
        with owner.transaction() as conn:
            security.grant_app_role(conn, app_role)
        ids = _seed(owner)
        yield Tenants(owner_url, app_url, owner_role, app_role, ids, owner)
    finally:
        owner.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{app_role}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner_role}"'))
        admin.dispose()


def app_database(t: Tenants, **changes: object) -> Database:
    """The app's gateway as production opens it: logged in as the app role, pool of 2."""
    settings = Settings(
        database_url=t.app_url,
        database_admin_url=t.owner_url,
        database_app_role=t.app_role,
        pool_size=1,
        max_overflow=1,
    ).replace(**changes)
    db = open_database(settings)
    db.ensure_ready()
    return db


# -- the harness: interleaved requests, cross-tenant rows counted ---------------------------------

Request = Callable[[int | None], list[int]]


def interleave(
    request: Request, tenants: tuple[int, int], *, count: int = 1000, threads: int = 4
) -> tuple[int, int]:
    """Run ``count`` requests from ``threads`` threads, each for a random tenant (or, one in ten,
    for no tenant at all: a path that forgot its scope). Returns (rows of the request's own tenant,
    rows of any other: the leaks)."""
    own = leaked = 0
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        nonlocal own, leaked
        rng = random.Random(seed)
        for _ in range(count // threads):
            tenant = None if rng.random() < 0.1 else rng.choice(tenants)
            try:
                seen = request(tenant)
            except BaseException as exc:  # reported below
                errors.append(exc)
                return
            with lock:
                own += sum(1 for a in seen if a == tenant)
                leaked += sum(1 for a in seen if a != tenant)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors[0]
    return own, leaked


def every_scoped_row(conn_execute: Callable[[str], list[int]]) -> list[int]:
    """The account id of every row of every account-scoped table, with no filter of our own."""
    seen: list[int] = []
    for name, col in security.account_scoped_tables().items():
        seen += conn_execute(f'SELECT "{col}" FROM "{name}"')
    return seen


def scoped_request(db: Database, tenants: tuple[int, int]) -> Request:
    other = {tenants[0]: tenants[1], tenants[1]: tenants[0]}

    def request(tenant: int | None) -> list[int]:
        # no tenant: a path that forgot its scope, which must see nothing
        with scope.allowed_accounts({tenant}) if tenant is not None else contextlib.nullcontext():
            seen: list[int] = []
            for name, col in security.account_scoped_tables().items():
                stmt = select(column(col)).select_from(table(name))
                seen += [row[0] for row in db.fetch_all("unfiltered", stmt)]
            if tenant is not None:
                # the real queries with a forged account id (the other tenant's) find nothing
                forged = other[tenant]
                if queries.orders_count(db, forged, OrderFilter()):
                    seen.append(forged)
                seen += [forged for _ in queries.export_orders(db, forged, OrderFilter(), "newest")]
                seen += [row.id for row in queries.list_accounts(db)]
                # and writing a row into the other account is refused
                try:
                    with db.transaction() as conn:
                        conn.execute(
                            insert(customers).values(account_id=forged, ebay_username=uuid.uuid4().hex)
                        )
                    seen.append(forged)
                except PermissionDenied:
                    pass
        return seen

    return request


def test_1000_interleaved_requests_of_two_tenants_on_a_pool_of_2_read_0_rows_of_the_other(
    tenants: Tenants,
) -> None:
    db = app_database(tenants)
    try:
        own, leaked = interleave(scoped_request(db, tenants.ids), tenants.ids)
        pool = db.pool_status()
    finally:
        db.dispose()
    assert leaked == 0
    assert own > 900 * (ORDERS_PER_TENANT + 6)  # the requests did see their own tenant's rows
    assert pool is not None and pool.size + pool.max_overflow == 2


def test_an_unscoped_transaction_sees_nothing_and_all_accounts_sees_everything(
    tenants: Tenants, caplog: pytest.LogCaptureFixture
) -> None:
    db = app_database(tenants)
    try:
        with caplog.at_level("WARNING", logger="ebaydash.db.engine"):
            assert queries.list_accounts(db) == []
            assert queries.list_accounts(db) == []
        warned = [r for r in caplog.records if "outside any account scope" in r.getMessage()]
        assert len(warned) == 1  # once per process, naming the fix
        with scope.all_accounts():
            assert {row.id for row in queries.list_accounts(db)} == set(tenants.ids)
        with scope.allowed_accounts({tenants.ids[0]}), scope.all_accounts():
            # a nested scope never widens
            assert {row.id for row in queries.list_accounts(db)} == {tenants.ids[0]}
        with scope.allowed_accounts({tenants.ids[0]}):
            assert queries.orders_count(db, tenants.ids[0], OrderFilter()) == ORDERS_PER_TENANT
    finally:
        db.dispose()


# -- negative controls: the harness does see leaks -----------------------------------------------


def test_negative_control_the_owner_without_force_leaks_and_with_force_does_not(tenants: Tenants) -> None:
    owner = Database(
        make_engine(Settings(database_url=tenants.owner_url), all_accounts=False),
        timeout_ms=30_000,
        row_security=True,
    )
    try:
        request = scoped_request(owner, tenants.ids)
        with owner.transaction() as conn:
            for name in SCOPED:
                conn.execute(text(f'ALTER TABLE "{name}" NO FORCE ROW LEVEL SECURITY'))
        try:
            _, leaked = interleave(request, tenants.ids, count=40)
        finally:
            with owner.transaction() as conn:
                for name in SCOPED:
                    conn.execute(text(f'ALTER TABLE "{name}" FORCE ROW LEVEL SECURITY'))
        assert leaked > 0, "the owner skips policies without FORCE: the harness must count that"
        _, leaked = interleave(request, tenants.ids, count=40)
        assert leaked == 0
    finally:
        owner.dispose()


def test_negative_control_a_session_level_set_leaks_to_the_next_user_of_the_connection(
    tenants: Tenants,
) -> None:
    engine = make_engine(
        Settings(database_url=tenants.app_url, pool_size=1, max_overflow=1), all_accounts=False
    )

    def request(tenant: int | None) -> list[int]:
        with engine.connect() as conn:
            if tenant is not None:
                # what issue 13 forbids: a session-level SET outlives the request
                conn.execute(text(f"SET {security.ALLOWED_SETTING} = '{{{tenant}}}'"))

            def run(sql: str) -> list[int]:
                return [row[0] for row in conn.execute(text(sql))]

            seen = every_scoped_row(run)
            conn.commit()
            return seen

    try:
        _, leaked = interleave(request, tenants.ids, count=200)
        assert leaked > 0, "a request without a scope inherited the previous request's SET"
    finally:
        engine.dispose()


# -- the role, and every account-scoped table -----------------------------------------------------


def test_the_app_role_is_neither_owner_nor_superuser_nor_bypassrls(tenants: Tenants) -> None:
    db = app_database(tenants)
    try:
        with db.connect() as conn:
            found = security.check_app_role(conn)
            row = conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            ).one()
    finally:
        db.dispose()
    assert found.role == tenants.app_role and found.ok, found.problems
    assert (row.rolsuper, row.rolbypassrls) == (False, False)
    # the check can fail: the owner owns every account-scoped table, the admin is a superuser
    with tenants.owner.connect() as conn:
        assert set(security.check_app_role(conn).owns) == {
            *security.account_scoped_tables(),
            *security.CHILD_TABLES,
        }
    admin = Database(make_engine(Settings(database_url=PG_ADMIN_URL)), timeout_ms=10_000)
    try:
        with admin.connect() as conn:
            assert security.check_app_role(conn).superuser
    finally:
        admin.dispose()


def test_the_app_refuses_to_start_as_the_owner(tenants: Tenants) -> None:
    db = open_database(Settings(database_url=tenants.owner_url, database_app_role=tenants.owner_role))
    try:
        with pytest.raises(ConfigError, match="owns"):
            db.ensure_ready()
    finally:
        db.dispose()
    db = open_database(Settings(database_url=tenants.owner_url, database_app_role=tenants.app_role))
    try:
        with pytest.raises(ConfigError, match="logs in as"):
            db.ensure_ready()
    finally:
        db.dispose()


def test_every_account_scoped_table_has_forced_row_security_and_its_policy(tenants: Tenants) -> None:
    with tenants.owner.connect() as conn:
        assert security.missing_row_security(conn) == []
        assert security.live_account_scoped_tables(conn) == security.account_scoped_tables()
    # negative control: a new account-scoped table without a policy is named
    with tenants.owner.transaction() as conn:
        conn.execute(text("CREATE TABLE replica_later (id bigint PRIMARY KEY, account_id bigint NOT NULL)"))
    try:
        with tenants.owner.connect() as conn:
            assert security.missing_row_security(conn) == ["replica_later"]
        with tenants.owner.transaction() as conn:
            for statement in security.enable_statements("replica_later", "account_id"):
                conn.execute(text(statement))
        with tenants.owner.connect() as conn:
            assert security.missing_row_security(conn) == []
    finally:
        with tenants.owner.transaction() as conn:
            conn.execute(text("DROP TABLE replica_later"))


def test_the_scope_is_set_per_transaction_never_for_the_session(tenants: Tenants) -> None:
    db = app_database(tenants, pool_size=1, max_overflow=0)
    try:
        with scope.allowed_accounts({tenants.ids[0]}), db.connect() as conn:
            inside = conn.execute(
                text(f"SELECT current_setting('{security.ALLOWED_SETTING}', true)")
            ).scalar()
        with db.connect() as conn:  # the same (only) pooled connection, next transaction
            after = conn.execute(text(f"SELECT current_setting('{security.ALLOWED_SETTING}', true)")).scalar()
            every = conn.execute(text(f"SELECT current_setting('{security.ALL_SETTING}', true)")).scalar()
    finally:
        db.dispose()
    assert inside == f"{{{tenants.ids[0]}}}"
    assert after in (None, "")
    assert every == "off"


def test_a_write_into_another_account_is_refused_with_a_clear_error(tenants: Tenants) -> None:
    db = app_database(tenants)
    try:
        with (
            scope.allowed_accounts({tenants.ids[0]}),
            pytest.raises(PermissionDenied, match="row-level security on customers"),
            db.transaction() as conn,
        ):
            conn.execute(insert(customers).values(account_id=tenants.ids[1], ebay_username="forged"))
    finally:
        db.dispose()


# -- SQLite: a no-op --------------------------------------------------------------------------------


def test_on_sqlite_a_scope_changes_nothing(tmp_path: Path) -> None:
    db = Database(
        make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}")), timeout_ms=10_000
    )
    try:
        migrations.upgrade(db)
        insert_rows(db, "accounts", [{"name": "A", "ebay_user_id": "a"}, {"name": "B", "ebay_user_id": "b"}])
        with scope.allowed_accounts({12345}):
            assert len(queries.list_accounts(db)) == 2
    finally:
        db.dispose()
    with pytest.raises(ConfigError, match="SQLite"):
        Settings(database_url=f"sqlite:///{tmp_path / 'y.sqlite3'}", database_app_role="ebaydash_app")


def _one_scoped_read(db: Database, account_id: int) -> tuple[int, list[str]]:
    """How many accounts a read in ``account_id``'s scope sees, and the statements it sent."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with scope.allowed_accounts({account_id}):
            seen = len(queries.list_accounts(db))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen, sent


def test_without_an_app_role_a_scoped_read_is_its_statement_alone(tenants: Tenants) -> None:
    """Row-level security off (no app role): every connection defaults to every account and a
    scope would protect nothing the grant checks do not, so a read costs no transaction around it.
    With an app role the same read sets the scope first (the control: the recorder sees it)."""
    settings = Settings(database_url=tenants.owner_url)
    plain = Database(make_engine(settings), timeout_ms=settings.statement_timeout_ms)
    try:
        assert not plain.row_security
        with scope.allowed_accounts({tenants.ids[0]}):
            # the statement's own filter still reads one account
            assert queries.orders_count(plain, tenants.ids[0], OrderFilter()) == ORDERS_PER_TENANT
        seen, sent = _one_scoped_read(plain, tenants.ids[0])
    finally:
        plain.dispose()
    assert len(sent) == 1 and "set_config" not in sent[0], sent
    assert seen == 2  # as on SQLite: the accounts a viewer may see come from their grants

    db = app_database(tenants)
    try:
        seen, sent = _one_scoped_read(db, tenants.ids[0])
    finally:
        db.dispose()
    assert seen == 1
    assert [s for s in sent if "set_config" in s], sent


def test_scopes_narrow_and_render_as_postgres_arrays() -> None:
    assert scope.current() is None
    with scope.allowed_accounts({3, 1}) as outer:
        assert outer.setting_values == ("{1,3}", "off")
        with scope.allowed_accounts({1, 2}) as inner:
            assert inner.account_ids == {1}
        with scope.all_accounts() as inner:
            assert inner.account_ids == {1, 3} and not inner.all
    with scope.all_accounts() as every:
        assert every.setting_values == ("{}", "on")
        with scope.allowed_accounts([]) as none:
            assert none.setting_values == ("{}", "off")
    assert scope.current() is None


# -- the services put each viewer's grants on the transactions they run ----------------------------


def test_services_run_each_viewer_s_work_in_the_scope_of_their_grants(tenants: Tenants) -> None:
    """With the app role, a seller's service calls see their account's rows (the services set the
    scope from the viewer), and the same statement outside any scope, or inside the seller's scope
    for the other account (a check forgotten above the database), reads nothing."""
    from ebaydash import services
    from ebaydash.context import build_context
    from ebaydash.services._access import scope_of
    from ebaydash.viewer import Viewer

    mine, theirs = tenants.ids
    settings = Settings(
        database_url=tenants.app_url,
        database_admin_url=tenants.owner_url,
        database_app_role=tenants.app_role,
    )
    ctx = build_context(settings, start_sampler=False)
    seller = Viewer(email="seller@shop.test", roles={mine: "seller"})
    try:
        assert [a.id for a in services.accounts(ctx, seller)] == [mine]
        assert services.orders_total(ctx, seller, mine, OrderFilter(), fresh=True) == ORDERS_PER_TENANT
        assert queries.orders_count(ctx.db, mine, OrderFilter()) == 0  # control: no scope, no rows
        with scope_of(seller):
            assert queries.orders_count(ctx.db, theirs, OrderFilter()) == 0
            assert queries.orders_count(ctx.db, mine, OrderFilter()) == ORDERS_PER_TENANT
    finally:
        ctx.close()


def test_rows_scoped_through_a_parent_are_seen_only_with_it(tenants: Tenants) -> None:
    """An order's line items carry no account id: a statement reading order_items alone, in one
    tenant's scope, sees that tenant's lines only (the policy follows the order, revision 0007)."""
    mine, theirs = tenants.ids
    first_order = {}
    with tenants.owner.transaction() as conn:
        for account_id in (mine, theirs):
            order_id = first_order[account_id] = conn.execute(
                text("SELECT min(id) FROM orders WHERE account_id = :a"), {"a": account_id}
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO order_items (order_id, sku, title, quantity, unit_price) "
                    "VALUES (:o, :s, 'Line', 1, 1.00)"
                ),
                {"o": order_id, "s": f"LINE-{account_id}"},
            )
    db = app_database(tenants)
    try:
        lines = "SELECT sku FROM order_items ORDER BY sku"
        with scope.allowed_accounts({mine}), db.connect() as conn:
            assert conn.execute(text(lines)).scalars().all() == [f"LINE-{mine}"]
        with scope.all_accounts(), db.connect() as conn:  # control: both lines are there
            assert conn.execute(text(lines)).scalars().all() == sorted([f"LINE-{mine}", f"LINE-{theirs}"])
        with scope.allowed_accounts({mine}), pytest.raises(PermissionDenied), db.transaction() as conn:
            conn.execute(  # a line under the other tenant's order is refused
                text(
                    "INSERT INTO order_items (order_id, sku, title, quantity, unit_price) "
                    "VALUES (:o, 'FORGED', 'x', 1, 1.00)"
                ),
                {"o": first_order[theirs]},
            )
    finally:
        db.dispose()
