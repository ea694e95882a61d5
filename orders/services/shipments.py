"""Shipping units of an order: a parcel with carrier and tracking; an order may ship in parts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

from ..documents import shipment_json
from ..inputs import InputError, time_in_range
from ..models import Order, OrderEventType, Shipment, ShipmentLine
from ..transactions import transaction_now
from .changes import (
    LineQuantity,
    OrderHold,
    lines_resolve,
    lines_shape_check,
    order_change_atomic,
    order_change_record,
    order_held,
    record_lines,
    text_clean,
)
from .records import record_write
from .sources import UpdateSource

# A shipment may be recorded after the fact, not ahead of it (clocks differ a little).
FUTURE_TOLERANCE = timedelta(minutes=5)


def _shipment_input(*, carrier, tracking_number, shipped_at, carrier_required: bool):
    errors: dict[str, list[str]] = {}
    values = {}
    for field, value in (("carrier", carrier), ("tracking_number", tracking_number)):
        try:
            values[field] = text_clean(value, field=field, max_length=100)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if carrier_required and "carrier" not in errors and not values["carrier"]:
        errors["carrier"] = ["Name the carrier."]
    if shipped_at is not None:
        if not isinstance(shipped_at, datetime) or shipped_at.tzinfo is None:
            errors["shipped_at"] = ["Give a date-time with a UTC offset."]
        else:
            try:
                shipped_at = time_in_range(shipped_at)
            except InputError as exc:
                errors["shipped_at"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return values["carrier"], values["tracking_number"], shipped_at


@order_change_atomic
def order_shipment_create(
    *,
    order: Order,
    actor: str,
    actor_user=None,
    carrier: str,
    tracking_number: str = "",
    lines: Sequence[LineQuantity] | None = None,
    shipped_at: datetime | None = None,
    expected_version: int | None = None,
    source: UpdateSource | None = None,
    hold: OrderHold | None = None,
    note: str = "",
    _carrier_required: bool = True,
) -> Shipment:
    """Ship `lines` (None: every open unit) as one Shipment, with `order.shipment_created`
    (carrying `note`, the portal's status edit's: the order's timeline shows it).

    `hold`: the caller's (an update file's order), whose order row and events the caller
    writes (changes.py).

    `_carrier_required=False` is the portal's status edit, which has always allowed a
    shipment without a carrier.
    """
    carrier, tracking_number, shipped_at = _shipment_input(
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=shipped_at,
        carrier_required=_carrier_required,
    )
    lines_shape_check(lines)
    with order_held(order=order, hold=hold, expected_version=expected_version) as held:
        locked, order_lines = held.order, held.lines
        pairs = lines_resolve(order=locked, lines=order_lines, wanted=lines, verb="ship")
        now = transaction_now()
        if shipped_at is None:
            shipped_at = now
        elif shipped_at > now + FUTURE_TOLERANCE:
            raise ValidationError({"shipped_at": ["A shipment cannot be in the future."]})
        shipment = record_write(
            hold=held,
            record=Shipment(
                order=locked,
                carrier=carrier,
                tracking_number=tracking_number,
                shipped_at=shipped_at,
                actor=actor,
                actor_user=actor_user,
                created_at=now,
            ),
            line_model=ShipmentLine,
            fk="shipment",
            pairs=pairs,
            field="quantity_shipped",
        )
        shown = record_lines(pairs)
        held.records["shipments"].append(
            shipment_json(
                carrier=carrier,
                tracking_number=tracking_number,
                shipped_at=shipped_at,
                lines=shown,
            )
        )
        locked.shipment_carrier, locked.shipment_tracking_number, locked.shipped_at = (
            carrier,
            tracking_number,
            shipped_at,
        )
        order_change_record(
            hold=held,
            now=now,
            fields=["shipment_carrier", "shipment_tracking_number", "shipped_at"],
            event_type=OrderEventType.SHIPMENT_CREATED,
            actor=actor,
            actor_user=actor_user,
            source=source,
            note=note,
            data={
                "carrier": carrier,
                "tracking_number": tracking_number,
                "shipment": shipment.pk,
                "lines": shown,
            },
        )
    shipment.order = locked
    return shipment
