from django.urls import path, register_converter

from . import fulfilment_views, views, views_export
from .numbers import OrderNumberConverter
from .updates import views as update_views

register_converter(OrderNumberConverter, "order_number")

app_name = "orders"

urlpatterns = [
    path("", views.order_history, name="history"),
    path("export.csv", views_export.order_export, name="export"),
    path("updates/", update_views.update_files, name="updates"),
    path("updates/template.csv", update_views.update_file_template, name="update-template"),
    path("updates/<int:pk>/", update_views.update_file_detail, name="update-file"),
    path(
        "updates/<int:pk>/progress.json",
        update_views.update_file_progress,
        name="update-progress",
    ),
    path("updates/<int:pk>/result.csv", update_views.update_file_result, name="update-result"),
    path("<order_number:number>/", views.order_detail, name="detail"),
    path("<order_number:number>/edit/", views.order_edit, name="edit"),
    path(
        "<order_number:number>/cancel-items/",
        fulfilment_views.order_cancel_items,
        name="cancel-items",
    ),
    path("<order_number:number>/ship/", fulfilment_views.order_ship, name="ship"),
    path("<order_number:number>/acknowledge/", views.order_acknowledge_view, name="acknowledge"),
]
