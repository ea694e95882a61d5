"""ORDER HISTORY's CSV export: the filtered list, streamed in keyset chunks, whatever its size."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from itertools import chain, islice

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from common.csv import csv_cell_neutralise
from common.labels import label
from suppliers.views import supplier_required

from .forms import OrderFilterForm
from .selectors import order_history_export_rows


class _Echo:
    def write(self, value: str) -> str:
        return value


EXPORT_COLUMNS = [
    "order_number",
    "placed_at",
    "created_at",
    "status",
    "retailer",
    "retailer_reference",
    "customer_name",
    "customer_email",
    "customer_phone",
    "ship_city",
    "ship_postcode",
    "ship_country",
    "items",
    "total",
    "currency",
    "cancellation_reason",
    "shipment_carrier",
    "shipment_tracking_number",
    # Line state (issue 12), after the columns exports had before.
    "items_cancelled",
    "items_shipped",
    "items_open",
    "lines",
    # The codes in words (common/labels.py), after every column exports had before (issue 16).
    "status_label",
    "cancellation_reason_label",
]


def _line_states(lines) -> tuple[int, int, str]:
    """Units cancelled and shipped over the lines, and each line's state as one cell:
    `#1 ACME-001: 2 ordered, 1 cancelled, 1 shipped; #2 ...`."""
    cancelled = shipped = 0
    parts = []
    for line in lines:
        cancelled += line.quantity_cancelled
        shipped += line.quantity_shipped
        parts.append(
            f"#{line.line_no} {line.sku}: {line.quantity} ordered, "
            f"{line.quantity_cancelled} cancelled, {line.quantity_shipped} shipped"
        )
    return cancelled, shipped, "; ".join(parts)


def _export_lines(orders: Iterable) -> Iterable[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for o in orders:
        cancelled, shipped, lines = _line_states(o.lines.all())
        yield writer.writerow(
            [
                csv_cell_neutralise(v)
                for v in (
                    o.number,
                    o.placed_at.isoformat(),
                    o.created_at.isoformat(),
                    o.status,
                    o.retailer.slug,
                    o.retailer_reference,
                    o.customer_name,
                    o.customer_email,
                    o.customer_phone,
                    o.ship_city,
                    o.ship_postcode,
                    o.ship_country,
                    o.item_count,
                    o.total,
                    o.currency,
                    o.cancellation_reason,
                    o.shipment_carrier,
                    o.shipment_tracking_number,
                    cancelled,
                    shipped,
                    o.item_count - cancelled - shipped,
                    lines,
                    label("order_status", o.status),
                    label("cancellation_reason", o.cancellation_reason),
                )
            ]
        )


@supplier_required
@require_GET
@never_cache
def order_export(request):
    """The filtered ORDER HISTORY as CSV, streamed in keyset chunks, whatever its size."""
    form = OrderFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # Everything is checked before the first byte: a stream cannot report an error, and
        # an export must never be a silently unfiltered (or cut-off) file.
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponseBadRequest(
            f"Nothing exported: {problems}", content_type="text/plain; charset=utf-8"
        )
    rows = iter(order_history_export_rows(supplier=request.supplier, filters=form.filters()))
    # The first chunk is read here, so a failing query is an error page, not a cut-off file.
    first = list(islice(rows, 1))
    response = StreamingHttpResponse(
        _export_lines(chain(first, rows)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = (
        f'attachment; filename="orders-{request.supplier.slug}-{stamp}.csv"'
    )
    return response
