import pytest

from ebaydash.errors import ConfigError, UnsupportedDatabase
from ebaydash.settings import SETTINGS, Number, Settings, markdown_table
from tests.conftest import ROOT


def test_defaults_are_the_embedded_demo() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///.data/ebaydash.sqlite3"
    assert settings.redis_url is None
    assert settings.is_sqlite


def test_every_variable_parses_its_default() -> None:
    environ = {spec.variable: spec.default for spec in SETTINGS}
    settings = Settings.from_env(environ)
    assert settings == Settings.from_env({})


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "EBAYDASH_DATABASE_URL": "postgresql://u@h/db",
            "EBAYDASH_REDIS_URL": "redis://localhost:6379/0",
            "EBAYDASH_STATEMENT_TIMEOUT_MS": " 1500 ",
            "EBAYDASH_SCALE_UP_MEMORY": "0.9",
            "EBAYDASH_TIMEZONE": "Europe/Berlin",
        }
    )
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.statement_timeout_ms == 1500
    assert settings.scale_up_memory == 0.9
    assert settings.timezone == "Europe/Berlin"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EBAYDASH_STATEMENT_TIMEOUT_MS", "soon"),
        ("EBAYDASH_STATEMENT_TIMEOUT_MS", "0"),
        ("EBAYDASH_POOL_SIZE", "-1"),
        ("EBAYDASH_DATABASE_URL", "not a url"),
        ("EBAYDASH_REDIS_URL", "localhost:6379"),
        ("EBAYDASH_SCALE_UP_MEMORY", "1.5"),
        ("EBAYDASH_CACHE_TTL_S", "nan"),
        ("EBAYDASH_TIMEZONE", "Mars/Olympus"),
        ("EBAYDASH_LOG_LEVEL", "LOUD"),
    ],
)
def test_malformed_value_names_the_variable_and_what_it_expects(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert variable in message
    assert repr(value) in message
    assert "must be" in message


@pytest.mark.parametrize(
    "url",
    [
        "mysql://admin:hunter2@db.example.com/shop",
        "postgresql+asyncpg://admin:hunter2@127.0.0.1/shop",
        "postgresql+psycopg2://admin:hunter2@127.0.0.1/shop",
        "sqlite+aiosqlite:///shop.sqlite3",
        "oracle://admin:hunter2@db/shop",
    ],
)
def test_an_unsupported_database_driver_is_refused_when_the_settings_are_read(url: str) -> None:
    with pytest.raises(UnsupportedDatabase) as caught:
        Settings.from_env({"EBAYDASH_DATABASE_URL": url})
    message = str(caught.value)
    scheme = url.split("://", 1)[0]
    assert f"EBAYDASH_DATABASE_URL uses {scheme}://" in message
    # it names what works instead
    assert "sqlite:///" in message and "postgresql://" in message and "postgresql+psycopg://" in message
    assert "hunter2" not in message and "admin" not in message  # only the scheme is repeated
    assert isinstance(caught.value, ConfigError)  # so the CLI exits 2 and the app shows it as config


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.sqlite3",
        "sqlite+pysqlite:///x.sqlite3",
        "postgresql://u@h/db",
        "postgresql+psycopg://u@h/db",
    ],
)
def test_the_supported_database_urls_are_accepted(url: str) -> None:
    assert Settings.from_env({"EBAYDASH_DATABASE_URL": url}).database_url == url


def test_an_unsupported_database_stops_the_cli_with_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ebaydash.cli import main

    monkeypatch.setenv("EBAYDASH_DATABASE_URL", "postgresql+asyncpg://u:secret@h/db")
    assert main(["db", "current"]) == 2
    err = capsys.readouterr().err
    assert "postgresql+asyncpg://, which ebaydash does not support" in err
    assert "secret" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    "variable", ["EBAYDASH_DATABASE_URL", "EBAYDASH_DATABASE_READ_URL", "EBAYDASH_DATABASE_ADMIN_URL"]
)
def test_a_database_url_with_an_unescaped_at_in_its_password_is_refused_unquoted(
    variable: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLAlchemy would end the password at its first '@' and take ``Pass@127.0.0.1`` for the
    host, which the unreachable-host message then quoted: half the password on screen."""
    from ebaydash.cli import main

    url = "postgresql://app:Secr3t@Pass@127.0.0.1:1/x"
    with pytest.raises(ConfigError, match="%40") as caught:
        Settings.from_env({variable: url})
    assert variable in str(caught.value)
    monkeypatch.setenv(variable, url)
    assert main(["db", "current"]) == 2  # a configuration error, not "cannot be reached"
    err = capsys.readouterr().err
    assert "%40" in err and "Traceback" not in err
    assert "Secr3t" not in err and "Pass" not in err


def test_an_escaped_at_in_a_database_password_is_accepted() -> None:
    url = "postgresql://app:Secr3t%40Pass@127.0.0.1:5432/x"
    assert Settings.from_env({"EBAYDASH_DATABASE_URL": url}).database_url == url


def test_inconsistent_values_are_rejected() -> None:
    # a scale-down limit at or above its scale-up limit: refused when read (exit 2), not at the
    # rules engine's first decision (exit 1)
    both = r"EBAYDASH_SCALE_DOWN_RESPONSE_MS .* EBAYDASH_SCALE_UP_RESPONSE_MS"
    with pytest.raises(ConfigError, match=both):
        Settings.from_env({"EBAYDASH_SCALE_UP_RESPONSE_MS": "50", "EBAYDASH_SCALE_DOWN_RESPONSE_MS": "5000"})
    with pytest.raises(ConfigError, match="EBAYDASH_SCALE_DOWN_MEMORY"):
        Settings.from_env({"EBAYDASH_SCALE_UP_MEMORY": "0.5", "EBAYDASH_SCALE_DOWN_MEMORY": "0.5"})
    with pytest.raises(ConfigError, match="EBAYDASH_MIN_REPLICAS"):
        Settings.from_env({"EBAYDASH_MIN_REPLICAS": "5", "EBAYDASH_MAX_REPLICAS": "2"})
    with pytest.raises(ConfigError, match="EBAYDASH_L1_TTL_S"):
        Settings.from_env({"EBAYDASH_L1_TTL_S": "60", "EBAYDASH_CACHE_TTL_S": "10"})


def test_readme_configuration_table_is_generated_from_the_settings() -> None:
    """Regenerate with `python -m ebaydash.settings` after adding a setting."""
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme
    for spec in SETTINGS:
        assert f"| `{spec.variable}` |" in readme


def test_read_replica_and_row_security_settings_are_off_by_default_and_checked() -> None:
    default = Settings.from_env({})
    assert (default.database_read_url, default.database_admin_url, default.row_security) == ("", "", False)
    with pytest.raises(ConfigError, match="EBAYDASH_DATABASE_READ_URL uses mysql://"):
        Settings.from_env({"EBAYDASH_DATABASE_READ_URL": "mysql://db/x"})
    with pytest.raises(ConfigError, match="EBAYDASH_DATABASE_READ_URL needs Postgres"):
        Settings.from_env({"EBAYDASH_DATABASE_READ_URL": "postgresql://standby/x"})  # primary: SQLite
    with pytest.raises(ConfigError, match="EBAYDASH_DATABASE_APP_ROLE"):
        Settings.from_env({"EBAYDASH_DATABASE_APP_ROLE": "app; DROP TABLE orders"})
    on = Settings.from_env(
        {
            "EBAYDASH_DATABASE_URL": "postgresql://app@db/shop",
            "EBAYDASH_DATABASE_READ_URL": "postgresql://app@standby/shop",
            "EBAYDASH_DATABASE_APP_ROLE": "ebaydash_app",
        }
    )
    assert on.row_security and on.database_read_url.endswith("standby/shop")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EBAYDASH_REDIS_TIMEOUT_MS", "1e20"),  # was an OverflowError in every cached call
        ("EBAYDASH_REDIS_TIMEOUT_MS", "100000000000000000000"),
        ("EBAYDASH_RESOURCE_INTERVAL_S", "1e-9"),  # was a sampler burning a core
        ("EBAYDASH_STATEMENT_TIMEOUT_MS", "1e20"),
        ("EBAYDASH_CACHE_TTL_S", "inf"),
        ("EBAYDASH_L1_TTL_S", "-1"),
        ("EBAYDASH_METRICS_PORT", "70000"),
    ],
)
def test_a_value_out_of_its_range_is_refused_with_the_range(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert variable in message and " from " in message and " to " in message


def test_every_numeric_setting_has_both_bounds_and_its_default_inside() -> None:
    numeric = [spec for spec in SETTINGS if isinstance(spec.parse, Number)]
    assert len(numeric) >= 30  # control: the numeric settings are recognised as such
    for spec in numeric:
        bounds = spec.parse
        assert isinstance(bounds, Number)
        assert bounds.low <= spec.parse(spec.default) <= bounds.high, spec.variable
        # just outside the range is refused, and so is a value that would overflow a timer
        for outside in (bounds.high * 10 + 1, "1e300", "nan"):
            with pytest.raises(ConfigError):
                Settings.from_env({spec.variable: str(outside)})
        assert spec.expected in markdown_table()


def test_an_unknown_name_is_warned_about_with_the_nearest_known_one(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_env({"EBAYDASH_REDIS_TIMOUT_MS": "100", "EBAYDASH_ZZZ": "1", "OTHER_APP_X": "1"})
    assert settings.redis_timeout_ms == 250  # the typo does not set anything
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        "EBAYDASH_REDIS_TIMOUT_MS" in w and "Did you mean EBAYDASH_REDIS_TIMEOUT_MS?" in w for w in warnings
    )
    assert any("EBAYDASH_ZZZ" in w and "Did you mean" not in w for w in warnings)
    assert not any("OTHER_APP_X" in w for w in warnings)  # not ours: not our business
    caplog.clear()
    Settings.from_env({"EBAYDASH_REDIS_TIMEOUT_MS": "100"})
    assert not caplog.records  # negative control: known names raise no warning


def test_a_secret_setting_is_never_repeated_even_when_it_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ebaydash.cli import main
    from ebaydash.redaction import redact

    short = "myRealSecret-31chars-abcdefghij"  # one short of the 32 it needs
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"EBAYDASH_SECRET_KEY": short})
    assert "EBAYDASH_SECRET_KEY" in str(caught.value) and short not in str(caught.value)
    assert "at least 32 characters" in str(caught.value)
    assert short not in redact(f"a log line quoting {short}")  # hidden wherever it appears
    monkeypatch.setenv("EBAYDASH_SECRET_KEY", short)
    assert main(["db", "current"]) == 2
    assert short not in capsys.readouterr().err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:p@ss:w/rd@127.0.0.1:5432/x",  # '@' and '/' in the password
        "postgresql://postgres:pa@ss@127.0.0.1:5432/x",
    ],
)
def test_a_database_url_the_parser_would_misread_is_refused_without_its_value(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"EBAYDASH_DATABASE_URL": url})
    message = str(caught.value)
    assert "%40" in message
    assert "ss:w" not in message and "rd@" not in message and "pa@" not in message
    assert "postgresql://" in message  # the example, ungarbled (a one-letter password was masked
    # everywhere it appeared, every "p" of the message)


def test_the_auth_setting_is_not_taken_for_a_credential() -> None:
    from ebaydash.redaction import redact

    assert redact("EBAYDASH_AUTH=oidc needs EBAYDASH_SECRET_KEY") == (
        "EBAYDASH_AUTH=oidc needs EBAYDASH_SECRET_KEY"
    )
    assert redact("https://x.example/cb?auth=tok123") == "https://x.example/cb?auth=***"
