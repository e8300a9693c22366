"""The page-facing API: plain functions returning dataclasses, no streamlit.

Every function takes the process :class:`~ebaydash.context.Context` first. Pages import this
package only; the modules behind it split the API by audience.
"""

from ebaydash.services.sellers import (
    EXPORT_COLUMNS,
    PAGE_SIZES,
    account,
    accounts,
    default_account,
    export_orders_csv,
    kpis,
    order_detail,
    orders_page,
    orders_total,
    trend,
    validate_filter,
)
from ebaydash.services.system import (
    WINDOW_LABELS,
    HealthCheck,
    PerformanceReport,
    ResourceReport,
    ScalingReport,
    database_health,
    health_checks,
    performance,
    performance_report,
    policy,
    recommendation,
    resource_history,
    resource_report,
    rules_table,
    scaling_report,
    what_if,
)

__all__ = [
    "EXPORT_COLUMNS",
    "PAGE_SIZES",
    "WINDOW_LABELS",
    "HealthCheck",
    "PerformanceReport",
    "ResourceReport",
    "ScalingReport",
    "account",
    "accounts",
    "database_health",
    "default_account",
    "export_orders_csv",
    "health_checks",
    "kpis",
    "order_detail",
    "orders_page",
    "orders_total",
    "performance",
    "performance_report",
    "policy",
    "recommendation",
    "resource_history",
    "resource_report",
    "rules_table",
    "scaling_report",
    "trend",
    "validate_filter",
    "what_if",
]
