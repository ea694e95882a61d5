"""Intake: a retailer's order validated, split per supplier and stored with its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection

from common.db import execute_prepared
from common.inserts import rows_insert
from common.instances import instance_new
from suppliers import catalogue_memory
from suppliers.selectors import products_by_sku, products_remembered

from ..commission import commission_on
from ..documents import order_document_store, orders_with_document_relations
from ..intake import intake_validate
from ..models import (
    Order,
    OrderEvent,
    OrderEventType,
    OrderIntake,
    OrderLine,
    OrderStatus,
    Retailer,
)
from ..numbers import order_numbers_allocate
from ..transactions import (
    bounded_atomic,
    bounded_pipelined,
    bounded_pipelined_possible,
    transaction_now,
)
from . import events
from .intake_write import CatalogueChanged, intake_insert_apply, intake_insert_statement

CENT = Decimal("0.01")
MAX_ORDER_TOTAL = Decimal("999999999999.99")


@dataclass
class IntakeResult:
    intake: OrderIntake
    orders: list[Order]
    created: bool


def _existing_intake(*, retailer: Retailer, reference: str) -> IntakeResult | None:
    intake = OrderIntake.objects.filter(retailer=retailer, reference=reference).first()
    if intake is None:
        return None
    orders = list(
        orders_with_document_relations(Order.objects.filter(intake=intake).order_by("id"))
    )
    return IntakeResult(intake=intake, orders=orders, created=False)


def intake_prepare(*, payload: Any) -> tuple[dict, dict[int, list[tuple[dict, Any]]]]:
    """Validate an intake document against the catalogue; return it split by supplier.

    Raises ValidationError({field: [messages]}) and writes nothing.
    """
    data, groups, _ = _prepare(payload=payload, memory=False)
    return data, groups


def _prepare(*, payload: Any, memory: bool) -> tuple[dict, dict, list | None]:
    """`intake_prepare`, taking the products from the process's memory when `memory` and it
    has them all (suppliers/catalogue_memory.py); the third value is then those products,
    for the write to check, else None."""
    data = intake_validate(payload=payload)
    skus = [line["sku"] for line in data["lines"]]
    products = products_remembered(skus=skus) if memory else None
    if products is not None:
        try:
            return data, _split(data["lines"], products), list(products.values())
        except ValidationError:
            pass  # decided on what the database says now, not on what was remembered
    return data, _split(data["lines"], products_by_sku(skus=skus)), None


def _split(lines_in: list[dict], products: dict) -> dict[int, list[tuple[dict, Any]]]:
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines_in):
        product = products.get(line["sku"])
        if product is None or not product.supplier.is_active:
            errors[f"lines.{index}.sku"] = [f"Unknown SKU '{line['sku']}'."]
    if errors:
        raise ValidationError(errors)

    # Split by supplier, keeping the retailer's line order.
    groups: dict[int, list[tuple[dict, Any]]] = {}
    for line in lines_in:
        product = products[line["sku"]]
        groups.setdefault(product.supplier_id, []).append((line, product))
    for supplier_lines in groups.values():
        currencies = {product.currency for _, product in supplier_lines}
        if len(currencies) > 1:
            supplier = supplier_lines[0][1].supplier
            raise ValidationError(
                {
                    "lines": [
                        f"Items of supplier '{supplier.slug}' are priced in several "
                        f"currencies ({', '.join(sorted(currencies))}); send them apart."
                    ]
                }
            )

        # Order.total has 14 digits, 2 after the point; a bigger order cannot be stored.
        total = sum(product.price * line["quantity"] for line, product in supplier_lines)
        if total > MAX_ORDER_TOTAL:
            supplier = supplier_lines[0][1].supplier
            raise ValidationError(
                {
                    "lines": [
                        f"The items of supplier '{supplier.slug}' total {total:.2f}, more than "
                        f"one order can hold ({MAX_ORDER_TOTAL})."
                    ]
                }
            )
    return groups


def _build(
    *, retailer: Retailer, data: dict, groups: dict, actor: str | None
) -> tuple[OrderIntake, list[Order], list[list[OrderLine]], list[OrderEvent]]:
    """The new rows as unsaved instances, stamped now (call inside the bounded block)."""
    customer, address = data["customer"], data["shipping_address"]
    intake = instance_new(OrderIntake, retailer=retailer, reference=data["reference"])
    now = transaction_now()
    intake.created_at = now
    placed_at = data.get("placed_at") or now
    acknowledge_by = placed_at + timedelta(hours=settings.ORDER_ACKNOWLEDGE_HOURS)
    orders: list[Order] = []
    pending_lines: list[list[OrderLine]] = []
    for supplier_lines in groups.values():
        order_lines = []
        total = Decimal("0")
        for line_no, (line, product) in enumerate(supplier_lines, start=1):
            line_total = (product.price * line["quantity"]).quantize(CENT)
            total += line_total
            order_lines.append(
                instance_new(
                    OrderLine,
                    line_no=line_no,
                    product=product,
                    sku=product.sku,
                    name=product.name,
                    quantity=line["quantity"],
                    unit_price=product.price,
                    line_total=line_total,
                )
            )
        order = instance_new(
            Order,
            intake=intake,
            supplier=supplier_lines[0][1].supplier,
            retailer=retailer,
            retailer_reference=data["reference"],
            status=OrderStatus.PLACED,
            customer_name=customer["name"],
            customer_email=customer.get("email", ""),
            customer_phone=customer.get("phone", ""),
            ship_name=address["name"],
            ship_line1=address["line1"],
            ship_line2=address.get("line2", ""),
            ship_city=address["city"],
            ship_region=address.get("region", ""),
            ship_postcode=address.get("postcode", ""),
            ship_country=address["country"],
            currency=supplier_lines[0][1].currency,
            total=total,
            item_count=sum(line["quantity"] for line, _ in supplier_lines),
            commission_rate=retailer.commission_rate,
            commission_amount=commission_on(total, retailer.commission_rate),
            placed_at=placed_at,
            acknowledge_by=acknowledge_by,
            created_at=now,
            updated_at=now,
        )
        order_document_store(order=order, lines=order_lines)
        orders.append(order)
        pending_lines.append(order_lines)
    created_events = [
        instance_new(
            OrderEvent,
            order=order,
            type=OrderEventType.CREATED,
            actor=actor or f"retailer:{retailer.slug}",
            data={"status": OrderStatus.PLACED, "reference": data["reference"]},
            created_at=now,
        )
        for order in orders
    ]
    return intake, orders, pending_lines, created_events


def _store_sqlite(*, retailer, data, groups, actor):
    """SQLite: a statement per table (it has no data-modifying WITH), in bounded_atomic."""
    with bounded_atomic():
        intake, orders, pending_lines, created_events = _build(
            retailer=retailer, data=data, groups=groups, actor=actor
        )
        rows_insert([intake])
        for order, number in zip(orders, order_numbers_allocate(count=len(orders))):
            order.number = number
            order.intake = intake
        rows_insert(orders)
        all_lines = []
        for order, order_lines in zip(orders, pending_lines):
            for order_line in order_lines:
                order_line.order = order
                all_lines.append(order_line)
        rows_insert(all_lines)
        for event, order in zip(created_events, orders):
            event.order = order
        rows_insert(created_events)
        events.announce_on_commit([event.pk for event in created_events])
    return intake, orders, pending_lines


def _run_now(sql: str, params: list, *, on_rows) -> None:
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        on_rows(cursor.fetchall())


def _store_postgresql(*, retailer, data, groups, actor, add, guard):
    """PostgreSQL: one statement for every row (orders/services/intake_write.py), given to
    `add` (queued in the pipelined write, or run now); ids and numbers set once it ran.
    With `guard` (remembered products) it stores nothing if one changed: CatalogueChanged
    then comes out of the write."""
    intake, orders, pending_lines, created_events = _build(
        retailer=retailer, data=data, groups=groups, actor=actor
    )
    event_ids: list[int] = []

    def on_rows(rows) -> None:
        intake_insert_apply(
            rows, intake=intake, orders=orders, lines=pending_lines, events=created_events
        )
        event_ids.extend(event.pk for event in created_events)

    sql, params = intake_insert_statement(
        intake=intake, orders=orders, lines=pending_lines, event=created_events[0], guard=guard
    )
    add(sql, params, on_rows=on_rows)
    # Read when the write has committed: on_rows has filled it in by then.
    events.announce_on_commit(event_ids)
    return intake, orders, pending_lines


def order_place_from_retailer(
    *, retailer: Retailer, payload: Any, actor: str | None = None
) -> IntakeResult:
    """Validate a retailer's order, split it per supplier and store it with its events.

    Idempotent on (retailer, reference): a repeat, or a racing twin, gets the first result.
    The unique constraint decides, so a new order (the common case) costs no look-up first.
    Validation and catalogue reads happen before the transaction so it stays short; on
    PostgreSQL the products may come from the process's memory, checked by the write
    (suppliers/catalogue_memory.py): if one changed, nothing was stored and the order is
    validated and written again on what the database says.
    """
    try:
        return _place(
            retailer=retailer, payload=payload, actor=actor, memory=catalogue_memory.enabled()
        )
    except CatalogueChanged:
        return _place(retailer=retailer, payload=payload, actor=actor, memory=False)


def _place(*, retailer: Retailer, payload: Any, actor: str | None, memory: bool) -> IntakeResult:
    try:
        data, groups, guard = _prepare(payload=payload, memory=memory)
    except ValidationError as exc:
        # A repeat still answers with the first result, even if the catalogue has changed;
        # only a reference that passed validation is looked up (a NUL, say, never reaches
        # the database).
        reference = payload.get("reference") if isinstance(payload, dict) else None
        valid = "reference" not in getattr(exc, "error_dict", {"reference": None})
        if valid and isinstance(reference, str) and reference.strip():
            existing = _existing_intake(retailer=retailer, reference=reference.strip())
            if existing is not None:
                return existing
        raise
    try:
        if connection.vendor != "postgresql":
            intake, orders, pending_lines = _store_sqlite(
                retailer=retailer, data=data, groups=groups, actor=actor
            )
        elif bounded_pipelined_possible():
            # The whole write in one round trip (orders/transactions.py).
            with bounded_pipelined() as write:
                intake, orders, pending_lines = _store_postgresql(
                    retailer=retailer,
                    data=data,
                    groups=groups,
                    actor=actor,
                    add=write.add,
                    guard=guard,
                )
        else:
            # Inside a caller's transaction: the same statement, run now.
            with bounded_atomic():
                intake, orders, pending_lines = _store_postgresql(
                    retailer=retailer,
                    data=data,
                    groups=groups,
                    actor=actor,
                    add=_run_now,
                    guard=guard,
                )
    except CatalogueChanged:
        catalogue_memory.forget(product.sku for product in guard or ())
        raise
    except IntegrityError:
        # A racing identical request committed first: answer with its orders.
        existing = _existing_intake(retailer=retailer, reference=data["reference"])
        if existing is None:
            raise
        return existing
    for order, order_lines in zip(orders, pending_lines):
        # A new order has no cancellations or shipments: its document needs no query.
        order._prefetched_objects_cache = {
            "lines": order_lines,
            "cancellations": [],
            "shipments": [],
        }
    return IntakeResult(intake=intake, orders=orders, created=True)
