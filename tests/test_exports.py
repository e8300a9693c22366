"""Each package's exported names, pinned (as httpx pins its public API): a name added to or
dropped from a package's surface is a decision made here, and nothing public hides outside
``__all__``."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from tests.test_boundaries import _module_files

EXPORTS: dict[str, set[str]] = {
    "ebaydash": {"__version__"},
    "ebaydash.cache": {
        "NO_VALUE",
        "CacheBackend",
        "CacheStatus",
        "CacheUnavailable",
        "CircuitOpen",
        "L2Status",
        "NoValue",
        "TieredCache",
        "cacheable",
        "key_for",
    },
    "ebaydash.cluster": {
        "AlreadyRunning",
        "Cluster",
        "ClusterConfigError",
        "ClusterError",
        "ClusterSpec",
        "ClusterStatus",
        "DrainResult",
        "HAProxyMissing",
        "NoSpareSlot",
        "NotRunning",
        "Replica",
        "ReplicaStartFailed",
        "ReplicaStatus",
        "RuntimeAPI",
        "RuntimeAPIError",
        "ServerState",
        "check_settings",
        "render",
    },
    "ebaydash.db": set(),
    "ebaydash.db.migrations": {
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
    },
    "ebaydash.db.upsert": {
        "IMPORT_TIMEOUT_MS",
        "ImportWrite",
        "Progress",
        "UpsertCounts",
        "create_account",
        "find_account",
        "upsert_orders",
        "write_import",
    },
    "ebaydash.importers": {
        "FORMAT_LABELS",
        "FileScan",
        "NotOrder",
        "ParsedFile",
        "Rejected",
        "RowError",
        "decode",
        "detect",
        "read_file",
        "scan_file",
    },
    "ebaydash.importers.money": {
        "BOOKING_ENTRIES",
        "FORMAT_LABELS",
        "MONEY_FORMATS",
        "MONEY_TYPES",
        "MoneyFile",
        "MoneyLine",
        "MoneyTransaction",
        "Payout",
        "money_format",
    },
    "ebaydash.monitor": set(),
    "ebaydash.services": {
        "ROLES",
        "AuditEntry",
        "GrantRow",
        "Removal",
        "access_removal",
        "Viewer",
        "audit_log",
        "grant",
        "grants",
        "revoke",
        "sign_in",
        "viewer_for",
        "EXPORT_COLUMNS",
        "EXPORT_ITEM_COLUMNS",
        "FIGURES",
        "ORDER_STATUSES",
        "PAGE_SIZES",
        "PROFIT_FIGURES",
        "NO_MONEY_RECORDS",
        "SALES_VS_REVENUE",
        "SORT_LABELS",
        "TRAFFIC_LABELS",
        "WINDOWS_S",
        "CostChange",
        "CostImportReport",
        "HealthCheck",
        "ImportFile",
        "ImportReport",
        "PerformanceReport",
        "ReadReplicaStatus",
        "ResourceReport",
        "ScalingReport",
        "account",
        "accounts",
        "comparison_note",
        "cost_changes",
        "costs",
        "default_account",
        "demo_traffic",
        "export_orders_csv",
        "export_orders_file",
        "first_order_at",
        "health_checks",
        "import_costs",
        "import_files",
        "import_money",
        "import_orders",
        "kpis",
        "order_detail",
        "orders_page",
        "orders_total",
        "overview",
        "payout_transactions",
        "payouts",
        "performance",
        "performance_report",
        "policy",
        "profit_figures",
        "recommendation",
        "replica_status",
        "resource_history",
        "resource_report",
        "save_costs",
        "scaling_report",
        "start_demo_traffic",
        "status_mix",
        "stop_demo_traffic",
        "timezones",
        "top_buyers",
        "top_products",
        "top_products_by_profit",
        "trend",
        "update_order_status",
        "validate_filter",
        "what_if",
    },
}


def packages() -> list[str]:
    """Every package with an API; Alembic's folder of revision scripts is not one."""
    return sorted(
        name
        for name, path in _module_files().items()
        if path.name == "__init__.py" and name != "ebaydash.db.migrations.versions"
    )


def test_every_package_is_pinned() -> None:
    assert set(packages()) == set(EXPORTS)


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_a_package_exports_exactly_its_pinned_names(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == EXPORTS[package]
    assert len(module.__all__) == len(set(module.__all__))  # no name twice
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names {name}, which it does not have"


def hidden_names(module: ModuleType) -> list[str]:
    """Public classes and functions defined in ``module``'s package (or one of its modules),
    reachable from it, and missing from its ``__all__``."""
    package = module.__name__
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and (getattr(value, "__module__", None) or "").startswith(package)
        and name not in getattr(module, "__all__", ())
    )


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_nothing_public_of_a_package_hides_outside_its_all(package: str) -> None:
    """A re-export is meant (and listed), or the name is private."""
    assert hidden_names(importlib.import_module(package)) == []


def test_a_name_missing_from_all_is_found() -> None:
    """Negative control for the check above."""
    fake = ModuleType("ebaydash.fake")

    def listed() -> None: ...

    def forgotten() -> None: ...

    for function in (listed, forgotten):
        function.__module__ = "ebaydash.fake.impl"
        setattr(fake, function.__name__, function)
    fake.__all__ = ["listed"]  # type: ignore[attr-defined]
    assert hidden_names(fake) == ["forgotten"]
