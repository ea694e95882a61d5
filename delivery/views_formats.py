"""Portal: the file formats this supplier may use, each previewed for a sample or a real order.

Thin: the formats come from `delivery.formats.lookup`, the preview from
`delivery.formats.preview`; a real order is looked up among the supplier's own only (another
supplier's number reads as not found).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common.text import text_problem
from suppliers.views import supplier_required

from .formats import format_choices
from .formats.lookup import formats_kept
from .formats.preview import format_preview, preview_order
from .models import Channel
from .selectors import destinations_for_supplier


@supplier_required
@require_GET
def formats_page(request):
    choices = format_choices(request.supplier)
    names = [name for name, _ in choices]
    name = request.GET.get("format") or (names[0] if names else "csv")
    number = (request.GET.get("order") or "").strip()
    status = 200
    # Before any lookup (the database refuses a query holding a NUL): the page with the
    # parameter's name and the reason, its value dropped.
    for parameter, value in (("format", name), ("order", number)):
        problem = text_problem(value)
        if problem:
            messages.error(request, f"{parameter}: {problem}")
            status = 400
    if status == 400:
        name, number = (names[0] if names else "csv"), ""
    destinations = destinations_for_supplier(supplier=request.supplier)
    sftp = destinations.get(Channel.SFTP)
    email = destinations.get(Channel.EMAIL)
    order = preview_order(number, supplier=request.supplier) if number else None
    missing = bool(number) and order is None
    if status == 400:
        preview = None
    elif name not in names or missing:
        status = 404
        preview = None
    else:
        preview = format_preview(name, order=order, destination=sftp)
    context = {
        "nav": "settings",
        "choices": choices,
        "chosen": name,
        "number": number,
        "preview": preview,
        "unknown_format": name not in names,
        "missing": missing,
        "sftp": sftp,
        "email": email,
        "kept": formats_kept(request.supplier),
    }
    return render(request, "delivery/formats.html", context, status=status)
