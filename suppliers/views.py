"""Portal pages about the supplier itself (API tokens), and the membership guard every portal
page uses: a user sees only their own supplier's data, a user without one sees nothing."""

from __future__ import annotations

import secrets
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from common.text import text_problem

from .models import ApiToken
from .selectors import api_tokens_for_supplier, supplier_for_user
from .services import ApiTokenAlreadyCreated, api_token_create, api_token_revoke


def supplier_required(view):
    """Log in, then resolve `request.supplier` from the membership; no membership is a 403.

    Every such page is one supplier's (its customers' names and addresses, its settings):
    no cache may keep it, the browser's included, after a logout (never_cache: private,
    no-store). Before, ORDER HISTORY and an order's page sent no Cache-Control at all.
    """

    @never_cache
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        supplier = supplier_for_user(user=request.user)
        if supplier is None or not supplier.is_active:
            raise PermissionDenied("Your login is not linked to a supplier.")
        request.supplier = supplier
        return view(request, *args, **kwargs)

    return wrapped


def _token_for_supplier(*, supplier, token_id) -> ApiToken:
    token = ApiToken.objects.filter(supplier=supplier, pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    return token


@supplier_required
@require_http_methods(["GET", "POST"])
@never_cache  # the page holds a new token's secret once; no cache may keep it
def api_tokens(request):
    """List the tokens; POST creates one and shows its value this once."""
    created_plain = None
    name = ""
    error = ""
    can_update = False
    status = 200
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()
        can_update = request.POST.get("can_update") == "on"
        problem = text_problem(name)
        if problem:
            # Not echoed back: the field is shown empty, with the reason.
            name, error = "", f"Name: {problem}"
        elif not name:
            error = "Give the token a name, e.g. the system that will use it."
        elif len(name) > 100:
            error = "Keep the name to 100 characters or fewer."
        else:
            try:
                _, created_plain = api_token_create(
                    supplier=request.supplier,
                    name=name,
                    can_update=can_update,
                    form_key=request.POST.get("form_key") or "",
                )
            except ApiTokenAlreadyCreated as exc:
                # The page that showed a new token, reloaded: its form came again.
                made = exc.token
                status = 409
                messages.info(
                    request,
                    f"Nothing new was made: this form had already made the token "
                    f"“{made.name}” ({made.prefix}…). Its value was shown once; if you did "
                    "not copy it, revoke it and make a new one.",
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            name, can_update = ("", False) if not error else (name, can_update)
    response = render(
        request,
        "suppliers/api_tokens.html",
        {
            "nav": "tokens",
            # Active ones first on every database (PostgreSQL sorts NULLs last).
            "tokens": api_tokens_for_supplier(supplier=request.supplier).order_by(
                F("revoked_at").asc(nulls_first=True), "-created_at"
            ),
            "created_plain": created_plain,
            "name": name,
            # Kept on a refusal: a token fixed and sent again must not quietly lose its scope.
            "can_update": can_update,
            "error": error,
            # One key per form shown: sent again (a reload), it makes nothing new.
            "form_key": secrets.token_urlsafe(24),
        },
        status=400 if error else status,
    )
    return response


@supplier_required
@require_POST
def api_token_revoke_view(request, token_id: int):
    token = _token_for_supplier(supplier=request.supplier, token_id=token_id)
    api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name or token.prefix}” revoked; it no longer works.")
    return redirect("suppliers:api-tokens")
