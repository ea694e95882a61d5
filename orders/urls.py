from django.urls import path, register_converter

from . import views
from .numbers import OrderNumberConverter

register_converter(OrderNumberConverter, "order_number")

app_name = "orders"

urlpatterns = [
    path("", views.order_history, name="history"),
    path("export.csv", views.order_export, name="export"),
    path("<order_number:number>/", views.order_detail, name="detail"),
    path("<order_number:number>/edit/", views.order_edit, name="edit"),
    path("<order_number:number>/acknowledge/", views.order_acknowledge_view, name="acknowledge"),
]
