"""The portal's pages of one order: the order page, its edit, cancel-items and ship forms."""

from __future__ import annotations

from django.db.models import Prefetch

from suppliers.models import Supplier

from ..models import Cancellation, CancellationLine, Order, OrderEvent, OrderLine, Shipment


def order_portal_get(*, supplier: Supplier, number: str) -> Order | None:
    """One of the supplier's orders by number, or None (also for another supplier's number)."""
    return Order.objects.filter(supplier=supplier, number=number).select_related("retailer").first()


def order_portal_with_lines(*, supplier: Supplier, number: str) -> Order | None:
    """One of the supplier's orders with its lines (for the cancel-items and ship forms)."""
    return (
        Order.objects.filter(supplier=supplier, number=number)
        .select_related("retailer")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")))
        .first()
    )


def order_portal_detail(*, supplier: Supplier, number: str) -> Order | None:
    """The order with its lines, its cancellations and shipments (each with its lines) and its
    timeline (events with their users), in seven queries whatever their number.

    Each cancellation or shipment line is given its order line from the lines already read,
    so the page names the SKU without a query per line.
    """
    order = (
        Order.objects.filter(supplier=supplier, number=number)
        .select_related("retailer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("line_no")),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.select_related("actor_user").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch(
                "cancellations",
                queryset=Cancellation.objects.select_related("actor_user")
                .order_by("created_at", "id")
                .prefetch_related(
                    Prefetch("lines", queryset=CancellationLine.objects.order_by("line_id"))
                ),
            ),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.select_related("actor_user")
                .order_by("created_at", "id")
                .prefetch_related("lines"),
            ),
        )
        .first()
    )
    if order is None:
        return None
    lines = {line.pk: line for line in order.lines.all()}
    for record in (*order.cancellations.all(), *order.shipments.all()):
        for part in record.lines.all():
            part.line = lines[part.line_id]
    return order
