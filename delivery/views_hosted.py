"""Portal: the supplier's logins to our hosted SFTP server (keys, a generated password)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from common.text import text_problem
from suppliers.views import supplier_required

from .hosted.credentials import hosted_key_add, hosted_key_remove, hosted_password_generate
from .views import settings_page_render


@supplier_required
@require_POST
def hosted_key_add_view(request):
    try:
        key = hosted_key_add(
            supplier=request.supplier, public_key=request.POST.get("public_key", "")
        )
    except ValidationError as exc:
        return settings_page_render(
            request,
            status=400,
            hosted_key_errors=exc.message_dict.get("public_key", exc.messages),
            # Given back to edit, without what could not be stored (a NUL).
            hosted_key_value=request.POST.get("public_key", "")[:2000].replace("\x00", ""),
        )
    messages.success(request, f"Key {key.fingerprint} added: it can log in now.")
    return redirect("/settings/#hosted-sftp")


@supplier_required
@require_POST
def hosted_key_remove_view(request):
    fingerprint = request.POST.get("fingerprint", "")
    problem = text_problem(fingerprint)
    if problem:
        # Before the lookup: the database refuses a query holding a NUL.
        return settings_page_render(
            request, status=400, hosted_key_errors=[f"Fingerprint: {problem}"]
        )
    try:
        hosted_key_remove(supplier=request.supplier, fingerprint=fingerprint)
    except ValidationError as exc:
        return settings_page_render(
            request, status=400, hosted_key_errors=exc.message_dict.get("fingerprint")
        )
    messages.success(
        request, "Key removed: it cannot log in any more, and its open sessions are ended."
    )
    return redirect("/settings/#hosted-sftp")


@supplier_required
@require_POST
def hosted_password_view(request):
    password = hosted_password_generate(supplier=request.supplier)
    # Shown once, on this response only (the page is never cached, see settings_page_render).
    return settings_page_render(request, hosted_password=password)
