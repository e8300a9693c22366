"""The page-facing API: plain functions returning dataclasses, no streamlit.

Every function takes the process :class:`~ebaydash.context.Context` first and, when it reads or
changes an account or the system pages, the :class:`~ebaydash.viewer.Viewer` second (the account id
third): it checks the viewer's grant before it touches the cache or the database, and raises
:class:`~ebaydash.errors.NotAllowed` otherwise. ``access`` builds viewers, grants and audits.

Pages import this package only; the modules behind it split the API by concern: ``sellers``
(accounts, figures, orders), ``imports`` (order files), ``money`` (eBay's money records and cost
of goods; ``import_files`` tells money files from order files), ``profit`` (profit figures,
payouts), ``performance``, ``health``, ``resources`` and ``scaling`` (the system pages),
``demo_traffic`` (simulated visitors, driven by ``loadgen``), ``access`` (viewers, grants, audit).
"""

from ebaydash.db.schema import ORDER_STATUSES  # the statuses an order can have, for filters
from ebaydash.services.access import (
    AuditEntry,
    GrantRow,
    Removal,
    access_removal,
    audit_log,
    grant,
    grants,
    revoke,
    sign_in,
    viewer_for,
)
from ebaydash.services.demo_traffic import demo_traffic, start_demo_traffic, stop_demo_traffic
from ebaydash.services.health import HealthCheck, health_checks
from ebaydash.services.imports import ImportFile, ImportReport, import_orders, timezones
from ebaydash.services.money import (
    CostChange,
    CostImportReport,
    cost_changes,
    costs,
    import_costs,
    import_files,
    import_money,
    save_costs,
)
from ebaydash.services.performance import (
    TRAFFIC_LABELS,
    WINDOWS_S,
    PerformanceReport,
    ReadReplicaStatus,
    performance,
    performance_report,
    replica_status,
)
from ebaydash.services.profit import (
    NO_MONEY_RECORDS,
    PROFIT_FIGURES,
    SALES_VS_REVENUE,
    payout_transactions,
    payouts,
    profit_figures,
    top_products_by_profit,
)
from ebaydash.services.resources import ResourceReport, resource_history, resource_report
from ebaydash.services.scaling import ScalingReport, policy, recommendation, scaling_report, what_if
from ebaydash.services.sellers import (
    EXPORT_COLUMNS,
    EXPORT_ITEM_COLUMNS,
    FIGURES,
    PAGE_SIZES,
    SORT_LABELS,
    account,
    accounts,
    comparison_note,
    default_account,
    export_orders_csv,
    export_orders_file,
    first_order_at,
    kpis,
    order_detail,
    orders_page,
    orders_total,
    overview,
    status_mix,
    top_buyers,
    top_products,
    trend,
    update_order_status,
    validate_filter,
)
from ebaydash.viewer import ROLES, Viewer

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_ITEM_COLUMNS",
    "FIGURES",
    "NO_MONEY_RECORDS",
    "ORDER_STATUSES",
    "PAGE_SIZES",
    "PROFIT_FIGURES",
    "ROLES",
    "SALES_VS_REVENUE",
    "SORT_LABELS",
    "TRAFFIC_LABELS",
    "WINDOWS_S",
    "AuditEntry",
    "CostChange",
    "CostImportReport",
    "GrantRow",
    "HealthCheck",
    "ImportFile",
    "ImportReport",
    "PerformanceReport",
    "ReadReplicaStatus",
    "Removal",
    "ResourceReport",
    "ScalingReport",
    "Viewer",
    "access_removal",
    "account",
    "accounts",
    "audit_log",
    "comparison_note",
    "cost_changes",
    "costs",
    "default_account",
    "demo_traffic",
    "export_orders_csv",
    "export_orders_file",
    "first_order_at",
    "grant",
    "grants",
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
    "revoke",
    "save_costs",
    "scaling_report",
    "sign_in",
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
    "viewer_for",
    "what_if",
]
