"""Postgres server administration for the benchmarks: create, drop, reset and vacuum whole databases."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def _name_ok(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {name!r}")
    return name


def url_for(admin_url: str, name: str) -> str:
    """``admin_url`` pointing at database ``name`` instead."""
    return admin_url.rsplit("/", 1)[0] + f"/{_name_ok(name)}"


def create_database(admin_url: str, name: str, *, exist_ok: bool = False) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if exists and exist_ok:
                return
            conn.execute(text(f'CREATE DATABASE "{_name_ok(name)}"'))
    finally:
        engine.dispose()


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # FORCE (Postgres 13+) ends the sessions still on it inside the DROP itself: ending them
            # first with pg_terminate_backend raced with backends that had not exited yet
            conn.execute(text(f'DROP DATABASE IF EXISTS "{_name_ok(name)}" WITH (FORCE)'))
    finally:
        engine.dispose()


def reset_schema(url: str) -> None:
    """Drop every table of the database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def vacuum_analyze(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
