"""Cancelling units of an order: some of some lines, or every open unit (the whole order)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError

from ..documents import cancellation_json
from ..models import (
    Cancellation,
    CancellationLine,
    CancellationReason,
    Order,
    OrderEventType,
)
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

# The retailer reads the note in an email: one limit whichever channel it came by (the API's
# body and the portal's forms say the same; an update file's cell took any length).
NOTE_MAX_LENGTH = 2000


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
        note = text_clean(note, field="note", max_length=NOTE_MAX_LENGTH)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    else:
        if not note:
            errors["note"] = ["A note is required to cancel an order."]
    if errors:
        raise ValidationError(errors)
    return note


@order_change_atomic
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
    hold: OrderHold | None = None,
) -> Cancellation:
    """Cancel `lines` (None: every open unit) as one Cancellation, with its event.

    The event is `order.cancelled` when the order ends up cancelled (every unit), else
    `order.lines_cancelled`. The order's row lock serialises cancellations and shipments, and
    the line constraint backs it: two racing cancellations never take more than was open;
    the later one gets OrderStateError. `hold`: the caller's (an update file's order), whose
    order row and events the caller writes (changes.py).
    """
    note = _cancellation_input(reason=reason, note=note)
    lines_shape_check(lines)
    with order_held(order=order, hold=hold, expected_version=expected_version) as held:
        locked, order_lines = held.order, held.lines
        pairs = lines_resolve(order=locked, lines=order_lines, wanted=lines, verb="cancel")
        now = transaction_now()
        cancellation = record_write(
            hold=held,
            record=Cancellation(
                order=locked,
                retailer_id=locked.retailer_id,
                reason=reason,
                note=note,
                actor=actor,
                actor_user=actor_user,
                created_at=now,
            ),
            line_model=CancellationLine,
            fk="cancellation",
            pairs=pairs,
            field="quantity_cancelled",
        )
        shown = record_lines(pairs)
        held.records["cancellations"].append(
            cancellation_json(reason=reason, note=note, created_at=now, lines=shown)
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
        order_change_record(
            hold=held,
            now=now,
            fields=fields,
            event_type=OrderEventType.CANCELLED if whole else OrderEventType.LINES_CANCELLED,
            actor=actor,
            actor_user=actor_user,
            source=source,
            note=note,
            data={"reason": reason, "cancellation": cancellation.pk, "lines": shown},
        )
    cancellation.order = locked
    return cancellation
