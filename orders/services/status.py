"""The portal's status edit: the seed's path, kept exactly as easy on top of the line services.

"processing" records the supplier's word (Order.processing_set); "cancelled" cancels every
open unit and "shipped" ships every open unit, through the services any other caller uses.
The status itself is always derived (orders.models.order_status_derive).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from ..models import Order, OrderEventType, OrderStatus, order_transition_allowed
from ..transactions import bounded_atomic, transaction_now
from .cancellations import order_lines_cancel
from .changes import order_change_record, order_hold, order_hold_flush, text_clean
from .shipments import order_shipment_create

# What each field belongs to: a value given with another status would be dropped unseen.
_FIELD_STATUS = {
    "reason": (OrderStatus.CANCELLED, "A cancellation reason"),
    "carrier": (OrderStatus.SHIPPED, "A carrier"),
    "tracking_number": (OrderStatus.SHIPPED, "A tracking number"),
}


def _refuse_stray_fields(*, status: str, **values) -> None:
    """Refuse a reason, carrier or tracking number given with a status that does not take it
    (found in review: "processing" with a tracking number typed said "now processing" and
    kept none of it)."""
    errors = {}
    for name, value in values.items():
        wanted, what = _FIELD_STATUS[name]
        given = value is not None and (not isinstance(value, str) or value.strip())
        if given and status != wanted:
            errors[name] = [
                f"{what} goes only with the status “{OrderStatus(wanted).label}”: "
                f"choose that status, or clear it."
            ]
    if errors:
        raise ValidationError(errors)


@bounded_atomic()
def order_set_status(
    *,
    order: Order,
    status: str,
    actor: str,
    user=None,
    note: str = "",
    reason: str = "",
    carrier: str = "",
    tracking_number: str = "",
    expected_version: int | None = None,
) -> Order:
    """Move the order to `status` if the map allows it; record the event; return the order.

    A reason is for "cancelled" only, a carrier and tracking number for "shipped" only; given
    with another status they are refused, not dropped (the note goes with any status)."""
    hold = order_hold(order=order, expected_version=expected_version)
    locked = hold.order
    if status not in OrderStatus.values:
        raise ValidationError({"status": [f"Unknown status '{status}'."]})
    if status == locked.status:
        raise ValidationError({"status": [f"Order {locked.number} is already {status}."]})
    if not order_transition_allowed(current=locked.status, new=status):
        raise ValidationError(
            {"status": [f"Order {locked.number} cannot go from {locked.status} to {status}."]}
        )
    _refuse_stray_fields(
        status=status, reason=reason, carrier=carrier, tracking_number=tracking_number
    )
    if status == OrderStatus.CANCELLED:
        order_lines_cancel(
            order=locked, actor=actor, actor_user=user, reason=reason, note=note, hold=hold
        )
        order_hold_flush(hold)
        return locked
    if status == OrderStatus.SHIPPED:
        order_shipment_create(
            order=locked,
            actor=actor,
            actor_user=user,
            carrier=carrier,
            tracking_number=tracking_number,
            hold=hold,
            note=text_clean(note, field="note"),
            _carrier_required=False,
        )
        order_hold_flush(hold)
        return locked
    note = text_clean(note, field="note")
    locked.processing_set = True
    order_change_record(
        hold=hold,
        now=transaction_now(),
        fields=["processing_set"],
        event_type=OrderEventType.UPDATED,
        actor=actor,
        actor_user=user,
        note=note,
        data={},
    )
    order_hold_flush(hold)
    return locked
