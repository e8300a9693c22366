"""Secrets never shown: a password in a setting appears in no message, log line or page, on every
setting and every error path (issue 10). Each test looks for the password itself, so a path that
leaks it in any shape (whole URL, quoted, in a traceback) fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ebaydash import redaction
from ebaydash.cli import main
from ebaydash.errors import ConfigError, DatabaseUnavailable, EbaydashError
from ebaydash.redaction import MASK, redact, remember, secrets_in
from ebaydash.settings import SETTINGS, Settings
from tests.conftest import OPERATOR, PG_ADMIN_URL, ROOT, free_port

PASSWORD = "Zq7pW0rdLeak"  # unique enough that any occurrence is a leak


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"mysql://admin:{PASSWORD}@db.example.com/shop", "mysql://admin:***@db.example.com/shop"),
        (f"redis://:{PASSWORD}@cache:6379/0", "redis://:***@cache:6379/0"),
        (f"mysql//admin:{PASSWORD}@host/db", "mysql//admin:***@host/db"),  # malformed: no colon
        (f"admin:{PASSWORD}@host/db", "admin:***@host/db"),  # no scheme at all
        (f"postgresql://u:p@{PASSWORD}@h/db", "postgresql://u:***@h/db"),  # '@' in the password
        (
            f"postgresql://u@h/db?sslmode=require&password={PASSWORD}",
            "postgresql://u@h/db?sslmode=require&password=***",
        ),
        (f"host=h password={PASSWORD} dbname=d", "host=h password=*** dbname=d"),
        (f"it is 'redis://u:{PASSWORD}@h'.", "it is 'redis://u:***@h'."),
    ],
)
def test_redact_hides_the_password_and_keeps_the_rest(text: str, shown: str) -> None:
    assert redact(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://u@h:5432/db",
        "redis://localhost:6379/0",
        "sqlite:////tmp/with@sign/ebaydash.sqlite3",
        "Error 111 connecting to localhost:6379. Connection refused.",
        "at 12:30 the order total was $1,234.50",
    ],
)
def test_text_without_a_secret_comes_back_unchanged(text: str) -> None:
    """Negative control: redaction does not mangle ordinary messages."""
    assert redact(text) == text


def test_a_remembered_secret_is_hidden_where_no_pattern_finds_it() -> None:
    odd = f"postgresql://u:a/{PASSWORD}@h/db"  # a '/' in the password defeats the URL pattern
    assert PASSWORD in redact(f"see a/{PASSWORD}")  # control: not found by the patterns alone
    assert f"a/{PASSWORD}" in secrets_in(odd)
    remember(odd)
    assert PASSWORD not in redact(f"see a/{PASSWORD} here") and MASK in redact(f"see a/{PASSWORD}")


def test_an_error_message_is_redacted_wherever_it_is_shown() -> None:
    url = f"postgresql://admin:{PASSWORD}@db.example/shop"
    assert PASSWORD in str(Exception(url))  # control: a plain exception would show it
    assert PASSWORD not in str(EbaydashError(url))
    assert "admin:***@db.example" in str(DatabaseUnavailable(url))


def _value_for(spec_variable: str) -> str:
    return f"postgresql://admin:{PASSWORD}@db.example/shop"


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda spec: spec.variable)
def test_no_setting_shows_a_password_it_was_given(spec, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """Every setting gets a URL with a password (malformed for most of them): the message about it,
    or the settings' repr when it is accepted, does not show the password."""
    value = _value_for(spec.variable)
    try:
        settings = Settings.from_env({spec.variable: value})
    except ConfigError as exc:
        message = str(exc)
        assert spec.variable in message
        assert PASSWORD not in message
        assert "admin:***@db.example" in message or "postgresql://" in message
    else:
        assert PASSWORD not in repr(settings)
        assert PASSWORD in getattr(settings, spec.field) or spec.field == "database_url"
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EBAYDASH_DATABASE_URL", f"mysql://admin:{PASSWORD}@db.example.com/shop"),
        ("EBAYDASH_DATABASE_URL", f"mysql//admin:{PASSWORD}@db.example.com/shop"),
        ("EBAYDASH_DATABASE_URL", f"postgresql+asyncpg://admin:{PASSWORD}@127.0.0.1/shop"),
        ("EBAYDASH_REDIS_URL", f"http://admin:{PASSWORD}@cache:6379/0"),
        ("EBAYDASH_REDIS_URL", f"cache:6379?password={PASSWORD}"),
        ("EBAYDASH_STATEMENT_TIMEOUT_MS", f"redis://:{PASSWORD}@cache"),
    ],
)
def test_the_cli_never_echoes_a_password_on_stderr(
    variable: str, value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["db", "current"]) == 2
    out = capsys.readouterr()
    assert variable in out.err  # the message is there: the test looks at the right output
    assert PASSWORD not in out.err and PASSWORD not in out.out
    assert "Traceback" not in out.err


@pytest.fixture
def postgres_host_port() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN_URL)
    return f"{url.host}:{url.port or 5432}"


@pytest.mark.parametrize("case", ["no such database", "nothing listening"])
def test_database_failures_show_no_password_on_stderr_or_in_logs(
    case: str,
    postgres_host_port: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    where = postgres_host_port if case == "no such database" else f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", f"postgresql://root:{PASSWORD}@{where}/ground2_no_such_db")
    caplog.set_level(logging.DEBUG)
    assert main(
        [
            "import",
            str(ROOT / "tests" / "fixtures" / "imports" / "seller_hub_orders.csv"),
            "--account",
            "shop",
        ]
    ) in {1, 2}
    out = capsys.readouterr()
    assert "ebaydash:" in out.err  # the failure was reported
    assert PASSWORD not in out.err + out.out
    assert PASSWORD not in caplog.text


def test_a_log_record_carrying_a_url_is_redacted_in_message_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redaction.install_log_redaction()
    url = f"redis://:{PASSWORD}@cache:6379/0"
    log = logging.getLogger("ebaydash.test_redaction")
    try:
        raise RuntimeError(f"could not use {url}")
    except RuntimeError:
        log.exception("failed to talk to %s", url)
    text = caplog.text + "".join(logging.Formatter().format(r) for r in caplog.records)
    assert "could not use redis://:***@cache" in text  # the traceback is kept, redacted
    assert PASSWORD not in text


def test_redis_with_a_password_shows_none_in_health_checks_or_logs(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from ebaydash import services
    from ebaydash.context import build_context

    caplog.set_level(logging.DEBUG)
    settings = sqlite_settings.replace(redis_url=f"redis://user:{PASSWORD}@127.0.0.1:{free_port()}/0")
    remember(settings.redis_url or "")
    ctx = build_context(settings, start_sampler=False)
    try:
        checks = services.health_checks(ctx, OPERATOR)
        status = ctx.cache.l2.status() if ctx.cache.l2 is not None else None
    finally:
        ctx.close()
    assert any(c.name == "Redis" and c.status == "down" for c in checks)  # it was tried
    assert all(PASSWORD not in c.detail for c in checks)
    assert status is not None and PASSWORD not in status.target and "user:***@" in status.target
    assert PASSWORD not in caplog.text


@pytest.fixture
def clean_app() -> Iterator[None]:
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://admin:{PASSWORD}@db.example.com/shop",
        f"mysql//admin:{PASSWORD}@db.example.com/shop",
        "postgresql://admin:{password}@127.0.0.1:{port}/none",
    ],
)
def test_pages_show_no_password_in_their_banners(
    url: str, clean_app: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EBAYDASH_DATABASE_URL", url.format(password=PASSWORD, port=free_port()))
    monkeypatch.setenv("EBAYDASH_REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert shown  # a banner is there: the test reads the right text
    page = " ".join(str(v) for v in shown) + " ".join(m.value for m in at.markdown)
    assert PASSWORD not in page
    assert PASSWORD not in caplog.text
