"""The process-wide objects every service call needs, built once from :class:`Settings`."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ebaydash.cache.memory import MemoryBackend
from ebaydash.cache.redis import RedisBackend
from ebaydash.cache.tiered import TieredCache
from ebaydash.cache.versions import SourceVersions
from ebaydash.db import data_versions, migrations, security
from ebaydash.db.engine import Database, QueryObserver, make_engine
from ebaydash.db.replica import ReadReplica
from ebaydash.errors import ConfigError
from ebaydash.monitor.alerts import AlertMonitor
from ebaydash.monitor.metrics import MetricsRecorder
from ebaydash.monitor.resources import ResourceSampler
from ebaydash.monitor.wiring import build_recorder, build_sampler, watch_statements
from ebaydash.redaction import install_log_redaction
from ebaydash.redis_connection import RedisConnection
from ebaydash.settings import Settings


class Part(Protocol):
    """A per-context object of a feature above this module (see :meth:`Context.part`); once
    closed it starts no new work."""

    def close(self) -> None: ...


P = TypeVar("P", bound=Part)


@dataclass
class Context:
    settings: Settings
    db: Database
    cache: TieredCache
    recorder: MetricsRecorder
    sampler: ResourceSampler
    alerts: AlertMonitor | None = None  # monitor: limits crossed, logged and shown
    redis: RedisConnection | None = None  # the one connection the cache and the metrics share
    _parts: dict[type[Any], Part] = field(default_factory=dict, init=False, repr=False, compare=False)
    _parts_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _closed: bool = field(default=False, init=False, repr=False, compare=False)

    def part(self, kind: type[P]) -> P:
        """This context's one ``kind()``, made on first use and closed first when the context closes.

        For features that sit above the services and need one object per process, such as the demo
        traffic's background run: they keep it here, so this module does not depend on them. Once
        the context is closed, each call gets a new part that is already closed (a closed part
        starts no work), so nothing made after :meth:`close` outlives it.
        """
        with self._parts_lock:
            if self._closed:
                spent = kind()
                spent.close()
                return spent
            found = self._parts.get(kind)
            if found is None:
                found = self._parts[kind] = kind()
            assert isinstance(found, kind)
            return found

    def close(self) -> None:
        with self._parts_lock:
            parts, self._parts, self._closed = list(self._parts.values()), {}, True
        for part in reversed(parts):
            part.close()
        self.sampler.stop()
        self.recorder.stop()  # monitor: flush the last metrics to the shared store
        self.cache.close()
        if self.redis is not None:
            self.redis.close()
        self.db.dispose()


def connect_redis(settings: Settings) -> RedisConnection | None:
    """The process's one Redis connection, when ``settings.redis_url`` is set. Nothing connects
    here, so a Redis that is down does not stop the app from starting (the cache starts degraded)."""
    if not settings.redis_url:
        return None
    return RedisConnection(
        settings.redis_url, timeout_s=settings.redis_timeout_ms / 1000, reset_s=settings.breaker_reset_s
    )


#: Time limit of reading the data versions (a few rows): short, so a database that stops
#: answering costs a page little more than its own statement's limit.
DATA_VERSIONS_TIMEOUT_MS = 500


def data_version_reader(db: Database) -> Callable[[], dict[str, str]]:
    """What :class:`~ebaydash.cache.versions.SourceVersions` reads: every account namespace's data
    version (``acct:{id}``, as :mod:`ebaydash.services.namespaces` spells it) and one for
    ``global`` (the accounts list), a digest of them all, which changes with any account's writes
    and with accounts appearing or going."""

    def read() -> dict[str, str]:
        versions = data_versions.read_all(db, timeout_ms=min(DATA_VERSIONS_TIMEOUT_MS, db.timeout_ms))
        found = {f"acct:{account_id}": str(version) for account_id, version in versions.items()}
        digest = hashlib.blake2b(repr(sorted(versions.items())).encode(), digest_size=6).hexdigest()
        found["global"] = digest
        return found

    return read


def build_cache(
    settings: Settings,
    recorder: MetricsRecorder | None = None,
    redis: RedisConnection | None = None,
    db: Database | None = None,
) -> TieredCache:
    """L1 always; L2 on ``redis`` when there is a connection. With ``db``, every key also carries
    its data's version from the database, re-read at most every ``settings.l1_ttl_s``: a write is
    then seen within that time even when its Redis bump was lost (see :mod:`ebaydash.db.data_versions`)."""
    l2 = None
    if redis is not None:
        l2 = RedisBackend(redis, prefix=settings.cache_prefix, observer=recorder)
    # A creator runs a statement or two; its Redis lock outlives that, so another process waits
    # for the value rather than running the same query, and a crashed holder blocks no longer.
    lock_ttl_s = settings.statement_timeout_ms / 1000 + 1
    return TieredCache(
        # expired L1 entries are kept one more TTL, to serve while one caller refreshes them
        MemoryBackend(
            max_entries=settings.l1_max_entries,
            max_bytes=settings.l1_max_bytes,
            stale_s=settings.cache_ttl_s,
        ),
        l2,
        default_ttl=settings.cache_ttl_s,
        # without a shared level there is no other process to fall out of step with
        l1_ttl=settings.l1_ttl_s if l2 is not None else settings.cache_ttl_s,
        observer=recorder,
        lock_ttl_s=lock_ttl_s,
        source_versions=None
        if db is None
        else SourceVersions(data_version_reader(db), ttl_s=settings.l1_ttl_s),
    )


def open_database(settings: Settings, *, observer: QueryObserver | None = None) -> Database:
    """The database gateway. Before its first statement it brings the schema to this version's
    revision (or, with EBAYDASH_AUTO_MIGRATE off, checks it): see
    :func:`ebaydash.db.migrations.ensure_schema`. Nothing connects here, so an app started while
    the database is down starts anyway; the first call then names what stops it, and a later one
    tries again.

    With ``EBAYDASH_DATABASE_ADMIN_URL`` the schema is migrated through that URL (the tables'
    owner), on a short-lived engine of its own. With ``EBAYDASH_DATABASE_APP_ROLE`` the first call
    also checks that the app is logged in as that role, and that it is neither superuser, nor
    BYPASSRLS, nor owner of an account-scoped table (:class:`~ebaydash.errors.ConfigError` naming
    the problem otherwise): row-level security would not apply to it.
    With ``EBAYDASH_DATABASE_READ_URL`` reads marked ``replica_ok`` may go to that standby."""

    def prepare(db: Database) -> None:
        if settings.database_admin_url:
            admin = admin_database(settings)
            try:
                migrations.ensure_schema(admin, settings)
                if settings.row_security:
                    with admin.transaction() as conn:
                        security.grant_app_role(conn, settings.database_app_role)
            finally:
                admin.dispose()
        else:
            # a gateway of its own without this hook, so preparing does not wait on itself
            migrations.ensure_schema(Database(db.engine, timeout_ms=db.timeout_ms), settings)
        if settings.row_security:
            check_app_role(Database(db.engine, timeout_ms=db.timeout_ms), settings.database_app_role)

    replica = None
    if settings.database_read_url:
        standby = Database(
            make_engine(settings, settings.database_read_url),
            timeout_ms=settings.statement_timeout_ms,
            observer=observer,
            row_security=settings.row_security,
        )
        replica = ReadReplica(
            standby, max_lag_s=settings.read_replica_max_lag_s, retry_s=settings.read_replica_retry_s
        )
    return Database(
        make_engine(settings),
        timeout_ms=settings.statement_timeout_ms,
        observer=observer,
        prepare=prepare,
        replica=replica,
        row_security=settings.row_security,
    )


def admin_database(settings: Settings) -> Database:
    """A gateway for schema work: ``EBAYDASH_DATABASE_ADMIN_URL`` (else the app's URL), every
    account visible (migrations that move data must see all of it)."""
    url = settings.database_admin_url or settings.database_url
    return Database(make_engine(settings, url, all_accounts=True), timeout_ms=settings.statement_timeout_ms)


def check_app_role(db: Database, expected: str) -> security.RoleCheck:
    """Raise :class:`~ebaydash.errors.ConfigError` unless ``db`` is logged in as ``expected`` and
    row-level security applies to that role (Postgres)."""
    with db.connect() as conn:
        found = security.check_app_role(conn)
    if found.role != expected:
        raise ConfigError(
            f"EBAYDASH_DATABASE_APP_ROLE is {expected!r}, but EBAYDASH_DATABASE_URL logs in as "
            f"{found.role!r}. Connect as the app role, so row-level security applies."
        )
    if not found.ok:
        raise ConfigError(
            f"The app's database role {found.role!r} {'; '.join(found.problems)}: row-level security "
            "would not apply to it. Log in as a role that is neither (the tables' owner runs the "
            "migrations, through EBAYDASH_DATABASE_ADMIN_URL)."
        )
    return found


def build_context(settings: Settings, *, start_sampler: bool = True) -> Context:
    """Every per-process object; the database's schema is made current before its first use
    (see :func:`open_database`)."""
    install_log_redaction()
    logging.basicConfig(level=settings.log_level)
    redis = connect_redis(settings)
    recorder = build_recorder(settings, redis)  # monitor: shared through Redis when configured
    db = open_database(settings, observer=recorder)
    watch_statements(db.engine, recorder)  # monitor: every SQL statement, slow ones by shape
    if db.replica is not None and isinstance(db.replica.standby, Database):
        watch_statements(db.replica.standby.engine, recorder)  # the standby's statements too
    cache = build_cache(settings, recorder, redis, db)
    sampler, alerts = build_sampler(settings, recorder)  # monitor: sampler with alerts
    if start_sampler:
        sampler.start()
        recorder.start()  # monitor: background fold and flush
    return Context(
        settings=settings,
        db=db,
        cache=cache,
        recorder=recorder,
        sampler=sampler,
        alerts=alerts,
        redis=redis,
    )
