"""Configuration: every ``EBAYDASH_*`` variable, read once into a frozen :class:`Settings`.

Each setting is declared once in :data:`SETTINGS` with its default and help text; the README's
configuration table is checked against this list by the tests, so the two cannot drift apart.
Nothing here reads the environment at import time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ebaydash.errors import ConfigError, UnsupportedDatabase

PREFIX = "EBAYDASH_"


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0 or value == float("inf"):
        raise ValueError
    return value


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise ValueError
    return value


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


def _database_url(raw: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not raw:
        return ""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ValueError from exc
    if url.drivername not in SUPPORTED_DATABASE_SCHEMES:
        # Only the scheme is named: the rest of the URL may hold a password.
        raise UnsupportedDatabase(
            f"EBAYDASH_DATABASE_URL uses {url.drivername}://, which ebaydash does not support. "
            f"Use {SUPPORTED_DATABASE_EXAMPLES} (schemes: "
            f"{', '.join(s + '://' for s in SUPPORTED_DATABASE_SCHEMES)})."
        )
    return raw


def _redis_url(raw: str) -> str | None:
    if not raw.strip():
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError
    return raw


def _tolerance(raw: str) -> float:
    value = float(raw)
    if not 0 <= value < 1:
        raise ValueError
    return value


def _key_prefix(raw: str) -> str:
    if not raw or len(raw) > 64 or not all(c.isalnum() or c in "_-.:" for c in raw):
        raise ValueError
    return raw


def _window(raw: str) -> float:
    value = float(raw)
    if not 10 <= value <= 900:
        raise ValueError
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError
    return value


def _host(raw: str) -> str:
    host = raw.strip()
    if not host or len(host) > 253 or not all(c.isalnum() or c in ".-:_" for c in host):
        raise ValueError
    return host


def _replica_name(raw: str) -> str:
    if len(raw) > 64 or not all(c.isalnum() or c in "_-." for c in raw):
        raise ValueError
    return raw


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError from exc
    return raw


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError
    return level


@dataclass(frozen=True)
class Spec:
    """One setting: the field it fills, how to parse it and what to tell a user who got it wrong."""

    field: str
    default: str
    parse: Callable[[str], Any]
    expected: str
    help: str

    @property
    def variable(self) -> str:
        return PREFIX + self.field.upper()


SETTINGS: tuple[Spec, ...] = (
    Spec(
        "database_url",
        "",
        _database_url,
        "a SQLAlchemy URL starting sqlite:// or postgresql://",
        "Database. Empty: a SQLite file under EBAYDASH_DATA_DIR (the embedded demo).",
    ),
    Spec("data_dir", ".data", str, "a directory path", "Where the embedded SQLite database lives."),
    Spec(
        "redis_url",
        "",
        _redis_url,
        "a URL starting redis://, rediss:// or unix://, or empty",
        "Shared L2 cache and cross-replica metrics. Empty: in-process cache only.",
    ),
    Spec(
        "statement_timeout_ms",
        "5000",
        _positive_int,
        "a whole number of milliseconds >= 1",
        "Time limit of every SQL statement; past it the page shows a clear message.",
    ),
    Spec(
        "pool_size",
        "5",
        _positive_int,
        "a whole number >= 1",
        "Database connections kept open per process (Postgres).",
    ),
    Spec(
        "max_overflow",
        "10",
        _non_negative_int,
        "a whole number >= 0",
        "Extra connections allowed above the pool size under load.",
    ),
    Spec(
        "pool_timeout_s",
        "5",
        _positive_float,
        "a number of seconds > 0",
        "How long a request waits for a free connection before giving up.",
    ),
    Spec(
        "cache_ttl_s",
        "300",
        _positive_float,
        "a number of seconds > 0",
        "How long computed figures stay in the shared (L2) cache.",
    ),
    Spec(
        "l1_ttl_s",
        "1",
        _positive_float,
        "a number of seconds > 0",
        "How long a process trusts its in-memory (L1) copy; bounds cross-process staleness.",
    ),
    Spec(
        "l1_max_entries",
        "4096",
        _positive_int,
        "a whole number >= 1",
        "Most entries in the in-process cache.",
    ),
    Spec(
        "l1_max_bytes",
        "67108864",
        _positive_int,
        "a whole number of bytes >= 1",
        "Most bytes held by the in-process cache.",
    ),
    Spec(
        "redis_timeout_ms",
        "250",
        _positive_int,
        "a whole number of milliseconds >= 1",
        "Connect and read time limit for each Redis call; past it the cache falls back.",
    ),
    Spec(
        "breaker_reset_s",
        "10",
        _positive_float,
        "a number of seconds > 0",
        "After Redis fails, how long to skip it before trying again.",
    ),
    Spec(
        "slow_query_ms",
        "200",
        _positive_float,
        "a number of milliseconds > 0",
        "Statements slower than this are listed on the performance page.",
    ),
    Spec(
        "timezone",
        "UTC",
        _timezone,
        "an IANA time zone such as Europe/Berlin",
        "Default zone for accounts and imports that do not name one.",
    ),
    Spec(
        "sample_dir",
        "sample_data",
        str,
        "a directory path",
        "Where the demo CSVs are read from by `ebaydash seed-demo`.",
    ),
    Spec(
        "resource_interval_s",
        "5",
        _positive_float,
        "a number of seconds > 0",
        "How often the resource sampler reads CPU and memory.",
    ),
    Spec("log_level", "INFO", _log_level, "one of DEBUG, INFO, WARNING, ERROR", "Logging verbosity."),
    Spec(
        "scale_up_response_ms",
        "3000",
        _positive_float,
        "a number of milliseconds > 0",
        "Scaling: average response time above which to scale up.",
    ),
    Spec(
        "scale_down_response_ms",
        "500",
        _positive_float,
        "a number of milliseconds > 0",
        "Scaling: average response time below which scaling down is allowed.",
    ),
    Spec(
        "scale_up_throughput_per_min",
        "1000",
        _positive_float,
        "a number > 0",
        "Scaling: requests per minute above which to scale up.",
    ),
    Spec(
        "scale_down_throughput_per_min",
        "100",
        _positive_float,
        "a number > 0",
        "Scaling: requests per minute below which scaling down is allowed.",
    ),
    Spec(
        "scale_up_memory",
        "0.8",
        _fraction,
        "a fraction between 0 and 1",
        "Scaling: memory use above which to scale up.",
    ),
    Spec(
        "scale_down_memory",
        "0.3",
        _fraction,
        "a fraction between 0 and 1",
        "Scaling: memory use below which scaling down is allowed.",
    ),
    Spec(
        "scale_cooldown_s",
        "300",
        _non_negative_float,
        "a number of seconds >= 0",
        "Scaling: least time between two scaling actions.",
    ),
    Spec("min_replicas", "1", _positive_int, "a whole number >= 1", "Scaling: fewest replicas to recommend."),
    Spec("max_replicas", "10", _positive_int, "a whole number >= 1", "Scaling: most replicas to recommend."),
    Spec(
        "replicas",
        "1",
        _positive_int,
        "a whole number >= 1",
        "Scaling: replicas running now (set by the deployment).",
    ),
    Spec(
        "export_timeout_s",
        "300",
        _positive_float,
        "a number of seconds > 0",
        "Time limit of a CSV export of orders (it streams every matching row).",
    ),
    # -- monitoring and scaling (issue 5) ---------------------------------------------------------
    Spec(
        "scale_stabilisation_s",
        "300",
        _non_negative_float,
        "a number of seconds >= 0",
        "Scaling: scale down only below the highest recommendation of this many seconds.",
    ),
    Spec(
        "scale_tolerance",
        "0.1",
        _tolerance,
        "a fraction between 0 and 1 (exclusive)",
        "Scaling: no change while a metric is within this fraction of its limit.",
    ),
    Spec(
        "scale_max_data_age_s",
        "120",
        _positive_float,
        "a number of seconds > 0",
        "Scaling: metrics older than this are stale, and stale data means hold.",
    ),
    Spec(
        "metrics_prefix",
        "ebaydash:metrics",
        _key_prefix,
        "letters, digits and : _ - . only",
        "Redis key prefix of the shared metrics (one per deployment sharing a Redis).",
    ),
    Spec(
        "monitor_refresh_s",
        "5",
        _positive_float,
        "a number of seconds > 0",
        "How often the performance, resources and scaling charts refresh themselves.",
    ),
    Spec(
        "alert_rss_mb",
        "1024",
        _positive_float,
        "a number of MiB > 0",
        "Alert when this process holds more memory (RSS) than this.",
    ),
    Spec(
        "alert_cpu_percent",
        "80",
        _positive_float,
        "a percentage > 0",
        "Alert when this process's CPU use is above this.",
    ),
    Spec(
        "alert_response_ms",
        "2000",
        _positive_float,
        "a number of milliseconds > 0",
        "Alert when the average page response over the last minute is slower than this.",
    ),
    Spec(
        "alert_error_rate",
        "0.05",
        _fraction,
        "a fraction between 0 and 1",
        "Alert when more than this share of service calls failed over the last minute.",
    ),
    Spec(
        "import_max_mb",
        "200",
        _positive_int,
        "a whole number of megabytes >= 1",
        "Largest order file an import accepts; bigger ones are refused with a message.",
    ),
    Spec(
        "refresh_ahead",
        "true",
        _bool,
        "true or false",
        "After an import, recompute the account's overview for the standard periods (7, 30, 90 "
        "days, this month) in the background, so the next viewer reads it from the cache.",
    ),
    # -- schema migrations (issue 10) ------------------------------------------------------------
    Spec(
        "auto_migrate",
        "true",
        _bool,
        "true or false",
        "Bring an empty or older database schema to the current revision when the app or a command "
        "starts. Off: a database that is behind stops with a message naming `ebaydash db upgrade`.",
    ),
    Spec(
        "migration_timeout_s",
        "600",
        _positive_float,
        "a number of seconds > 0",
        "Time limit of each statement of a schema migration, and of waiting for another replica's.",
    ),
    Spec(
        "cache_prefix",
        "ebaydash",
        _key_prefix,
        "up to 64 letters, digits or _ - . :",
        "Prefix of every key in the shared cache, so several deployments can share one Redis.",
    ),
    # -- cluster, autoscaling and Prometheus (issue 14) ----------------------------------------------
    Spec(
        "scale_window_s",
        "300",
        _window,
        "a number of seconds from 10 to 900",
        "Scaling: the window of page response time and throughput the rules engine judges.",
    ),
    Spec(
        "metrics_port",
        "0",
        _port,
        "a TCP port from 1 to 65535, or 0 for none",
        "Serve Prometheus metrics at /metrics on this port (0: off). The cluster sets one per replica.",
    ),
    Spec(
        "metrics_host",
        "127.0.0.1",
        _host,
        "a host name or IP address to listen on",
        "Address the Prometheus endpoint listens on (0.0.0.0 in a container).",
    ),
    Spec(
        "replica_name",
        "",
        _replica_name,
        "up to 64 letters, digits or _ - .",
        "This replica's name (the cluster's slot name, or the pod name); shown in the sidebar.",
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
    refresh_ahead: bool = _default("refresh_ahead")
    cache_prefix: str = _default("cache_prefix")
    auto_migrate: bool = _default("auto_migrate")
    migration_timeout_s: float = _default("migration_timeout_s")
    scale_window_s: float = _default("scale_window_s")
    metrics_port: int = _default("metrics_port")
    metrics_host: str = _default("metrics_host")
    replica_name: str = _default("replica_name")
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.database_url:
            path = Path(self.data_dir) / "ebaydash.sqlite3"
            object.__setattr__(self, "database_url", f"sqlite:///{path}")
        if self.min_replicas > self.max_replicas:
            raise ConfigError(
                f"EBAYDASH_MIN_REPLICAS ({self.min_replicas}) must not exceed "
                f"EBAYDASH_MAX_REPLICAS ({self.max_replicas})."
            )
        if self.l1_ttl_s > self.cache_ttl_s:
            raise ConfigError(
                f"EBAYDASH_L1_TTL_S ({self.l1_ttl_s}) must not exceed EBAYDASH_CACHE_TTL_S "
                f"({self.cache_ttl_s}): the in-process copy may not outlive the shared one."
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse every ``EBAYDASH_*`` variable; a malformed one raises :class:`ConfigError`
        naming the variable and what it expects."""
        values: dict[str, Any] = {}
        for spec in SETTINGS:
            raw = environ.get(spec.variable)
            if raw is None:
                continue
            try:
                values[spec.field] = spec.parse(raw.strip() if spec.parse is not str else raw)
            except (ValueError, TypeError):
                raise ConfigError(f"{spec.variable} is {raw!r}, but it must be {spec.expected}.") from None
        known = {spec.variable for spec in SETTINGS}
        unknown = sorted(k for k in environ if k.startswith(PREFIX) and k not in known)
        return cls(**values, extra={k: environ[k] for k in unknown})

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def markdown_table() -> str:
    """The README's configuration table, generated from :data:`SETTINGS`."""
    lines = ["| Variable | Default | What it does |", "| --- | --- | --- |"]
    for spec in SETTINGS:
        default = f"`{spec.default}`" if spec.default else "(empty)"
        lines.append(f"| `{spec.variable}` | {default} | {spec.help} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
