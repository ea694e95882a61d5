"""What the cancel, ship, acknowledge and status services share: hold the order (its row
lock and its lines), resolve the lines the caller named, record each change (derived status,
version, event) and write them (order row, stored document, events), all inside the caller's
one transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Value, When

from ..commission import order_commission
from ..documents import order_document_store
from ..inputs import text_problem
from ..models import Order, OrderEvent, OrderEventType, OrderLine, order_status_derive
from ..transactions import bounded_atomic
from . import events as events_module
from .events import OrderChangedError, OrderStateError
from .hold_sql import hold_read, hold_write
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


class OrderHold:
    """One order, locked, with the changes made to it in this transaction, written at the end.

    `order_hold` opens it (the order's row lock, then its lines', as every writer does) and
    `order_hold_flush` writes what the changes left in memory: the order row once (derived
    status, commission, version, the stored document built from the records in hand) and
    every change's event in one INSERT, announced on commit. Each change's own rows (the
    lines' quantities, its cancellation or shipment) are written by the change itself, so
    the line constraint still backs the lock. A file's rows for one order share one hold.
    """

    __slots__ = (
        "order",
        "lines",
        "fields",
        "events",
        "records",
        "stored_records",
        "broken",
        "writes",
    )

    def __init__(self, order: Order, lines: list[OrderLine]):
        self.order = order
        self.lines = lines
        self.fields: set[str] = set()
        self.events: list[OrderEvent] = []
        # Records (cancellations, shipments) made in this hold, as the document shows them.
        self.records: dict[str, list[dict]] = {"cancellations": [], "shipments": []}
        # The stored document is of the locked version: its records are current.
        self.stored_records = bool(order.document_tail) and order.document_version == order.version
        # A change failed after writing: the hold no longer matches the database.
        self.broken = False
        # Set by an update file's batch (orders/updates/batch.py): it writes the records the
        # changes make (records.py) for many orders at once, at the end of its transaction.
        self.writes = None

    @property
    def changed(self) -> bool:
        return bool(self.events)


def order_change_atomic(func: Callable) -> Callable:
    """A change service's transaction: `bounded_atomic()`, except with a caller's `hold`.

    With a hold the change runs in the caller's transaction as it is, with no savepoint of
    its own (two round trips a change): a refusal (ValidationError) comes before any write,
    so the caller can answer it and go on; anything else breaks the hold, and the caller
    rolls the whole transaction back.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs.get("hold") is not None:
            if not transaction.get_connection().in_atomic_block:
                raise RuntimeError("a held change runs inside its hold's transaction")
            return func(*args, **kwargs)
        with bounded_atomic():
            return func(*args, **kwargs)

    return wrapper


def order_hold(*, order: Order, expected_version: int | None) -> OrderHold:
    """The order and its lines, locked (order first, as every writer does) and current."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if expected_version is not None and locked.version != expected_version:
        raise OrderChangedError.for_order(locked)
    lines = list(OrderLine.objects.select_for_update().filter(order=locked).order_by("line_no"))
    return OrderHold(locked, lines)


def order_hold_for_supplier(*, supplier, number: str) -> OrderHold | None:
    """One of the supplier's orders by number, locked with its lines (and its retailer read
    in the same query), or None: the update API's one round trip to find and lock it
    (on PostgreSQL with the BEGIN and the transaction's bound: hold_sql.py)."""
    if transaction.get_connection().vendor == "postgresql":
        found = hold_read(supplier_id=supplier.pk, number=number)
        return None if found is None else OrderHold(*found)
    locked = (
        Order.objects.select_for_update(of=("self",))
        .select_related("retailer")
        .filter(supplier=supplier, number=number)
        .first()
    )
    if locked is None:
        return None
    lines = list(OrderLine.objects.select_for_update().filter(order=locked).order_by("line_no"))
    return OrderHold(locked, lines)


@contextmanager
def order_held(
    *, order: Order, hold: OrderHold | None, expected_version: int | None
) -> Iterator[OrderHold]:
    """The caller's hold (a file's order: several changes, one flush by the caller), or a
    hold of its own, flushed when the change is done. A change that raises after it wrote
    marks the hold broken: its caller must roll the transaction back."""
    own = hold is None
    if own:
        hold = order_hold(order=order, expected_version=expected_version)
    elif expected_version is not None and hold.order.version != expected_version:
        raise OrderChangedError.for_order(hold.order)
    events_before = len(hold.events)
    try:
        yield hold
    except Exception as exc:
        # A refusal (ValidationError) comes before any write; anything else may come after.
        if not isinstance(exc, ValidationError) or len(hold.events) != events_before:
            hold.broken = True
        raise
    if own:
        order_hold_flush(hold)


def lines_add(*, hold: OrderHold, pairs: list[tuple[OrderLine, int]], field: str) -> None:
    """Add each pair's units to `field` of its line: one UPDATE for all of them.

    Raises OrderStateError if the line constraint refuses (a writer that skipped the lock);
    the failed statement has aborted the transaction, so the hold is broken.
    """
    try:
        if len(pairs) == 1:
            line, units = pairs[0]
            OrderLine.objects.filter(pk=line.pk).update(**{field: F(field) + units})
        else:
            OrderLine.objects.filter(pk__in=[line.pk for line, _ in pairs]).update(
                **{
                    field: F(field)
                    + Case(
                        *[When(pk=line.pk, then=Value(units)) for line, units in pairs],
                        output_field=IntegerField(),
                    )
                }
            )
    except IntegrityError:  # the constraint, should a writer ever skip the order lock
        hold.broken = True
        raise OrderStateError({"lines": ["More units than are open; reload and try again."]})
    for line, units in pairs:
        setattr(line, field, getattr(line, field) + units)


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


def record_lines(pairs: list[tuple[OrderLine, int]]) -> list[dict]:
    """A record's lines as the document and its event show them (by line number)."""
    return [
        {"line": line.line_no, "quantity": units}
        for line, units in sorted(pairs, key=lambda pair: pair[0].line_no)
    ]


def order_change_record(
    *,
    hold: OrderHold,
    now,
    fields: list[str],
    event_type: str,
    actor: str,
    actor_user,
    note: str,
    data: dict[str, Any],
    source: UpdateSource | None = None,
) -> None:
    """Derive the status and bump version/updated_at in memory, and queue the change's event
    (written by `order_hold_flush`, in the same transaction).

    A supplier's update (`source`, or a portal user's) is recorded in the event's
    `data["channel"]`, and the first one acknowledges the order (issue 13). When that first
    update is a shipment, a cancellation or a status edit, an `order.acknowledged` event is
    recorded before it, so a subscriber to that type hears of every acknowledgement however
    it came (its `data["with_event"]` names the event that acknowledged).
    """
    order = hold.order
    source = source_resolve(source=source, actor=actor, actor_user=actor_user)
    before = order.status
    if source is not None:
        data = {**data, "channel": source.data()}
        if order.acknowledged_at is None:
            order.acknowledged_at, order.acknowledged_via = now, source.via
            fields = [*fields, "acknowledged_at", "acknowledged_via"]
            if event_type != OrderEventType.ACKNOWLEDGED:
                hold.events.append(
                    OrderEvent(
                        order=order,
                        type=OrderEventType.ACKNOWLEDGED,
                        actor=actor,
                        actor_user=actor_user,
                        note="",
                        data={
                            "from": before,
                            "to": before,
                            "channel": data["channel"],
                            "with_event": str(event_type),
                        },
                        created_at=now,
                    )
                )
    order.status = order_status_derive(order, hold.lines)
    order.updated_at = now
    order.version += 1
    hold.fields.update(fields)
    hold.events.append(
        OrderEvent(
            order=order,
            type=event_type,
            actor=actor,
            actor_user=actor_user,
            note=note,
            data={"from": before, "to": order.status, **data},
            created_at=now,
        )
    )


def order_hold_fields(hold: OrderHold) -> list[str]:
    """Set in memory what the hold's changes leave on the order row (commission, stored
    document) and return the fields to write: `order_hold_flush` saves them, and an update
    file's batch (orders/updates/batch.py) writes many orders' in one statement."""
    order = hold.order
    order.commission_amount = order_commission(rate=order.commission_rate, lines=hold.lines)
    fields = [*hold.fields, "status", "commission_amount", "updated_at", "version"]
    if hold.stored_records:
        stored = json.loads("{" + order.document_tail)
        records = {key: stored[key] + hold.records[key] for key in hold.records}
        fields += order_document_store(order=order, lines=hold.lines, records=records)
    else:  # an older stored text (or none): read the records, the new ones included
        fields += order_document_store(order=order, lines=hold.lines)
    return fields


def order_hold_flush(hold: OrderHold) -> list[OrderEvent]:
    """Write the hold's changes: the order row once (commission, stored document) and the
    events in one INSERT (on PostgreSQL both in one statement: hold_sql.py), announced on
    commit. Nothing to write: nothing happens."""
    if hold.broken:
        raise RuntimeError("a change failed after writing; roll the transaction back")
    if not hold.events:
        return []
    order = hold.order
    fields = order_hold_fields(hold)
    if transaction.get_connection().vendor == "postgresql":
        events = hold.events
        hold_write(order=order, fields=fields, events=events)  # one statement
    else:
        order.save(update_fields=fields)
        events = OrderEvent.objects.bulk_create(hold.events)
        if any(event.pk is None for event in events):  # a database that returns no ids
            events = list(
                OrderEvent.objects.filter(order=order).order_by("-id")[: len(events)][::-1]
            )
    hold.events = []
    hold.fields = set()
    hold.records = {"cancellations": [], "shipments": []}
    hold.stored_records = True
    events_module.announce_on_commit([event.pk for event in events])
    return events
