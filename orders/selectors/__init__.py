"""Every non-trivial read of orders, with bounded query counts, one module per concern:

- `supplier_api`: the supplier read API's pages and single orders (document text);
- `history`: ORDER HISTORY, its part-way marks and its export;
- `history_count`: how many orders its filters match (exact up to a cap, then an estimate);
- `order_page`: the portal's pages of one order (order page, edit, cancel items, ship);
- `retailers`: the retailer behind an intake API key;
- `retailer_api`: the retailer read API's pages and single retailer orders;
- `acknowledgement`: the acknowledgement deadline, which orders are overdue.

`from orders.selectors import X` keeps working for each public name.
"""

from .acknowledgement import (
    order_is_overdue,
    orders_overdue,
    overdue_counts_by_supplier,
    overdue_q,
)
from .history import (
    HISTORY_FIELDS,
    MARK_PART_SHIPPED,
    MARK_PARTLY_CANCELLED,
    PORTAL_MAX_PAGE_SIZE,
    PORTAL_PAGE_SIZE,
    HistoryDashboard,
    HistoryFilters,
    HistoryPage,
    HistoryRow,
    order_history_cursor_decode,
    order_history_cursor_encode,
    order_history_dashboard,
    order_history_export_rows,
    order_history_marks,
    order_history_page,
    order_history_queryset,
    order_history_search_sku,
)
from .history_count import (
    HISTORY_COUNT_CAP,
    HistoryCount,
    order_history_count,
    order_history_loosen,
)
from .order_page import order_portal_detail, order_portal_get, order_portal_with_lines
from .retailer_api import RetailerOrderPage, order_get_for_retailer, order_list_for_retailer
from .retailers import retailer_for_api_key
from .supplier_api import (
    OrderPage,
    OrderPosition,
    order_get_for_supplier,
    order_list_for_supplier,
    supplier_api_settled_before,
)

__all__ = [
    "HISTORY_COUNT_CAP",
    "HistoryCount",
    "order_history_count",
    "order_history_loosen",
    "RetailerOrderPage",
    "order_get_for_retailer",
    "order_list_for_retailer",
    "order_is_overdue",
    "orders_overdue",
    "overdue_counts_by_supplier",
    "overdue_q",
    "HISTORY_FIELDS",
    "MARK_PART_SHIPPED",
    "MARK_PARTLY_CANCELLED",
    "PORTAL_MAX_PAGE_SIZE",
    "PORTAL_PAGE_SIZE",
    "HistoryDashboard",
    "HistoryFilters",
    "HistoryPage",
    "HistoryRow",
    "OrderPage",
    "OrderPosition",
    "order_get_for_supplier",
    "order_history_cursor_decode",
    "order_history_cursor_encode",
    "order_history_dashboard",
    "order_history_export_rows",
    "order_history_marks",
    "order_history_page",
    "order_history_queryset",
    "order_history_search_sku",
    "order_list_for_supplier",
    "order_portal_detail",
    "order_portal_get",
    "order_portal_with_lines",
    "retailer_for_api_key",
    "supplier_api_settled_before",
]
