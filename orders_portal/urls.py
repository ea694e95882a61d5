"""The project's URLs. Only patterns: what apps register at start is in their AppConfig.ready()."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from suppliers.auth_views import LoginView, LogoutView, PasswordChangeView, PasswordResetView
from suppliers.login_limit import login_limited

from .views import admin_password_change, healthz, help_page

# A database error that escaped a view (e.g. in a middleware) is a 503 too (common/outage.py).
handler500 = "common.outage.server_error"
handler400 = "orders.api.errors.bad_request"  # the APIs answer JSON even before a view
handler404 = "orders.api.errors.page_not_found"  # and for a path that names no endpoint

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="orders:history"), name="home"),
    # Before the admin's own: a wrong current password counts toward the lockout (views.py).
    path("admin/password_change/", admin_password_change),
    # Failed logins from one address, whatever the user name, are limited (login_limit.py).
    path("admin/login/", login_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/", include("orders.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("healthz", healthz, name="healthz"),
    # Portal: Django's auth views (login, logout by POST, password change and reset by email).
    path("accounts/login/", login_limited(LoginView.as_view()), name="login"),
    # A GET asks "Log out?" with the POST button (suppliers/auth_views.py).
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path(
        "accounts/logged-out/",
        TemplateView.as_view(template_name="registration/logged_out.html"),
        name="logged-out",
    ),
    path("help/", help_page, name="help"),
    # Limited, and the email is queued, so the answer never tells a registered address.
    path("accounts/password_reset/", PasswordResetView.as_view(), name="password_reset"),
    # A wrong current password counts toward the login's lockout (suppliers/auth_views.py).
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("orders/", include("orders.urls")),
    path("", include("suppliers.urls")),
    path("", include("delivery.urls")),
]
