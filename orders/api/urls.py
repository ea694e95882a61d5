from django.urls import path

from .updates import AcknowledgementView, CancellationView, ShipmentsView
from .views import RetailerOrdersView, SupplierOrderDetailView, SupplierOrdersView

urlpatterns = [
    path("v1/retailer/orders", RetailerOrdersView.as_view(), name="api-retailer-orders"),
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
