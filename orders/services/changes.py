"""What the cancel, ship and status services share: lock the order, resolve the lines the
caller named, and finish the change (derived status, commission, version, stored document,
event), all inside the caller's one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from ..commission import order_commission
from ..documents import order_document_store
from ..inputs import text_problem
from ..models import Order, OrderEvent, OrderLine, order_status_derive
from . import events
from .events import OrderChangedError, OrderStateError
from .sources import UpdateSource, source_resolve


@dataclass(frozen=True)
class LineQuantity:
    """`quantity` units of the order's line numbered `line` (OrderLine.line_no)."""

    line: int
    quantity: int


def text_clean(value: Any, *, field: str, max_length: int | None = None) -> str:
    """`value` stripped, or ValidationError naming `field` (not text, a NUL, too long)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: ["Give text."]})
    value = value.strip()
    problem = text_problem(value)
    if problem:
        raise ValidationError({field: [problem]})
    if max_length is not None and len(value) > max_length:
        raise ValidationError({field: [f"Use at most {max_length} characters."]})
    return value


def lines_shape_check(lines: Sequence[LineQuantity] | None) -> None:
    """The caller's list itself (before any lock): LineQuantity items, positive, no repeats."""
    if lines is None:
        return
    if isinstance(lines, str | bytes) or not isinstance(lines, Sequence):
        raise ValidationError({"lines": ["Give a list of lines and quantities."]})
    if not lines:
        raise ValidationError({"lines": ["Choose at least one line and a quantity."]})
    errors: dict[str, list[str]] = {}
    seen: set[int] = set()
    for index, item in enumerate(lines):
        if not isinstance(item, LineQuantity):
            errors[f"lines.{index}"] = ["Give a line number and a quantity."]
            continue
        if isinstance(item.line, bool) or not isinstance(item.line, int):
            errors[f"lines.{index}.line"] = ["Give the line's number."]
        elif item.line in seen:
            errors[f"lines.{index}.line"] = [f"Line {item.line} is listed twice."]
        else:
            seen.add(item.line)
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
            errors[f"lines.{index}.quantity"] = ["Give a whole number of units."]
        elif item.quantity < 1:
            errors[f"lines.{index}.quantity"] = ["Give a quantity of at least 1."]
    if errors:
        raise ValidationError(errors)


def order_lock(*, order: Order, expected_version: int | None) -> tuple[Order, list[OrderLine]]:
    """The order and its lines, locked (order first, as every writer does) and current."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if expected_version is not None and locked.version != expected_version:
        raise OrderChangedError(
            {
                "__all__": [
                    f"Order {locked.number} was changed by someone else since you opened "
                    f"it; it is now {locked.status}. Reload and try again."
                ]
            }
        )
    lines = list(OrderLine.objects.select_for_update().filter(order=locked).order_by("line_no"))
    return locked, lines


def lines_resolve(
    *, order: Order, lines: list[OrderLine], wanted: Sequence[LineQuantity] | None, verb: str
) -> list[tuple[OrderLine, int]]:
    """(line, units) pairs for the request; None means every open unit.

    Raises ValidationError for a line the order does not have, OrderStateError when the
    order has nothing open or a quantity is more than its line has open.
    """
    open_units = sum(line.quantity_open for line in lines)
    if not open_units:
        raise OrderStateError(
            {"lines": [f"Order {order.number} is {order.status}: nothing is left to {verb}."]}
        )
    if wanted is None:
        return [(line, line.quantity_open) for line in lines if line.quantity_open]
    by_no = {line.line_no: line for line in lines}
    unknown: dict[str, list[str]] = {}
    conflicts: dict[str, list[str]] = {}
    pairs: list[tuple[OrderLine, int]] = []
    for index, item in enumerate(wanted):
        line = by_no.get(item.line)
        if line is None:
            unknown[f"lines.{index}.line"] = [f"Order {order.number} has no line {item.line}."]
        elif item.quantity > line.quantity_open:
            conflicts[f"lines.{index}.quantity"] = [
                f"Line {line.line_no} ({line.sku}) has {line.quantity_open} of "
                f"{line.quantity} open; you cannot {verb} {item.quantity}."
            ]
        else:
            pairs.append((line, item.quantity))
    if unknown:
        raise ValidationError(unknown)
    if conflicts:
        raise OrderStateError(conflicts)
    return pairs


def order_change_finish(
    *,
    order: Order,
    lines: list[OrderLine],
    now,
    fields: list[str],
    event_type: str,
    actor: str,
    actor_user,
    note: str,
    data: dict[str, Any],
    source: UpdateSource | None = None,
) -> OrderEvent:
    """Derive the status, keep the commission, bump version/updated_at, rewrite the stored
    document, save, and write the event announced on commit.

    A supplier's update (`source`, or a portal user's) is recorded in the event's
    `data["channel"]`, and the first one acknowledges the order (issue 13).
    """
    source = source_resolve(source=source, actor=actor, actor_user=actor_user)
    if source is not None:
        data = {**data, "channel": source.data()}
        if order.acknowledged_at is None:
            order.acknowledged_at, order.acknowledged_via = now, source.via
            fields = [*fields, "acknowledged_at", "acknowledged_via"]
    before = order.status
    order.status = order_status_derive(order, lines)
    order.commission_amount = order_commission(rate=order.commission_rate, lines=lines)
    order.updated_at = now
    order.version += 1
    fields = [*fields, "status", "commission_amount", "updated_at", "version"]
    fields += order_document_store(order=order, lines=lines)
    order.save(update_fields=fields)
    event = OrderEvent.objects.create(
        order=order,
        type=event_type,
        actor=actor,
        actor_user=actor_user,
        note=note,
        data={"from": before, "to": order.status, **data},
        created_at=now,
    )
    events.announce_on_commit([event.pk])
    return event
