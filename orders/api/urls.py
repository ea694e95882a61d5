from django.urls import path, re_path

from .updates import AcknowledgementView, CancellationView, ShipmentsView
from .views import (
    RetailerOrderDetailView,
    RetailerOrdersView,
    SupplierOrderDetailView,
    SupplierOrdersView,
)

# Any number at all (a newline too, which <path:> would not match, leaving Django's HTML
# 404): the view answers an implausible one with the API's JSON 404.
_UPDATE = r"^v1/orders/(?P<number>(?s:.+))/{action}$"

urlpatterns = [
    path("v1/retailer/orders", RetailerOrdersView.as_view(), name="api-retailer-orders"),
    # Any reference at all (a slash, even a newline, which <path:> does not match) reaches
    # the view, so a bad one is the API's JSON 404, never the portal's HTML page.
    re_path(
        r"^v1/retailer/orders/(?P<reference>(?s:.+))$",
        RetailerOrderDetailView.as_view(),
        name="api-retailer-order",
    ),
    path("v1/orders", SupplierOrdersView.as_view(), name="api-supplier-orders"),
    # The update API (issue 13), before the catch-all read path below.
    re_path(
        _UPDATE.format(action="acknowledgement"),
        AcknowledgementView.as_view(),
        name="api-supplier-order-acknowledgement",
    ),
    re_path(
        _UPDATE.format(action="cancellation"),
        CancellationView.as_view(),
        name="api-supplier-order-cancellation",
    ),
    re_path(
        _UPDATE.format(action="shipments"),
        ShipmentsView.as_view(),
        name="api-supplier-order-shipments",
    ),
    # Any number at all, as above (a slash, even a newline, which <path:> does not match):
    # an implausible one is the view's JSON 404, never the portal's HTML page.
    re_path(
        r"^v1/orders/(?P<number>(?s:.+))$",
        SupplierOrderDetailView.as_view(),
        name="api-supplier-order",
    ),
]
