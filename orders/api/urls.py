from django.urls import path, re_path

from .updates import AcknowledgementView, CancellationView, ShipmentsView
from .views import (
    RetailerOrderDetailView,
    RetailerOrdersView,
    SupplierOrderDetailView,
    SupplierOrdersView,
)

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
    path(
        "v1/orders/<path:number>/acknowledgement",
        AcknowledgementView.as_view(),
        name="api-supplier-order-acknowledgement",
    ),
    path(
        "v1/orders/<path:number>/cancellation",
        CancellationView.as_view(),
        name="api-supplier-order-cancellation",
    ),
    path(
        "v1/orders/<path:number>/shipments",
        ShipmentsView.as_view(),
        name="api-supplier-order-shipments",
    ),
    # <path:...> so that any number, even one with a slash, gets the API's JSON 404.
    path(
        "v1/orders/<path:number>",
        SupplierOrderDetailView.as_view(),
        name="api-supplier-order",
    ),
]
