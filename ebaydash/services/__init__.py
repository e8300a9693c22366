"""The page-facing API: plain functions returning dataclasses, no streamlit.

Every function takes the process :class:`~ebaydash.context.Context` first. Pages import this
package only; the modules behind it split the API by audience.
"""

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
    validate_filter,
)
from ebaydash.services.system import (
    database_health,
    performance,
    recommendation,
    resource_history,
)

__all__ = [
    "EXPORT_COLUMNS",
    "FIGURES",
    "PAGE_SIZES",
    "SORT_LABELS",
    "account",
    "accounts",
    "database_health",
    "default_account",
    "export_orders_csv",
    "export_orders_file",
    "kpis",
    "order_detail",
    "orders_page",
    "orders_total",
    "overview",
    "performance",
    "recommendation",
    "resource_history",
    "status_mix",
    "top_buyers",
    "top_products",
    "trend",
    "validate_filter",
]
