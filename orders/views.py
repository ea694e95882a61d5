"""Portal pages for orders: ORDER HISTORY, the order page and its edit form (the CSV export:
views_export.py).

Views parse input, call one selector or service, and render. `orders` never imports
`delivery`: the delivery app's read functions are plugged in at start (delivery/readers.py)
through `delivery_readers_register`, and the pages show no delivery data without them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.labels import label, when_day, when_text
from suppliers.views import supplier_required

from .documents import acknowledge_by
from .forms import OrderEditForm, OrderFilterForm
from .fulfilment_forms import OrderAcknowledgeForm
from .models import OrderStatus
from .numbers import ORDER_NUMBER_PREFIX
from .selectors import (
    PORTAL_PAGE_SIZE,
    order_history_count,
    order_history_dashboard,
    order_history_loosen,
    order_history_marks,
    order_history_page,
    order_is_overdue,
    order_portal_detail,
    order_portal_get,
)
from .services import OrderChangedError, order_acknowledge, order_set_status, source_portal

# --- Delivery readers (plugged in by delivery/readers.py) ---------------------------------


@dataclass
class DeliveryReaders:
    # [order_id] -> {order_id: state label}
    states_for_orders: Callable[[list[int]], dict[int, str]] | None = None
    # order -> deliveries, each with `.attempts.all()` prefetched
    for_order: Callable | None = None
    # supplier -> number of failing deliveries
    failing_count: Callable | None = None


delivery_readers = DeliveryReaders()

# The purpose delivery gives the retailer's cancellation email (delivery.models.DeliveryPurpose).
RETAILER_CANCELLATION_PURPOSE = "retailer_cancellation"


def delivery_readers_register(
    *,
    states_for_orders: Callable[[list[int]], dict[int, str]],
    for_order: Callable,
    failing_count: Callable,
) -> None:
    delivery_readers.states_for_orders = states_for_orders
    delivery_readers.for_order = for_order
    delivery_readers.failing_count = failing_count


# --- ORDER HISTORY ------------------------------------------------------------------------


def _page_size(request) -> int:
    try:
        return int(request.GET.get("size", PORTAL_PAGE_SIZE))
    except ValueError:
        return PORTAL_PAGE_SIZE


def _query(params: dict) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


@supplier_required
@require_GET
def order_history(request):
    form = OrderFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    filters = form.filters()
    page = order_history_page(
        supplier=request.supplier,
        filters=filters,
        before=request.GET.get("before", ""),
        after=request.GET.get("after", ""),
        page_size=_page_size(request),
    )
    states = {}
    if delivery_readers.states_for_orders and page.orders:
        states = delivery_readers.states_for_orders([o.pk for o in page.orders])
    rows = _history_rows(page.orders, states, order_history_marks(orders=page.orders))

    dashboard = order_history_dashboard(supplier=request.supplier)
    failing = (
        delivery_readers.failing_count(request.supplier) if delivery_readers.failing_count else 0
    )
    filter_params = {
        "q": filters.q,
        "status": filters.status,
        "placed_from": filters.placed_from.isoformat() if filters.placed_from else "",
        "placed_to": filters.placed_to.isoformat() if filters.placed_to else "",
        "overdue": "on" if filters.overdue else "",
    }
    if request.GET.get("size"):
        filter_params["size"] = str(_page_size(request))
    count = order_history_count(supplier=request.supplier, filters=filters)
    loosen = []
    if not page.orders and filters.active:
        loosen = [
            {
                "label": _FILTER_WORDS[name],
                "url": _query({k: v for k, v in filter_params.items() if k != name}),
            }
            for name in order_history_loosen(supplier=request.supplier, filters=filters)
        ]
    return render(
        request,
        "orders/history.html",
        {
            "nav": "orders",
            "form": form,
            "filters": filters,
            "page": page,
            "rows": rows,
            "count": count,
            # The page's rows are in the order they came in; say the span of their placing.
            "shown_newest": max((o.placed_at for o in page.orders), default=None),
            "shown_oldest": min((o.placed_at for o in page.orders), default=None),
            "active_filters": _active_filter_words(filters),
            "loosen": loosen,
            "today": timezone.localdate(),
            "dashboard": dashboard,
            "failing_deliveries": failing,
            "newer_url": _query({**filter_params, "after": page.newer_cursor})
            if page.newer_cursor
            else None,
            "older_url": _query({**filter_params, "before": page.older_cursor})
            if page.older_cursor
            else None,
            "first_url": _query(filter_params),
            "export_url": reverse("orders:export") + _query(filter_params),
            "today_url": _query({"placed_from": timezone.localdate().isoformat()}),
            "placed_url": _query({"status": OrderStatus.PLACED}),
            "overdue_url": _query({"overdue": "on"}),
        },
    )


# The filters in words, for "3 filters on" and "loosen the status filter".
_FILTER_WORDS = {
    "q": "the search",
    "status": "the status",
    "placed_from": "“Placed from”",
    "placed_to": "“Placed to”",
    "overdue": "“Overdue only”",
}


def _active_filter_words(filters) -> list[str]:
    words = []
    if filters.q:
        words.append(f"search “{filters.q}”")
    if filters.status:
        words.append(f"status {label('order_status', filters.status)}")
    if filters.placed_from:
        words.append(f"placed from {when_day(filters.placed_from)}")
    if filters.placed_to:
        words.append(f"placed to {when_day(filters.placed_to)}")
    if filters.overdue:
        words.append("overdue only")
    return words


# ORDER HISTORY's table body, built here with every value escaped (html.escape, quotes too)
# rather than in the template: 50 rows x 14 values through the template engine cost more
# than the page's SQL (bench/portal.py).
_ROW_HTML = (
    '<tr><td data-label="Order"><a href="{url}">{number}</a>'
    '<div class="muted small">{reference}</div></td>'
    '<td data-label="Placed"><time datetime="{placed_iso}">{placed}</time></td>'
    '<td data-label="Retailer">{retailer}</td>'
    '<td data-label="Customer">{customer}<div class="muted small">{email}</div></td>'
    '<td data-label="Items" class="num">{items}</td>'
    '<td data-label="Total" class="num">{total}</td>'
    '<td data-label="Status"><span class="badge status-{status}">{status_label}</span>'
    "{marks}{overdue}</td>"
    '<td data-label="Delivery">{delivery}</td></tr>\n'
)
# Past its acknowledgement deadline (ORDER_ACKNOWLEDGE_HOURS) and not acknowledged.
_OVERDUE_BADGE = ' <span class="badge overdue" title="Not acknowledged in time">Overdue</span>'
_NO_DELIVERY = '<span class="muted">—</span>'


def _marks_html(marks: list[str]) -> str:
    return "".join(
        f' <span class="badge mark mark-{html.escape(m.replace(" ", "-"))}">{html.escape(m)}</span>'
        for m in marks
    )


def _history_rows(orders, states: dict[int, str], marks: dict[int, list[str]]) -> str:
    """The table's rows as one escaped HTML string."""
    e = html.escape
    sample = f"{ORDER_NUMBER_PREFIX}1"
    detail_prefix = reverse("orders:detail", args=[sample]).removesuffix(f"{sample}/")
    tz = timezone.get_current_timezone()
    now = timezone.now()
    parts = []
    for o in orders:
        placed = o.placed_at.astimezone(tz)
        state = states.get(o.pk, "")
        parts.append(
            _ROW_HTML.format(
                url=e(f"{detail_prefix}{o.number}/"),
                number=e(o.number),
                reference=e(o.retailer_reference),
                # HTML's datetime allows at most 3 digits of a second: none here.
                placed_iso=placed.isoformat(timespec="seconds"),
                placed=when_text(placed),
                retailer=e(o.retailer_name),
                customer=e(o.customer_name),
                email=e(o.customer_email),
                items=o.item_count,
                total=f"{o.total} {e(o.currency)}",
                status=e(o.status),
                status_label=e(label("order_status", o.status)),
                marks=_marks_html(marks[o.pk]) if o.pk in marks else "",
                overdue=_OVERDUE_BADGE if order_is_overdue(o, now=now) else "",
                delivery=(
                    f'<span class="badge dstate-{e(state.lower().replace(" ", "-"))}">'
                    f"{e(label('delivery_state', state))}</span>"
                    if state
                    else _NO_DELIVERY
                ),
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


# --- Order page and edit ------------------------------------------------------------------


@supplier_required
@require_GET
def order_detail(request, number: str):
    return _order_page(request, number)


def _order_page(request, number: str, *, refused=None, status: int = 200):
    """The order as it now is; `refused`: an Acknowledge form refused (shown above it)."""
    order = order_portal_detail(supplier=request.supplier, number=number)
    if order is None:
        raise Http404("No such order.")
    deliveries = list(delivery_readers.for_order(order)) if delivery_readers.for_order else []
    # The retailer's email about the latest cancellation: the banner says queued or sent.
    notices = [d for d in deliveries if d.purpose == RETAILER_CANCELLATION_PURPOSE]
    return render(
        request,
        "orders/detail.html",
        {
            "nav": "orders",
            "order": order,
            "deliveries": deliveries,
            "retailer_notice": notices[-1] if notices else None,
            "acknowledge_by": acknowledge_by(order),
            "overdue": order_is_overdue(order, now=timezone.now()),
            # The button carries the version shown here; a refused one is not reused.
            "acknowledge_form": OrderAcknowledgeForm(order=order),
            "refused": refused,
        },
        status=status,
    )


@supplier_required
@require_POST
def order_acknowledge_view(request, number: str):
    """The order page's Acknowledge button: the supplier has the order (issue 13).

    It carries the order's version, as Cancel items and Ship do: a button on a page opened
    before the order changed is refused with 409 and the order page as it now is (an order
    already acknowledged is no refusal: acknowledging again changes nothing)."""
    order = order_portal_get(supplier=request.supplier, number=number)
    if order is None:
        raise Http404("No such order.")
    form = OrderAcknowledgeForm(request.POST, order=order)
    if not form.is_valid():
        return _order_page(request, order.number, refused=form, status=400)
    source = source_portal(request.user)
    try:
        _, changed = order_acknowledge(
            order=order,
            actor=source.actor,
            actor_user=request.user,
            channel=source,
            expected_version=form.cleaned_data["version"],
        )
    except OrderChangedError as exc:
        form.add_stale_error(exc)
        return _order_page(request, order.number, refused=form, status=409)
    except ValidationError as exc:
        # The order's state refuses it (a final order never acknowledged): the order page as
        # it is, with the error, answered 409 (it was a redirect, as a success is).
        messages.error(request, " ".join(exc.messages))
        return _order_page(request, order.number, refused=form, status=409)
    else:
        if changed:
            messages.success(request, f"Order {order.number} acknowledged.")
        else:
            messages.info(request, f"Order {order.number} was already acknowledged.")
    return redirect("orders:detail", number=order.number)


@supplier_required
@require_http_methods(["GET", "POST"])
def order_edit(request, number: str):
    order = order_portal_get(supplier=request.supplier, number=number)
    if order is None:
        raise Http404("No such order.")
    if request.method == "POST":
        form = OrderEditForm(request.POST, order=order)
        if form.is_valid():
            data = form.cleaned_data
            try:
                updated = order_set_status(
                    order=order,
                    status=data["status"],
                    actor=f"user:{request.user.get_username()}",
                    user=request.user,
                    note=data["note"],
                    reason=data["reason"],
                    carrier=data["carrier"],
                    tracking_number=data["tracking_number"],
                    expected_version=data["version"],
                )
            except OrderChangedError as exc:
                form.add_stale_error(exc)
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict)
            else:
                messages.success(request, _updated_message(updated, asked=data["status"]))
                return redirect("orders:detail", number=updated.number)
        status = 400
        if form.stale:
            # Shown again on the order as it now is, carrying its version: sent again from
            # this page, the change applies to what the page shows.
            status = 409
            order = order_portal_get(supplier=request.supplier, number=number)
            if order is None:
                raise Http404("No such order.")
            form = form.stale_again(order=order)
    else:
        form = OrderEditForm(order=order)
        status = 200
    return render(
        request, "orders/edit.html", {"nav": "orders", "order": order, "form": form}, status=status
    )


def _updated_message(order, *, asked: str) -> str:
    if asked == OrderStatus.CANCELLED and order.status != OrderStatus.CANCELLED:
        # Some units had shipped already: the open ones are cancelled, the order is shipped.
        return (
            f"The open items of order {order.number} are cancelled; what had shipped stays "
            f"shipped, so the order is now {order.get_status_display().lower()}. "
            + retailer_email_queued(order)
        )
    if order.status == OrderStatus.CANCELLED:
        return f"Order {order.number} is cancelled. " + retailer_email_queued(order)
    if order.status == OrderStatus.SHIPPED:
        return f"Order {order.number} is marked shipped."
    return f"Order {order.number} is now {order.get_status_display().lower()}."


def retailer_email_queued(order) -> str:
    """What a cancellation's message says of the retailer's email: queued now; the order
    page's banner then says whether it has gone (delivery state, not a promise)."""
    return (
        f"An email to the retailer, {order.retailer.name}, at {order.retailer.email} is "
        "queued; the order page shows when it has gone."
    )
