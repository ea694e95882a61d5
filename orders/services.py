"""Every write to orders: intake, status changes, retailers; each atomic, each with its event."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction

from common.inserts import rows_insert
from suppliers.secrets import token_digest, token_generate
from suppliers.selectors import products_by_sku

from .documents import order_document_store
from .intake import intake_validate
from .models import (
    CancellationReason,
    Order,
    OrderEvent,
    OrderEventType,
    OrderIntake,
    OrderLine,
    OrderStatus,
    Retailer,
    order_transition_allowed,
)
from .numbers import order_numbers_allocate
from .signals import order_events_committed, order_events_notify
from .transactions import bounded_atomic, transaction_now

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
MAX_ORDER_TOTAL = Decimal("999999999999.99")


class OrderChangedError(ValidationError):
    """The order changed since the caller read it (a stale form)."""


def _announce_on_commit(event_ids: list[int]) -> None:
    """Announce the events (orders/signals.py): NOTIFY now, the signal after commit.

    A failing listener never undoes the commit.
    """
    order_events_notify()

    def announce() -> None:
        for receiver, result in order_events_committed.send_robust(
            sender=OrderEvent, event_ids=event_ids
        ):
            if isinstance(result, Exception):
                logger.error(
                    "order event listener %r failed for events %s: %r; the sweeper will retry",
                    receiver,
                    event_ids,
                    result,
                )

    transaction.on_commit(announce)


# --- Retailers ---------------------------------------------------------------------------


def retailer_create(
    *, slug: str, name: str, email: str, commission_rate: Decimal = Decimal("0.10")
) -> tuple[Retailer, str]:
    """Create a retailer; return it and its API key, which is stored only as a digest."""
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValidationError({"slug": ["Use letters, numbers, hyphens and underscores."]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [f"'{email}' is not a valid email address."]})
    if not (Decimal("0") <= commission_rate <= Decimal("1")):
        raise ValidationError({"commission_rate": ["Give a rate between 0 and 1, e.g. 0.10."]})
    if Retailer.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"A retailer '{slug}' already exists."]})
    key = token_generate(prefix="rtl")
    retailer = Retailer(
        slug=slug,
        name=name.strip(),
        email=email,
        commission_rate=commission_rate,
        api_key_prefix=key[:12],
        api_key_hash=token_digest(key),
    )
    retailer.full_clean()
    retailer.save()
    return retailer, key


# --- Intake ------------------------------------------------------------------------------


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
        Order.objects.filter(intake=intake)
        .select_related("supplier", "retailer")
        .prefetch_related("lines")
        .order_by("id")
    )
    return IntakeResult(intake=intake, orders=orders, created=False)


def intake_prepare(*, payload: Any) -> tuple[dict, dict[int, list[tuple[dict, Any]]]]:
    """Validate an intake document against the catalogue; return it split by supplier.

    Raises ValidationError({field: [messages]}) and writes nothing.
    """
    data = intake_validate(payload=payload)
    lines_in = data["lines"]
    products = products_by_sku(skus=[line["sku"] for line in lines_in])
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

    return data, groups


def order_place_from_retailer(
    *, retailer: Retailer, payload: Any, actor: str | None = None
) -> IntakeResult:
    """Validate a retailer's order, split it per supplier and store it with its events.

    Idempotent on (retailer, reference): a repeat, or a racing twin, gets the first result.
    The unique constraint decides, so a new order (the common case) costs no look-up first.
    Validation and catalogue reads happen before the transaction so it stays short.
    """
    try:
        data, groups = intake_prepare(payload=payload)
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
    customer, address = data["customer"], data["shipping_address"]
    try:
        # Bounded: the orders commit within settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS of
        # `created_at` or not at all, which the supplier API's settle time relies on.
        with bounded_atomic():
            intake = OrderIntake(retailer=retailer, reference=data["reference"])
            rows_insert([intake])
            now = transaction_now()
            placed_at = data.get("placed_at") or now
            numbers = order_numbers_allocate(count=len(groups))
            orders: list[Order] = []
            pending_lines: list[list[OrderLine]] = []
            for number, supplier_lines in zip(numbers, groups.values()):
                order_lines = []
                total = Decimal("0")
                for line_no, (line, product) in enumerate(supplier_lines, start=1):
                    line_total = (product.price * line["quantity"]).quantize(CENT)
                    total += line_total
                    order_lines.append(
                        OrderLine(
                            line_no=line_no,
                            product=product,
                            sku=product.sku,
                            name=product.name,
                            quantity=line["quantity"],
                            unit_price=product.price,
                            line_total=line_total,
                        )
                    )
                order = Order(
                    number=number,
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
                    commission_amount=(total * retailer.commission_rate).quantize(
                        CENT, rounding=ROUND_HALF_UP
                    ),
                    placed_at=placed_at,
                    created_at=now,
                    updated_at=now,
                )
                order_document_store(order=order, lines=order_lines)
                orders.append(order)
                pending_lines.append(order_lines)
            rows_insert(orders)
            all_lines = []
            for order, order_lines in zip(orders, pending_lines):
                for order_line in order_lines:
                    order_line.order = order
                    all_lines.append(order_line)
            rows_insert(all_lines)
            events = [
                OrderEvent(
                    order=order,
                    type=OrderEventType.CREATED,
                    actor=actor or f"retailer:{retailer.slug}",
                    data={"status": OrderStatus.PLACED, "reference": data["reference"]},
                    created_at=now,
                )
                for order in orders
            ]
            rows_insert(events)
            _announce_on_commit([event.pk for event in events])
    except IntegrityError:
        # A racing identical request committed first: answer with its orders.
        existing = _existing_intake(retailer=retailer, reference=data["reference"])
        if existing is None:
            raise
        return existing
    for order, order_lines in zip(orders, pending_lines):
        order._prefetched_objects_cache = {"lines": order_lines}
    return IntakeResult(intake=intake, orders=orders, created=True)


# --- Status ------------------------------------------------------------------------------


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
    """The one place an order's status changes: checks the map, records the event."""
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
    if status not in OrderStatus.values:
        raise ValidationError({"status": [f"Unknown status '{status}'."]})
    if status == locked.status:
        raise ValidationError({"status": [f"Order {locked.number} is already {status}."]})
    if not order_transition_allowed(current=locked.status, new=status):
        raise ValidationError(
            {"status": [f"Order {locked.number} cannot go from {locked.status} to {status}."]}
        )
    note = (note or "").strip()
    now = transaction_now()  # updated_at: bounded like intake, for `updated_after` pollers
    data: dict[str, Any] = {"from": locked.status, "to": status}
    fields = ["status", "updated_at", "version"]
    if status == OrderStatus.CANCELLED:
        errors = {}
        if reason not in CancellationReason.values:
            errors["reason"] = [
                "Choose a cancellation reason: " + ", ".join(CancellationReason.values) + "."
            ]
        if not note:
            errors["note"] = ["A note is required to cancel an order."]
        if errors:
            raise ValidationError(errors)
        locked.cancellation_reason, locked.cancellation_note, locked.cancelled_at = (
            reason,
            note,
            now,
        )
        fields += ["cancellation_reason", "cancellation_note", "cancelled_at"]
        data.update(reason=reason)
        event_type = OrderEventType.CANCELLED
    else:
        event_type = OrderEventType.UPDATED
        if status == OrderStatus.SHIPPED:
            locked.shipment_carrier = (carrier or "").strip()[:100]
            locked.shipment_tracking_number = (tracking_number or "").strip()[:100]
            locked.shipped_at = now
            fields += ["shipment_carrier", "shipment_tracking_number", "shipped_at"]
            data.update(
                carrier=locked.shipment_carrier, tracking_number=locked.shipment_tracking_number
            )
    locked.status = status
    locked.updated_at = now
    locked.version += 1
    fields += order_document_store(order=locked)
    locked.save(update_fields=fields)
    event = OrderEvent.objects.create(
        order=locked,
        type=event_type,
        actor=actor,
        actor_user=user,
        note=note,
        data=data,
        created_at=now,
    )
    _announce_on_commit([event.pk])
    return locked
