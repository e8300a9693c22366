"""Shared fixtures: databases on both backends, Redis, the demo data, and service requirements.

A test that needs Postgres, Redis or Chromium **fails** when it is missing under CI (``CI=true``)
and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from ebaydash.db import bulk, migrations, schema
from ebaydash.db.engine import Database, make_engine
from ebaydash.db.schema import meta
from ebaydash.services.imports import ImportFile
from ebaydash.settings import Settings
from ebaydash.viewer import Viewer
from tests.redis_server import RedisServer
from tests.redis_server import free_port as free_port  # tests import it from here

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CountedFile(ImportFile):
    """A file to import that counts how often the import opens it: each opening is a reading
    of the whole file as a stream (or of its first orders)."""

    openings: list[int] = field(default_factory=list, compare=False)

    def open(self) -> Any:
        self.openings.append(1)
        return super().open()


SAMPLE_DIR = ROOT / "sample_data"
PG_ADMIN_URL = os.environ.get("EBAYDASH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EBAYDASH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("EBAYDASH_TEST_CHROMIUM", "/usr/bin/chromium")
#: Who the tests call the services as, unless a test is about access: sees every account and page.
OPERATOR = Viewer.operator("tests")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, what: str) -> None:
    """Fail under CI, skip elsewhere, when a service the test needs is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# -- Postgres -----------------------------------------------------------------------------------


def _postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh Postgres database for this test session, dropped afterwards."""
    require(_postgres_available(), "Postgres at 127.0.0.1:5432")
    yield from new_postgres_database()


# -- databases on both backends -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for the parametrised backend, with an empty schema."""
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return Settings(database_url=url, data_dir=str(tmp_path), sample_dir=str(SAMPLE_DIR))


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database brought to the newest revision by the migrations, once per
    session; each test gets a copy (a file copy is faster than running the migrations again)."""
    path = tmp_path_factory.mktemp("migrated-template") / "empty.sqlite3"
    database = Database(make_engine(Settings(database_url=f"sqlite:///{path}")), timeout_ms=60_000)
    migrations.upgrade(database)
    database.dispose()  # closing the last connection folds the WAL into the file
    return path


@pytest.fixture
def db(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Database]:
    """An empty database (the schema made by the migrations, no rows) on the parametrised backend."""
    if settings.is_sqlite:
        path = settings.database_url.removeprefix("sqlite:///")
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
    database = Database(make_engine(settings), timeout_ms=settings.statement_timeout_ms)
    migrations.upgrade(database)  # the session's Postgres database: only the first test migrates
    with database.transaction() as conn:
        bulk.delete_all(conn)
        conn.execute(meta.delete())
        for table in reversed(schema.ACCESS_TABLES):  # grants go with their accounts; people stay
            conn.execute(table.delete())
    yield database
    database.dispose()


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A brand-new database with nothing in it (no tables at all) on the parametrised backend:
    a new SQLite path, or a new Postgres database dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.sqlite3'}"
        return
    require(_postgres_available(), "Postgres at 127.0.0.1:5432")
    yield from new_postgres_database()


def new_postgres_database() -> Iterator[str]:
    """Create a Postgres database of its own, yield its URL, drop it."""
    from bench import _admin as admin

    name = f"ebaydash_new_{uuid.uuid4().hex[:10]}"
    admin.create_database(PG_ADMIN_URL, name)
    try:
        yield admin.url_for(PG_ADMIN_URL, name)
    finally:
        admin.drop_database(PG_ADMIN_URL, name)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, seeded once per session (seeding takes seconds on a busy machine)."""
    from ebaydash.seeding import seed_demo

    path = tmp_path_factory.mktemp("demo-template") / "demo.sqlite3"
    database = Database(make_engine(Settings(database_url=f"sqlite:///{path}")), timeout_ms=60_000)
    migrations.upgrade(database)
    seed_demo(database, SAMPLE_DIR)
    database.dispose()  # closing the last connection folds the WAL into the file
    return path


@pytest.fixture
def demo_url(demo_template: Path, tmp_path: Path) -> str:
    """A private copy of the demo database for one test."""
    target = tmp_path / "demo.sqlite3"
    shutil.copyfile(demo_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'test.sqlite3'}",
        data_dir=str(tmp_path),
        sample_dir=str(SAMPLE_DIR),
    )


# -- Redis --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture(scope="session")
def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    require(path is not None, "the redis-server binary")
    assert path is not None
    return path


# -- browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, object]:
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


# -- AppTest ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _apptest_uses_st_navigation(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest resets Streamlit's "uses the pages/ directory" flag before every run, and because
    our page files live in ``pages/`` it then emulates the old directory-based multipage mode: on a
    rerun it executes the page file directly and skips app.py (so the sidebar disappears). In a real
    server app.py's ``st.navigation`` clears that flag once for the whole process; do the same here.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


# -- a private Redis for fault tests ------------------------------------------------------------


@pytest.fixture
def own_redis(redis_server_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, on a free port: the test may stop, freeze or slow it."""
    server = RedisServer(redis_server_binary, tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
