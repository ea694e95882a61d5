"""Portal pages for line-level fulfilment: "Cancel items" and "Ship" of one order.

Beside the edit page (whose status "cancelled" still cancels the whole order): each page
parses the quantities per line, calls one service, and redirects to the order page with a
success message. A refusal re-renders the form with its errors, status 400, nothing changed;
a form opened before someone else changed the order (its version) is refused with 409, and
shown again on the order as it now is, carrying its version.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from suppliers.views import supplier_required

from .fulfilment_forms import OrderLinesCancelForm, OrderShipForm
from .selectors import order_portal_with_lines
from .services import OrderChangedError, order_lines_cancel, order_shipment_create
from .views import retailer_email_queued


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


def _units(chosen) -> str:
    parts = [f"{qty} × {line.sku}" for line, qty in chosen]
    return ", ".join(parts)


def _page(request, number: str, *, form_class, template: str, act):
    """GET: the form; POST: parse, `act(order, form)`, redirect with its message."""
    order = order_portal_with_lines(supplier=request.supplier, number=number)
    if order is None:
        raise Http404("No such order.")
    lines = order.lines.all()
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, order=order, lines=lines)
        if form.is_valid():
            try:
                message = act(order, form)
            except OrderChangedError as exc:
                form.add_stale_error(exc)
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict)
            else:
                messages.success(request, message)
                return redirect("orders:detail", number=order.number)
        status = 400
        if form.stale:
            # Shown again on the order as it now is, carrying its version: sent again from
            # this page, the change applies to what the page shows.
            status = 409
            order = order_portal_with_lines(supplier=request.supplier, number=number)
            if order is None:
                raise Http404("No such order.")
            form = form.stale_again(order=order, lines=order.lines.all())
    else:
        form = form_class(order=order, lines=lines)
    return render(request, template, {"nav": "orders", "order": order, "form": form}, status=status)


@supplier_required
@require_http_methods(["GET", "POST"])
def order_cancel_items(request, number: str):
    def act(order, form) -> str:
        data = form.cleaned_data
        cancellation = order_lines_cancel(
            order=order,
            actor=_actor(request),
            actor_user=request.user,
            reason=data["reason"],
            note=data["note"],
            lines=form.line_quantities(),
            expected_version=data["version"],
        )
        updated = cancellation.order
        return (
            f"Cancelled {_units(form.chosen())} of order {updated.number}; it is now "
            f"{updated.get_status_display().lower()}. " + retailer_email_queued(order)
        )

    return _page(
        request, number, form_class=OrderLinesCancelForm, template="orders/cancel_items.html",
        act=act,
    )  # fmt: skip


@supplier_required
@require_http_methods(["GET", "POST"])
def order_ship(request, number: str):
    def act(order, form) -> str:
        data = form.cleaned_data
        updated = order_shipment_create(
            order=order,
            actor=_actor(request),
            actor_user=request.user,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            lines=form.line_quantities(),
            expected_version=data["version"],
        ).order
        return (
            f"Shipped {_units(form.chosen())} of order {updated.number}; "
            f"it is now {updated.get_status_display().lower()}."
        )

    return _page(request, number, form_class=OrderShipForm, template="orders/ship.html", act=act)
