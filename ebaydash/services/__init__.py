"""The page-facing API: plain functions returning dataclasses, no streamlit.

Every function takes the process :class:`~ebaydash.context.Context` first. Pages import this
package only; the modules behind it split the API by concern: ``sellers`` (accounts, figures,
orders), ``imports`` (order files), ``money`` (eBay's money records and cost of goods;
``import_files`` tells money files from order files), ``profit`` (profit figures, payouts),
``performance``, ``health``, ``resources`` and ``scaling`` (the system pages), ``demo_traffic``
(simulated visitors, driven by ``loadgen``).
"""

from ebaydash.db.schema import ORDER_STATUSES  # the statuses an order can have, for filters
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
from ebaydash.services.performance import WINDOWS_S, PerformanceReport, performance, performance_report
from ebaydash.services.profit import (
    PROFIT_FIGURES,
    payout_transactions,
    payouts,
    profit_figures,
    top_products_by_profit,
)
from ebaydash.services.resources import ResourceReport, resource_history, resource_report
from ebaydash.services.scaling import ScalingReport, policy, recommendation, scaling_report, what_if
from ebaydash.services.sellers import (
    EXPORT_COLUMNS,
    FIGURES,
    PAGE_SIZES,
    SORT_LABELS,
    account,
    accounts,
    default_account,
    export_orders_csv,
    export_orders_file,
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

__all__ = [
    "EXPORT_COLUMNS",
    "FIGURES",
    "ORDER_STATUSES",
    "PAGE_SIZES",
    "PROFIT_FIGURES",
    "SORT_LABELS",
    "WINDOWS_S",
    "CostChange",
    "CostImportReport",
    "HealthCheck",
    "ImportFile",
    "ImportReport",
    "PerformanceReport",
    "ResourceReport",
    "ScalingReport",
    "account",
    "accounts",
    "cost_changes",
    "costs",
    "default_account",
    "demo_traffic",
    "export_orders_csv",
    "export_orders_file",
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
]
