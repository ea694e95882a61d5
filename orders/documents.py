"""The order document of docs/interface.md: one shape for the API, webhooks and JSON files.

A plain function, not a serializer class, because it runs for every order in every API page
and webhook; the OpenAPI description of the same shape lives in `orders/api/schema.py`.
Callers load orders with `orders_with_document_relations()`.

The supplier API serves pages of stored text rather than building documents per request:
each order keeps the JSON of its own part of the document (`Order.document_tail`, from
"placed_at" on), written by the order services in the same transaction as every change and
stamped with the `version` it was built at. A page joins the other entities' part (supplier
slug, retailer slug and name, which can be renamed) in front of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from json.encoder import encode_basestring

import orjson
from django.conf import settings
from django.db.models import QuerySet

from .models import Order, OrderStatus


def acknowledge_by(order) -> datetime:
    """When the supplier should have acknowledged the order: its `acknowledge_by`, set when it
    arrived (placed_at + ORDER_ACKNOWLEDGE_HOURS as it was then)."""
    deadline = getattr(order, "acknowledge_by", None)
    if deadline is None:  # migrations 0007 and 0009 build documents from models without it
        return order.placed_at + timedelta(hours=settings.ORDER_ACKNOWLEDGE_HOURS)
    return deadline


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


# The document's relations beyond the order row; a document reads only these.
DOCUMENT_PREFETCH = ("lines", "cancellations__lines", "shipments__lines")


def orders_with_document_relations(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("supplier", "retailer").prefetch_related(*DOCUMENT_PREFETCH)


def _record_lines(record, line_nos: dict[int, int]) -> list[dict]:
    return [
        {"line": line_nos[item.line_id], "quantity": item.quantity}
        for item in sorted(record.lines.all(), key=lambda item: line_nos[item.line_id])
    ]


def cancellation_json(*, reason: str, note: str, created_at, lines: list[dict]) -> dict:
    """One entry of the document's "cancellations" (`lines` as [{"line", "quantity"}])."""
    return {"reason": reason, "note": note, "cancelled_at": iso(created_at), "lines": lines}


def shipment_json(*, carrier: str, tracking_number: str, shipped_at, lines: list[dict]) -> dict:
    """One entry of the document's "shipments"."""
    return {
        "carrier": carrier,
        "tracking_number": tracking_number,
        "shipped_at": iso(shipped_at),
        "lines": lines,
    }


def _document_tail(
    order, lines: Iterable, cancellations: Iterable, shipments: Iterable, records=None
) -> dict:
    """The order's own part of the document, from "placed_at" on: what its writers change.

    `cancellations` and `shipments` in the order they were made, each with its `lines`
    (CancellationLine/ShipmentLine rows) loaded; or `records`, both lists as the document
    shows them already ({"cancellations": [...], "shipments": [...]}: the order services
    keep them from the stored text and add what they made, instead of reading them again).
    """
    lines = list(lines)
    line_nos = {line.pk: line.line_no for line in lines}
    if records is None:
        records = {
            "cancellations": [
                cancellation_json(
                    reason=cancellation.reason,
                    note=cancellation.note,
                    created_at=cancellation.created_at,
                    lines=_record_lines(cancellation, line_nos),
                )
                for cancellation in cancellations
            ],
            "shipments": [
                shipment_json(
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    shipped_at=shipment.shipped_at,
                    lines=_record_lines(shipment, line_nos),
                )
                for shipment in shipments
            ],
        }
    return {
        "placed_at": iso(order.placed_at),
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        # getattr: migration 0007 builds documents from a model without the field.
        "acknowledged_at": iso(getattr(order, "acknowledged_at", None)),
        "acknowledge_by": iso(acknowledge_by(order)),
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
                "quantity_cancelled": line.quantity_cancelled,
                "quantity_shipped": line.quantity_shipped,
            }
            for line in lines
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
        # The latest shipment, which the ship service keeps on the order row.
        "shipment": (
            {
                "carrier": order.shipment_carrier,
                "tracking_number": order.shipment_tracking_number,
                "shipped_at": iso(order.shipped_at),
            }
            if order.shipped_at is not None
            else None
        ),
        "cancellations": records["cancellations"],
        "shipments": records["shipments"],
    }


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
        **_document_tail(
            order, order.lines.all(), order.cancellations.all(), order.shipments.all()
        ),
    }


# --- Stored document text ------------------------------------------------------------------


# Times and dataclasses, which json.dumps refuses, are refused by orjson too (not written).
_ORJSON_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_text(value) -> str:
    """JSON exactly as the API's renderer writes it (DRF's JSONRenderer: compact, UTF-8,
    U+2028/U+2029 escaped for JavaScript).

    A document holds text, integers, None, lists and objects keyed by text (amounts and
    times are text; no floats): for those orjson writes the same bytes as json.dumps, ten
    times faster.
    Anything orjson refuses (a lone surrogate, an integer past 64 bits, a time, a key that
    is not text) goes to json.dumps, which answers as it always did.
    """
    try:
        text = orjson.dumps(value, option=_ORJSON_PLAIN).decode()
    except TypeError:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def order_document_tail_text(
    order, *, lines: Iterable, cancellations: Iterable = (), shipments: Iterable = ()
) -> str:
    """`_document_tail` as JSON text without its opening brace (it follows the head)."""
    return json_text(_document_tail(order, lines, cancellations, shipments))[1:]


def order_document_store(
    *, order: Order, lines: Iterable | None = None, records: dict | None = None
) -> list[str]:
    """Set the order's stored document text for its current state; return the fields set.

    Every order writer calls this in the same transaction as its change, after the change
    (and after the `version` bump). `lines` saves a query when the caller holds them, and
    `records` (every cancellation and shipment as the document shows them) four more. An
    order not saved yet (intake) has no cancellations or shipments.
    """
    if records is not None:
        order.document_tail = json_text(
            _document_tail(order, order.lines.all() if lines is None else lines, (), (), records)
        )[1:]
        order.document_version = order.version
        return ["document_tail", "document_version"]
    if order.pk is None:
        cancellations, shipments = [], []
    else:
        cancellations = order.cancellations.prefetch_related("lines").order_by("created_at", "id")
        shipments = order.shipments.prefetch_related("lines").order_by("created_at", "id")
    order.document_tail = order_document_tail_text(
        order,
        lines=order.lines.all() if lines is None else lines,
        cancellations=cancellations,
        shipments=shipments,
    )
    order.document_version = order.version
    return ["document_tail", "document_version"]


def document_text_middle(*, supplier_slug: str, retailer_slug: str, retailer_name: str) -> str:
    """The head's part shared by one supplier's orders from one retailer (built once a page).

    Like `document_text`, it leaves U+2028/U+2029 to the response's one pass.
    """
    return (
        f',"supplier":{encode_basestring(supplier_slug)}'
        f',"retailer":{{"slug":{encode_basestring(retailer_slug)}'
        f',"name":{encode_basestring(retailer_name)},"reference":'
    )


def document_text(number: str, status: str, middle: str, reference: str, tail: str) -> str:
    """The whole document's JSON text: its head joined in front of the stored tail.

    Runs 100 times a page, so it leaves U+2028/U+2029 in the head as they are: the response
    escapes them over the whole body (orders/api/views.py `_json_response`).
    """
    return (
        f'{{"number":{encode_basestring(number)},"status":{encode_basestring(status)}'
        f"{middle}{encode_basestring(reference)}}},{tail}"
    )


def stored_document_text(order: Order) -> str:
    """An order's whole document from its stored tail: the text `order_document` renders,
    for an order whose tail was stored in this request (intake's new orders: their
    supplier and retailer loaded, the tail set by `order_document_store`)."""
    middle = document_text_middle(
        supplier_slug=order.supplier.slug,
        retailer_slug=order.retailer.slug,
        retailer_name=order.retailer.name,
    )
    return document_text(
        order.number, order.status, middle, order.retailer_reference, order.document_tail
    )
