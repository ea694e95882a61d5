"""The order document of contract.md: one shape for the API, webhooks and JSON files.

A plain function, not a serializer class, because it runs for every order in every API page
and webhook; the OpenAPI description of the same shape lives in `orders/api/schema.py`.
Callers load orders with `orders_with_document_relations()`.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from django.db.models import QuerySet

from .models import Order, OrderStatus


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def orders_with_document_relations(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("supplier", "retailer").prefetch_related("lines")


def order_document(order: Order) -> dict:
    return {
        "number": order.number,
        "status": order.status,
        "supplier": order.supplier.slug,
        "retailer": {
            "slug": order.retailer.slug,
            "name": order.retailer.name,
            "reference": order.retailer_reference,
        },
        "placed_at": iso(order.placed_at),
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "customer": {
            "name": order.customer_name,
            "email": order.customer_email,
            "phone": order.customer_phone,
        },
        "shipping_address": {
            "name": order.ship_name,
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "region": order.ship_region,
            "postcode": order.ship_postcode,
            "country": order.ship_country,
        },
        "lines": [
            {
                "line": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": f"{line.unit_price:.2f}",
                "line_total": f"{line.line_total:.2f}",
            }
            for line in order.lines.all()
        ],
        "currency": order.currency,
        "total": f"{order.total:.2f}",
        "cancellation": (
            {
                "reason": order.cancellation_reason,
                "note": order.cancellation_note,
                "cancelled_at": iso(order.cancelled_at),
            }
            if order.status == OrderStatus.CANCELLED
            else None
        ),
        "shipment": (
            {
                "carrier": order.shipment_carrier,
                "tracking_number": order.shipment_tracking_number,
                "shipped_at": iso(order.shipped_at),
            }
            if order.shipped_at is not None
            else None
        ),
    }
