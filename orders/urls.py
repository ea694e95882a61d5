from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("", views.order_history, name="history"),
    path("export.csv", views.order_export, name="export"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/edit/", views.order_edit, name="edit"),
]
