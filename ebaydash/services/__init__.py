"""The page-facing API: plain functions returning dataclasses, no streamlit.

Every function takes the process :class:`~ebaydash.context.Context` first. Pages import this
package only; the modules behind it split the API by audience.
"""

from ebaydash.services.cache import cache_status
from ebaydash.services.order_repository import OrderRepository, update_order_status
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
    database_health,
    performance,
    recommendation,
    resource_history,
)

__all__ = [
    "EXPORT_COLUMNS",
    "PAGE_SIZES",
    "OrderRepository",
    "account",
    "accounts",
    "cache_status",
    "database_health",
    "default_account",
    "export_orders_csv",
    "kpis",
    "order_detail",
    "orders_page",
    "orders_total",
    "performance",
    "recommendation",
    "resource_history",
    "trend",
    "update_order_status",
    "validate_filter",
]
