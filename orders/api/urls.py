from django.urls import path

from .views import RetailerOrdersView

urlpatterns = [
    path("v1/retailer/orders", RetailerOrdersView.as_view(), name="api-retailer-orders"),
]
