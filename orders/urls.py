from django.urls import path, register_converter

from . import fulfilment_views, views
from .numbers import OrderNumberConverter

register_converter(OrderNumberConverter, "order_number")

app_name = "orders"

urlpatterns = [
    path("", views.order_history, name="history"),
    path("export.csv", views.order_export, name="export"),
    path("<order_number:number>/", views.order_detail, name="detail"),
    path("<order_number:number>/edit/", views.order_edit, name="edit"),
    path(
        "<order_number:number>/cancel-items/",
        fulfilment_views.order_cancel_items,
        name="cancel-items",
    ),
    path("<order_number:number>/ship/", fulfilment_views.order_ship, name="ship"),
]
