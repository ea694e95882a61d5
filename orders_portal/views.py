"""Project-level views: health, the help page (it reads several apps), the admin's password
change."""

from django.contrib import admin
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from orders.models import CancellationReason
from orders.updates import COLUMN_HELP, COLUMNS
from suppliers.auth_views import PasswordChangeView

from .celery import app as celery_app


class HealthzMiddleware:
    """/healthz answered before anything reads the Host header (CommonMiddleware does, and
    refuses a host not in ALLOWED_HOSTS): the container's and a load balancer's probes ask
    http://127.0.0.1:8000/healthz or the server's IP, which production's ALLOWED_HOSTS (the
    site's own name) does not list. The answer holds no data but which service is down."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)


def healthz(request):
    """200 when the database and the broker both answer (and, in production, the static files
    are collected), else 503 naming the one that did not."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"error: {exc.__class__.__name__}"
    # Only the manifest storage (DEBUG false, orders_portal/staticfiles.py) has one to miss.
    manifest_missing = getattr(staticfiles_storage, "manifest_missing", None)
    if manifest_missing is not None:
        checks["static"] = (
            "error: not collected at start (run manage.py collectstatic, then restart)"
            if manifest_missing()
            else "ok"
        )
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503
    )


def help_page(request):
    """/help/: how orders reach a supplier, how to cancel, the update file, the API docs.

    Open to anyone (a supplier who cannot log in may read it too); the menu links to it.
    The picture of the edit page is made by the browser test (`make screenshots`).
    """
    return render(
        request,
        "portal/help.html",
        {
            "nav": "help",
            "columns": [(name, COLUMN_HELP.get(name, "")) for name in COLUMNS],
            "reasons": CancellationReason.choices,
        },
    )


@admin.site.admin_view
def admin_password_change(request):
    """The admin's own password change (AdminSite.password_change, same form, page and
    success URL), but through the portal's view: a wrong current password counts toward the
    lockout there as on /accounts/password_change/, so a staff session cannot try passwords
    without limit either."""
    site = admin.site
    request.current_app = site.name
    return PasswordChangeView.as_view(
        form_class=AdminPasswordChangeForm,
        success_url=reverse("admin:password_change_done", current_app=site.name),
        extra_context=site.each_context(request),
    )(request)
