"""Configuration: every ``EBAYDASH_*`` variable, read once into a frozen :class:`Settings`.

Each setting is declared once in :data:`SETTINGS` with its default and help text; the README's
configuration table is checked against this list by the tests, so the two cannot drift apart.
Nothing here reads the environment at import time.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ebaydash.errors import ConfigError, UnsupportedDatabase
from ebaydash.redaction import redact, remember, remember_secret

PREFIX = "EBAYDASH_"
log = logging.getLogger(__name__)
#: Variables of the test suite and the benchmarks, not settings of the app: not warned about.
TOOLING_PREFIXES = ("EBAYDASH_TEST_", "EBAYDASH_BENCH_")


@dataclass(frozen=True)
class Number:
    """A numeric setting's type and closed range ``[low, high]``: the parser of its raw text.

    Every numeric setting has both bounds, so a value that would overflow a timer (``1e20`` ms) or
    spin a loop (an interval of ``1e-9`` s) is refused when the settings are read, with its range,
    rather than failing later in whatever uses it."""

    kind: type[int] | type[float]
    low: float
    high: float
    unit: str = ""  # "seconds", "milliseconds"…; "(fraction)" for a share from 0 to 1

    def __call__(self, raw: str) -> int | float:
        value = self.kind(raw)  # int("1e3") and float("soon") raise ValueError
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ValueError
        return value

    @property
    def expected(self) -> str:
        if self.unit == "(fraction)":
            what = "a fraction"
        else:
            what = "a whole number" if self.kind is int else "a number"
            what += f" of {self.unit}" if self.unit else ""
        return f"{what} from {_plain(self.low)} to {_plain(self.high)}"


def _plain(number: float) -> str:
    """``86400`` rather than ``86400.0`` or ``8.64e+04``: bounds as a person would type them."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError


#: The database URL schemes ebaydash runs on: SQLite through the standard library's sqlite3 and
#: Postgres through psycopg 3 (the drivers the project installs and tests).
SUPPORTED_DATABASE_SCHEMES: tuple[str, ...] = (
    "sqlite",
    "sqlite+pysqlite",
    "postgresql",
    "postgresql+psycopg",
)
SUPPORTED_DATABASE_EXAMPLES = "sqlite:///path/to/ebaydash.sqlite3 or postgresql://user@host:5432/dbname"


def _database_url(raw: str, variable: str = "EBAYDASH_DATABASE_URL") -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not raw:
        return ""
    after_scheme = raw.split("//", 1)[1] if "//" in raw and not raw.startswith("sqlite") else ""
    if after_scheme.count("@") > 1:
        # SQLAlchemy ends the password at its first '@' and takes the rest for the host, which
        # every later message (an unknown host) would then quote: refuse it before anything
        # connects. The value is not repeated.
        raise ConfigError(
            f"{variable} has more than one '@' before its host: an '@' in the user name or password "
            "must be written %40 (postgresql://user:p%40ss@host:5432/dbname)."
        )
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ValueError from exc
    if url.drivername not in SUPPORTED_DATABASE_SCHEMES:
        # Only the scheme is named: the rest of the URL may hold a password.
        raise UnsupportedDatabase(
            f"{variable} uses {url.drivername}://, which ebaydash does not support. "
            f"Use {SUPPORTED_DATABASE_EXAMPLES} (schemes: "
            f"{', '.join(s + '://' for s in SUPPORTED_DATABASE_SCHEMES)})."
        )
    return raw


def _read_url(raw: str) -> str:
    return _database_url(raw, "EBAYDASH_DATABASE_READ_URL")


def _admin_url(raw: str) -> str:
    return _database_url(raw, "EBAYDASH_DATABASE_ADMIN_URL")


def _redis_url(raw: str) -> str | None:
    if not raw.strip():
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError
    return raw


def _key_prefix(raw: str) -> str:
    if not raw or len(raw) > 64 or not all(c.isalnum() or c in "_-.:" for c in raw):
        raise ValueError
    return raw


def _host(raw: str) -> str:
    host = raw.strip()
    if not host or len(host) > 253 or not all(c.isalnum() or c in ".-:_" for c in host):
        raise ValueError
    return host


def _replica_name(raw: str) -> str:
    if len(raw) > 64 or not all(c.isalnum() or c in "_-." for c in raw):
        raise ValueError
    return raw


def _role_name(raw: str) -> str:
    """A Postgres role name as an unquoted identifier (it is written into GRANT statements)."""
    name = raw.strip()
    if not name:
        return ""
    starts_well = name[0].isalpha() or name[0] == "_"
    if len(name) > 63 or not starts_well or not all(c.isalnum() or c == "_" for c in name):
        raise ValueError
    return name


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError from exc
    return raw


def _auth(raw: str) -> str:
    mode = raw.strip().lower()
    if mode not in {"none", "oidc"}:
        raise ValueError
    return mode


_EMAIL = re.compile(r"[^@\s/:]+@[^@\s/:]+\.[^@\s/:]+")


def _email(raw: str) -> str:
    # a plain address (RFC 5321's length limit); no URL or other value pasted into the wrong setting
    email = raw.strip().lower()
    if email and (len(email) > 320 or not _EMAIL.fullmatch(email)):
        raise ValueError
    return email


def _secret(raw: str) -> str:
    if raw and len(raw) < 32:
        raise ValueError
    return raw


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError
    return level


@dataclass(frozen=True)
class Spec:
    """One setting, defined once: the field it fills, its default (as text, parsed like a value),
    its parser (for numbers a :class:`Number`, which carries the type and range), its help text
    (the README's table) and what to tell a user who got it wrong (derived from a :class:`Number`)."""

    field: str
    default: str
    parse: Callable[[str], Any]
    help: str
    expected: str = ""
    #: a secret itself (not a value holding one, as a URL's password is): its value is never
    #: repeated in a message, and is hidden wherever it appears
    secret: bool = False

    def __post_init__(self) -> None:
        if not self.expected and isinstance(self.parse, Number):
            object.__setattr__(self, "expected", self.parse.expected)

    @property
    def variable(self) -> str:
        return PREFIX + self.field.upper()


SETTINGS: tuple[Spec, ...] = (
    Spec(
        "database_url",
        "",
        _database_url,
        "Database. Empty: a SQLite file under EBAYDASH_DATA_DIR (the embedded demo).",
        expected="a SQLAlchemy URL starting sqlite:// or postgresql://",
    ),
    Spec(
        "data_dir",
        ".data",
        str,
        "Where the embedded SQLite database lives.",
        expected="a directory path",
    ),
    Spec(
        "redis_url",
        "",
        _redis_url,
        "Shared L2 cache and cross-replica metrics. Empty: in-process cache only.",
        expected="a URL starting redis://, rediss:// or unix://, or empty",
    ),
    Spec(
        "statement_timeout_ms",
        "5000",
        Number(int, 1, 86_400_000, "milliseconds"),
        "Time limit of every SQL statement; past it the page shows a clear message.",
    ),
    Spec(
        "pool_size",
        "5",
        Number(int, 1, 1000),
        "Database connections kept open per process (Postgres).",
    ),
    Spec(
        "max_overflow",
        "10",
        Number(int, 0, 1000),
        "Extra connections allowed above the pool size under load.",
    ),
    Spec(
        "pool_timeout_s",
        "5",
        Number(float, 0.01, 3600, "seconds"),
        "How long a request waits for a free connection before giving up.",
    ),
    Spec(
        "cache_ttl_s",
        "300",
        Number(float, 0.001, 2_592_000, "seconds"),
        "How long computed figures stay in the shared (L2) cache.",
    ),
    Spec(
        "l1_ttl_s",
        "1",
        Number(float, 0.001, 86_400, "seconds"),
        "How long a process trusts its in-memory (L1) copy and the accounts' data versions it read; "
        "bounds how long another process's write can go unseen, with or without Redis.",
    ),
    Spec(
        "l1_max_entries",
        "4096",
        Number(int, 1, 100_000_000),
        "Most entries in the in-process cache.",
    ),
    Spec(
        "l1_max_bytes",
        "67108864",
        Number(int, 1, 2**40, "bytes"),
        "Most bytes held by the in-process cache.",
    ),
    Spec(
        "redis_timeout_ms",
        "250",
        Number(int, 1, 60_000, "milliseconds"),
        "Connect and read time limit for each Redis call; past it the cache falls back.",
    ),
    Spec(
        "breaker_reset_s",
        "10",
        Number(float, 0.1, 3600, "seconds"),
        "After Redis fails, how long to skip it before trying again.",
    ),
    Spec(
        "slow_query_ms",
        "200",
        Number(float, 0.01, 3_600_000, "milliseconds"),
        "Statements slower than this are listed on the performance page.",
    ),
    Spec(
        "timezone",
        "UTC",
        _timezone,
        "Default zone for accounts and imports that do not name one.",
        expected="an IANA time zone such as Europe/Berlin",
    ),
    Spec(
        "sample_dir",
        "sample_data",
        str,
        "Where the demo CSVs are read from by `ebaydash seed-demo`.",
        expected="a directory path",
    ),
    Spec(
        "resource_interval_s",
        "5",
        Number(float, 0.1, 3600, "seconds"),
        "How often the resource sampler reads CPU and memory.",
    ),
    Spec(
        "log_level",
        "INFO",
        _log_level,
        "Logging verbosity.",
        expected="one of DEBUG, INFO, WARNING, ERROR",
    ),
    Spec(
        "scale_up_response_ms",
        "3000",
        Number(float, 1, 3_600_000, "milliseconds"),
        "Scaling: average response time above which to scale up.",
    ),
    Spec(
        "scale_down_response_ms",
        "500",
        Number(float, 1, 3_600_000, "milliseconds"),
        "Scaling: average response time below which scaling down is allowed.",
    ),
    Spec(
        "scale_up_throughput_per_min",
        "1000",
        Number(float, 0.001, 1e9),
        "Scaling: requests per minute above which to scale up.",
    ),
    Spec(
        "scale_down_throughput_per_min",
        "100",
        Number(float, 0.001, 1e9),
        "Scaling: requests per minute below which scaling down is allowed.",
    ),
    Spec(
        "scale_up_memory",
        "0.8",
        Number(float, 0, 1, "(fraction)"),
        "Scaling: memory use above which to scale up.",
    ),
    Spec(
        "scale_down_memory",
        "0.3",
        Number(float, 0, 1, "(fraction)"),
        "Scaling: memory use below which scaling down is allowed.",
    ),
    Spec(
        "scale_cooldown_s",
        "300",
        Number(float, 0, 86_400, "seconds"),
        "Scaling: least time between two scaling actions.",
    ),
    Spec(
        "min_replicas",
        "1",
        Number(int, 1, 1000),
        "Scaling: fewest replicas to recommend.",
    ),
    Spec(
        "max_replicas",
        "10",
        Number(int, 1, 1000),
        "Scaling: most replicas to recommend.",
    ),
    Spec(
        "replicas",
        "1",
        Number(int, 1, 1000),
        "Scaling: replicas running now, when set (by the deployment); unset, the app replicas "
        "reporting in the shared metrics are counted.",
    ),
    Spec(
        "export_timeout_s",
        "300",
        Number(float, 1, 86_400, "seconds"),
        "Time limit of a CSV export of orders (it streams every matching row).",
    ),
    Spec(
        "scale_stabilisation_s",
        "300",
        Number(float, 0, 86_400, "seconds"),
        "Scaling: scale down only below the highest recommendation of this many seconds.",
    ),
    Spec(
        "scale_tolerance",
        "0.1",
        Number(float, 0, 0.99, "(fraction)"),
        "Scaling: no change while a metric is within this fraction of its limit.",
    ),
    Spec(
        "scale_max_data_age_s",
        "120",
        Number(float, 1, 86_400, "seconds"),
        "Scaling: metrics older than this are stale, and stale data means hold.",
    ),
    Spec(
        "metrics_prefix",
        "ebaydash:metrics",
        _key_prefix,
        "Redis key prefix of the shared metrics (one per deployment sharing a Redis).",
        expected="letters, digits and : _ - . only",
    ),
    Spec(
        "monitor_refresh_s",
        "5",
        Number(float, 0.5, 3600, "seconds"),
        "How often the performance, resources and scaling charts refresh themselves.",
    ),
    Spec(
        "alert_rss_mb",
        "1024",
        Number(float, 1, 1_048_576, "MiB"),
        "Alert when this process holds more memory (RSS) than this.",
    ),
    Spec(
        "alert_cpu_percent",
        "80",
        Number(float, 1, 10_000, "percent"),
        "Alert when this process's CPU use is above this.",
    ),
    Spec(
        "alert_response_ms",
        "2000",
        Number(float, 1, 3_600_000, "milliseconds"),
        "Alert when the average page response over the last minute is slower than this.",
    ),
    Spec(
        "alert_error_rate",
        "0.05",
        Number(float, 0, 1, "(fraction)"),
        "Alert when more than this share of service calls failed over the last minute.",
    ),
    Spec(
        "import_max_mb",
        "200",
        Number(int, 1, 102_400, "megabytes"),
        "Largest order file an import accepts; bigger ones are refused with a message.",
    ),
    Spec(
        "overview_parallelism",
        "3",
        Number(int, 1, 16),
        "Statements of one overview run side by side, each on its own database connection, so a "
        "cold overview waits for the slowest of them rather than their sum (1: one after another).",
    ),
    Spec(
        "refresh_ahead",
        "true",
        _bool,
        "After an import, recompute the account's overview for the sidebar's periods (30, 7, 90, 365 "
        "days, this month) in the background, so the next viewer reads it from the cache.",
        expected="true or false",
    ),
    Spec(
        "auto_migrate",
        "true",
        _bool,
        "Bring an empty or older database schema to the current revision when the app or a command "
        "starts. Off: a database that is behind stops with a message naming `ebaydash db upgrade`.",
        expected="true or false",
    ),
    Spec(
        "migration_timeout_s",
        "600",
        Number(float, 1, 86_400, "seconds"),
        "Time limit of each statement of a schema migration, and of waiting for another replica's.",
    ),
    Spec(
        "cache_prefix",
        "ebaydash",
        _key_prefix,
        "Prefix of every key in the shared cache, so several deployments can share one Redis.",
        expected="up to 64 letters, digits or _ - . :",
    ),
    Spec(
        "scale_window_s",
        "300",
        Number(float, 10, 900, "seconds"),
        "Scaling: the window of page response time and throughput the rules engine judges.",
    ),
    Spec(
        "metrics_port",
        "0",
        Number(int, 0, 65535),
        "Serve Prometheus metrics at /metrics on this port (0: off). The cluster sets one per replica.",
    ),
    Spec(
        "metrics_host",
        "127.0.0.1",
        _host,
        "Address the Prometheus endpoint listens on (0.0.0.0 in a container).",
        expected="a host name or IP address to listen on",
    ),
    # -- read replica and row-level security (issues 16 and 13) ---------------------------------------
    Spec(
        "database_read_url",
        "",
        _read_url,
        "Postgres read replica: the dashboard's figures and orders listing are read there; writes, "
        "imports and scaling state stay on EBAYDASH_DATABASE_URL. Empty: all go to the primary.",
        expected="a postgresql:// URL of a streaming standby, or empty",
    ),
    Spec(
        "read_replica_max_lag_s",
        "5",
        Number(float, 0.1, 86_400, "seconds"),
        "A read replica further behind the primary than this is skipped (a note on the performance "
        "page) and the primary serves, until it catches up.",
    ),
    Spec(
        "read_replica_retry_s",
        "10",
        Number(float, 0.1, 86_400, "seconds"),
        "After the read replica fails, how long the primary serves its reads before it is tried again.",
    ),
    Spec(
        "database_admin_url",
        "",
        _admin_url,
        "Schema migrations connect with this URL (the tables' owner). Empty: EBAYDASH_DATABASE_URL.",
        expected="a SQLAlchemy URL starting postgresql://, or empty",
    ),
    Spec(
        "database_app_role",
        "",
        _role_name,
        "Row-level security on: the Postgres role the app logs in as (not the tables' owner, not "
        "BYPASSRLS). Each transaction sees only the accounts its caller may see. Empty: off.",
        expected="a Postgres role name (letters, digits, _), or empty",
    ),
    Spec(
        "replica_name",
        "",
        _replica_name,
        "This replica's name (the cluster's slot name, or the pod name); shown in the sidebar.",
        expected="up to 64 letters, digits or _ - .",
    ),
    # -- sign-in and access (issue 13) ---------------------------------------------------------------
    Spec(
        "auth",
        "none",
        _auth,
        "Sign-in. `none`: the demo, no sign-in, every page visible. `oidc`: st.login with the "
        "provider in .streamlit/secrets.toml [auth]; people see what they are granted.",
        expected="none or oidc",
    ),
    Spec(
        "admin_email",
        "",
        _email,
        "This person is an admin whatever the grants say (the first admin, who grants the others).",
        expected="an email address, or empty",
    ),
    Spec(
        "secret_key",
        "",
        _secret,
        "Signs the page cursors in links (HMAC). Empty: derived from the database URL, fine for the "
        "demo; required with EBAYDASH_AUTH=oidc. Give every replica the same one.",
        expected="at least 32 characters, or empty",
        secret=True,
    ),
)


def _default(field_name: str) -> Any:
    """The parsed default of the setting that fills ``field_name``: each default is written once,
    in :data:`SETTINGS` (a field without a spec fails here, at import)."""
    (spec,) = (spec for spec in SETTINGS if spec.field == field_name)
    return spec.parse(spec.default)


@dataclass(frozen=True)
class Settings:
    """All configuration, parsed and validated. Build it with :meth:`from_env`."""

    database_url: str = _default("database_url")
    data_dir: str = _default("data_dir")
    redis_url: str | None = _default("redis_url")
    statement_timeout_ms: int = _default("statement_timeout_ms")
    pool_size: int = _default("pool_size")
    max_overflow: int = _default("max_overflow")
    pool_timeout_s: float = _default("pool_timeout_s")
    cache_ttl_s: float = _default("cache_ttl_s")
    l1_ttl_s: float = _default("l1_ttl_s")
    l1_max_entries: int = _default("l1_max_entries")
    l1_max_bytes: int = _default("l1_max_bytes")
    redis_timeout_ms: int = _default("redis_timeout_ms")
    breaker_reset_s: float = _default("breaker_reset_s")
    slow_query_ms: float = _default("slow_query_ms")
    timezone: str = _default("timezone")
    sample_dir: str = _default("sample_dir")
    resource_interval_s: float = _default("resource_interval_s")
    log_level: str = _default("log_level")
    scale_up_response_ms: float = _default("scale_up_response_ms")
    scale_down_response_ms: float = _default("scale_down_response_ms")
    scale_up_throughput_per_min: float = _default("scale_up_throughput_per_min")
    scale_down_throughput_per_min: float = _default("scale_down_throughput_per_min")
    scale_up_memory: float = _default("scale_up_memory")
    scale_down_memory: float = _default("scale_down_memory")
    scale_cooldown_s: float = _default("scale_cooldown_s")
    min_replicas: int = _default("min_replicas")
    max_replicas: int = _default("max_replicas")
    replicas: int = _default("replicas")
    export_timeout_s: float = _default("export_timeout_s")
    scale_stabilisation_s: float = _default("scale_stabilisation_s")
    scale_tolerance: float = _default("scale_tolerance")
    scale_max_data_age_s: float = _default("scale_max_data_age_s")
    metrics_prefix: str = _default("metrics_prefix")
    monitor_refresh_s: float = _default("monitor_refresh_s")
    alert_rss_mb: float = _default("alert_rss_mb")
    alert_cpu_percent: float = _default("alert_cpu_percent")
    alert_response_ms: float = _default("alert_response_ms")
    alert_error_rate: float = _default("alert_error_rate")
    import_max_mb: int = _default("import_max_mb")
    overview_parallelism: int = _default("overview_parallelism")
    refresh_ahead: bool = _default("refresh_ahead")
    cache_prefix: str = _default("cache_prefix")
    auto_migrate: bool = _default("auto_migrate")
    migration_timeout_s: float = _default("migration_timeout_s")
    scale_window_s: float = _default("scale_window_s")
    metrics_port: int = _default("metrics_port")
    metrics_host: str = _default("metrics_host")
    database_read_url: str = _default("database_read_url")
    read_replica_max_lag_s: float = _default("read_replica_max_lag_s")
    read_replica_retry_s: float = _default("read_replica_retry_s")
    database_admin_url: str = _default("database_admin_url")
    database_app_role: str = _default("database_app_role")
    replica_name: str = _default("replica_name")
    auth: str = _default("auth")
    admin_email: str = _default("admin_email")
    secret_key: str = _default("secret_key")
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    #: the fields read from a variable (not their default): where a default means "not said",
    #: as EBAYDASH_REPLICAS against the replicas that report
    given: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.database_url:
            path = Path(self.data_dir) / "ebaydash.sqlite3"
            object.__setattr__(self, "database_url", f"sqlite:///{path}")
        if self.database_read_url and (self.is_sqlite or self.database_read_url.startswith("sqlite")):
            raise ConfigError(
                "EBAYDASH_DATABASE_READ_URL needs Postgres: both it and EBAYDASH_DATABASE_URL must be "
                "postgresql:// URLs (a streaming standby of that primary)."
            )
        if self.database_app_role and self.is_sqlite:
            raise ConfigError(
                "EBAYDASH_DATABASE_APP_ROLE turns on Postgres row-level security, but EBAYDASH_DATABASE_URL "
                "is SQLite, which has none. Leave it empty, or use a postgresql:// URL."
            )
        if self.min_replicas > self.max_replicas:
            raise ConfigError(
                f"EBAYDASH_MIN_REPLICAS ({self.min_replicas}) must not exceed "
                f"EBAYDASH_MAX_REPLICAS ({self.max_replicas})."
            )
        for rule, up, down in (
            ("RESPONSE_MS", self.scale_up_response_ms, self.scale_down_response_ms),
            ("THROUGHPUT_PER_MIN", self.scale_up_throughput_per_min, self.scale_down_throughput_per_min),
            ("MEMORY", self.scale_up_memory, self.scale_down_memory),
        ):
            if down >= up:
                # the rules engine would refuse it at its first decision, exit 1 far from the cause
                raise ConfigError(
                    f"EBAYDASH_SCALE_DOWN_{rule} ({_plain(down)}) must be below EBAYDASH_SCALE_UP_{rule} "
                    f"({_plain(up)}): a load cannot be both high enough to add replicas and low enough to "
                    "remove them."
                )
        if self.l1_ttl_s > self.cache_ttl_s:
            raise ConfigError(
                f"EBAYDASH_L1_TTL_S ({self.l1_ttl_s}) must not exceed EBAYDASH_CACHE_TTL_S "
                f"({self.cache_ttl_s}): the in-process copy may not outlive the shared one."
            )

        if self.auth == "oidc" and not self.secret_key:
            raise ConfigError(
                "EBAYDASH_AUTH=oidc needs EBAYDASH_SECRET_KEY (at least 32 random characters, the same "
                "on every replica): it signs the page cursors in links."
            )

    @property
    def cursor_key(self) -> bytes:
        """The key page cursors are signed with (HMAC-SHA256): the secret, else for the demo one
        derived from the database URL, so replicas sharing a database agree without a setting."""
        if self.secret_key:
            return hashlib.sha256(b"ebaydash-cursor\0" + self.secret_key.encode()).digest()
        return hashlib.sha256(b"ebaydash-cursor-demo\0" + self.database_url.encode()).digest()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse every ``EBAYDASH_*`` variable; a malformed one raises :class:`ConfigError`
        naming the variable and what it expects (with any password in the value hidden). An
        unknown ``EBAYDASH_*`` name is logged as a warning naming the nearest known one
        (:meth:`unknown_names`)."""
        values: dict[str, Any] = {}
        for spec in SETTINGS:
            raw = environ.get(spec.variable)
            if raw is None:
                continue
            remember(raw)  # a password in any value stays hidden in every later message and log
            if spec.secret:
                remember_secret(raw)
            try:
                values[spec.field] = spec.parse(raw.strip() if spec.parse is not str else raw)
            except (ValueError, TypeError, OverflowError):
                shown = "set (its value not shown)" if spec.secret else f"{redact(raw)!r}"
                raise ConfigError(f"{spec.variable} is {shown}, but it must be {spec.expected}.") from None
        known = {spec.variable for spec in SETTINGS}
        unknown = sorted(
            k
            for k in environ
            if k.startswith(PREFIX) and k not in known and not k.startswith(TOOLING_PREFIXES)
        )
        settings = cls(**values, extra={k: environ[k] for k in unknown}, given=frozenset(values))
        for warning in settings.unknown_names():
            log.warning("%s", warning)
        return settings

    def unknown_names(self) -> list[str]:
        """One message per ``EBAYDASH_*`` variable no setting reads (a typo, or a setting from
        another version), naming the nearest known name when one is close (difflib's ratio)."""
        known = [spec.variable.removeprefix(PREFIX) for spec in SETTINGS]
        messages = []
        for name in self.extra:
            # compared without the prefix, which every name shares and would make all look close
            close = difflib.get_close_matches(name.removeprefix(PREFIX), known, n=1, cutoff=0.6)
            hint = f" Did you mean {PREFIX}{close[0]}?" if close else " See the settings table in README.md."
            messages.append(f"{name} is not an ebaydash setting and is ignored.{hint}")
        return messages

    def __repr__(self) -> str:
        # the URLs may hold passwords, and a repr ends up in logs and tracebacks
        fields = ", ".join(
            f"{f.name}={redact(repr(getattr(self, f.name)))}" for f in dataclasses.fields(self) if f.repr
        )
        return f"Settings({fields})"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def row_security(self) -> bool:
        """Postgres row-level security is enforced for the app (EBAYDASH_DATABASE_APP_ROLE is set)."""
        return bool(self.database_app_role)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def markdown_table() -> str:
    """The README's configuration table, generated from :data:`SETTINGS`."""
    lines = ["| Variable | Default | Allowed values | What it does |", "| --- | --- | --- | --- |"]
    for spec in SETTINGS:
        default = f"`{spec.default}`" if spec.default else "(empty)"
        lines.append(f"| `{spec.variable}` | {default} | {spec.expected} | {spec.help} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
