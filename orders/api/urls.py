from django.urls import path

from .views import RetailerOrdersView, SupplierOrderDetailView, SupplierOrdersView

urlpatterns = [
    path("v1/retailer/orders", RetailerOrdersView.as_view(), name="api-retailer-orders"),
    path("v1/orders", SupplierOrdersView.as_view(), name="api-supplier-orders"),
    # <path:...> so that any number, even one with a slash, gets the API's JSON 404.
    path(
        "v1/orders/<path:number>",
        SupplierOrderDetailView.as_view(),
        name="api-supplier-order",
    ),
]
