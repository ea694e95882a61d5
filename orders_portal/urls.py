from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from delivery.selectors import (
    deliveries_for_order,
    delivery_failing_count,
    delivery_states_for_orders,
)
from orders.views import delivery_readers_register
from suppliers.auth_views import PasswordResetView

from .views import healthz

# `orders` never imports `delivery`; its portal pages get delivery data through these readers.
delivery_readers_register(
    states_for_orders=lambda order_ids: delivery_states_for_orders(order_ids=order_ids),
    for_order=lambda order: deliveries_for_order(order=order),
    # Failing (still retrying) or failed for good: one query.
    failing_count=lambda supplier: delivery_failing_count(supplier=supplier),
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="orders:history"), name="home"),
    path("admin/", admin.site.urls),
    path("api/", include("orders.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("healthz", healthz, name="healthz"),
    # Portal: Django's auth views (login, logout by POST, password change and reset by email).
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    # Limited, and the email is queued, so the answer never tells a registered address.
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("orders/", include("orders.urls")),
    path("", include("suppliers.urls")),
    path("", include("delivery.urls")),
]
