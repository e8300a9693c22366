"""Schema migrations (Alembic). The public surface; see :mod:`ebaydash.db.migrations.runner`.

Every schema change is a revision in ``versions/`` with a test in tests/test_migrations.py that
upgrades a database holding data from the revision before.
"""

from ebaydash.db.migrations.runner import (
    BASELINE,
    LOCK_KEY,
    MIGRATIONS_DIR,
    CheckResult,
    SchemaStatus,
    UpgradeResult,
    adopt,
    alembic_config,
    baseline_metadata,
    check,
    compare,
    ensure_schema,
    head,
    read_status,
    revision,
    script_directory,
    status,
    upgrade,
)

__all__ = [
    "BASELINE",
    "LOCK_KEY",
    "MIGRATIONS_DIR",
    "CheckResult",
    "SchemaStatus",
    "UpgradeResult",
    "adopt",
    "alembic_config",
    "baseline_metadata",
    "check",
    "compare",
    "ensure_schema",
    "head",
    "read_status",
    "revision",
    "script_directory",
    "status",
    "upgrade",
]
