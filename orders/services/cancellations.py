"""Cancelling units of an order: some of some lines, or every open unit (the whole order)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import F

from ..models import (
    Cancellation,
    CancellationLine,
    CancellationReason,
    Order,
    OrderEventType,
    OrderLine,
)
from ..transactions import bounded_atomic, transaction_now
from .changes import (
    LineQuantity,
    lines_resolve,
    lines_shape_check,
    order_change_finish,
    order_lock,
    text_clean,
)
from .events import OrderStateError
from .sources import UpdateSource


def _cancellation_input(*, reason, note) -> str:
    errors: dict[str, list[str]] = {}
    if reason not in CancellationReason.values:
        errors["reason"] = [
            # The codes (what an API call or a file gives) with their words.
            "Choose a cancellation reason: "
            + ", ".join(f"{code} ({words})" for code, words in CancellationReason.choices)
            + "."
        ]
    try:
        note = text_clean(note, field="note")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    else:
        if not note:
            errors["note"] = ["A note is required to cancel an order."]
    if errors:
        raise ValidationError(errors)
    return note


@bounded_atomic()
def order_lines_cancel(
    *,
    order: Order,
    actor: str,
    actor_user=None,
    reason: str,
    note: str,
    lines: Sequence[LineQuantity] | None = None,
    expected_version: int | None = None,
    source: UpdateSource | None = None,
) -> Cancellation:
    """Cancel `lines` (None: every open unit) as one Cancellation, with its event.

    The event is `order.cancelled` when the order ends up cancelled (every unit), else
    `order.lines_cancelled`. The order's row lock serialises cancellations and shipments, and
    the line constraint backs it: two racing cancellations never take more than was open;
    the later one gets OrderStateError.
    """
    note = _cancellation_input(reason=reason, note=note)
    lines_shape_check(lines)
    locked, order_lines = order_lock(order=order, expected_version=expected_version)
    pairs = lines_resolve(order=locked, lines=order_lines, wanted=lines, verb="cancel")
    now = transaction_now()
    try:
        for line, units in pairs:
            OrderLine.objects.filter(pk=line.pk).update(
                quantity_cancelled=F("quantity_cancelled") + units
            )
            line.quantity_cancelled += units
    except IntegrityError:  # the constraint, should a writer ever skip the order lock
        raise OrderStateError({"lines": ["More units than are open; reload and try again."]})
    cancellation = Cancellation.objects.create(
        order=locked, reason=reason, note=note, actor=actor, actor_user=actor_user, created_at=now
    )
    CancellationLine.objects.bulk_create(
        CancellationLine(cancellation=cancellation, line=line, quantity=units)
        for line, units in pairs
    )
    whole = not any(line.quantity - line.quantity_cancelled for line in order_lines)
    fields: list[str] = []
    if whole:
        locked.cancellation_reason, locked.cancellation_note, locked.cancelled_at = (
            reason,
            note,
            now,
        )
        fields += ["cancellation_reason", "cancellation_note", "cancelled_at"]
    order_change_finish(
        order=locked,
        lines=order_lines,
        now=now,
        fields=fields,
        event_type=OrderEventType.CANCELLED if whole else OrderEventType.LINES_CANCELLED,
        actor=actor,
        actor_user=actor_user,
        source=source,
        note=note,
        data={
            "reason": reason,
            "cancellation": cancellation.pk,
            "lines": [{"line": line.line_no, "quantity": units} for line, units in pairs],
        },
    )
    cancellation.order = locked
    return cancellation
