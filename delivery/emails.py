"""Email renderers by delivery purpose: renderer(delivery) -> EmailMultiAlternatives.

Another app adds a purpose with `@register_email_renderer(purpose)` from its
AppConfig.ready() (statements: the monthly summary); the email channel sends any delivery
whose purpose has a renderer. A renderer may come with `prepare(deliveries)`, which the
channel calls once per batch before rendering (to load what the rows' `source_key` names in
one query). The Message-ID is set from the delivery's identity here, so a retry is the same
message to the receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from email import encoders
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string

from common.email_html import email_context, email_html_inline
from orders.documents import acknowledge_by
from orders.models import CancellationReason, Order, OrderEventType

from .channels.base import CANCELLATION_EVENT_TYPES, DeliveryFailed, delivery_order
from .models import Channel, Delivery, DeliveryPurpose

EmailRenderer = Callable[[Delivery], EmailMultiAlternatives]
EmailPrepare = Callable[[list[Delivery]], None]
EMAIL_RENDERERS: dict[str, EmailRenderer] = {}
EMAIL_PREPARERS: dict[str, EmailPrepare] = {}


def register_email_renderer(
    purpose: str, *, prepare: EmailPrepare | None = None
) -> Callable[[EmailRenderer], EmailRenderer]:
    def decorator(func: EmailRenderer) -> EmailRenderer:
        EMAIL_RENDERERS[str(purpose)] = func
        if prepare is None:
            EMAIL_PREPARERS.pop(str(purpose), None)
        else:
            EMAIL_PREPARERS[str(purpose)] = prepare
        return func

    return decorator


def email_prepare(deliveries: list[Delivery]) -> None:
    """Let each purpose's `prepare` load what its rows need, once for the whole batch."""
    by_purpose: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        if delivery.purpose in EMAIL_PREPARERS:
            by_purpose.setdefault(delivery.purpose, []).append(delivery)
    for purpose, rows in by_purpose.items():
        EMAIL_PREPARERS[purpose](rows)


def email_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">").strip() or "localhost"


def email_message_id(identity: str) -> str:
    """A Message-ID for an identity: kept as is when it already is one."""
    if identity.startswith("<") and identity.endswith(">") and "@" in identity:
        return identity
    return f"<{identity}@{email_domain()}>"


def email_render(delivery: Delivery) -> EmailMultiAlternatives:
    renderer = EMAIL_RENDERERS.get(delivery.purpose)
    if renderer is None:
        raise DeliveryFailed(f"no email renderer for purpose {delivery.purpose}", retryable=False)
    message = renderer(delivery)
    message.extra_headers["Message-ID"] = email_message_id(delivery.identity)
    if not message.to:
        message.to = recipients_of(delivery)
    if not message.to:
        raise DeliveryFailed("no recipient address", retryable=False)
    return message


def recipients_of(delivery: Delivery) -> list[str]:
    return [a.strip() for a in (delivery.recipient or "").split(",") if a.strip()]


def email_subject(template_name: str, context: dict) -> str:
    """A subject line is plain text: rendered without HTML escaping (a `&lt;` in a subject is
    what the reader would see), then put on one line (any run of whitespace, CR and LF
    included, becomes one space), since a header cannot hold a newline."""
    template = get_template(template_name).template  # the engine's Template, not the wrapper
    return " ".join(template.render(Context(context, autoescape=False)).split())


def _message(*, delivery: Delivery, template: str, context: dict) -> EmailMultiAlternatives:
    """Subject, plain text and HTML (templates/email/base.html's layout, CSS inlined)."""
    context = email_context() | context
    subject = email_subject(f"{template}.subject.txt", context)
    text = render_to_string(f"{template}.txt", context)
    html = email_html_inline(render_to_string(f"{template}.html", context))
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients_of(delivery),
    )
    message.attach_alternative(html, "text/html")
    return message


def _order_of(delivery: Delivery) -> Order:
    return delivery_order(delivery)


def _order_context(order: Order) -> dict:
    lines = list(order.lines.all())
    return {
        "order": order,
        "lines": lines,
        "units": sum(line.quantity for line in lines),
        "reason_label": (
            CancellationReason(order.cancellation_reason).label if order.cancellation_reason else ""
        ),
    }


def _cancellation_context(order: Order, event) -> dict:
    """The cancellation an event records, its items, what had shipped by then and what is
    still to ship after it.

    Read from the records as they stood at that cancellation, so a later one (or a resend)
    does not change what this email says. An event of before issue 12 names no record: it
    is the order's cancellation made at the event's time (migration 0006 made one for each).
    """
    lines = list(order.lines.all())
    by_id = {line.pk: line for line in lines}
    cancellations = sorted(order.cancellations.all(), key=lambda c: (c.created_at, c.pk))
    data = event.data if isinstance(event.data, dict) else {}
    wanted = data.get("cancellation")
    this = next((c for c in cancellations if c.pk == wanted), None)
    if this is None:
        this = next((c for c in reversed(cancellations) if c.created_at <= event.created_at), None)
    cancelled_so_far = {line.pk: 0 for line in lines}
    items = []
    for cancellation in cancellations:
        if this is not None and (cancellation.created_at, cancellation.pk) > (
            this.created_at,
            this.pk,
        ):
            break
        for item in cancellation.lines.all():
            cancelled_so_far[item.line_id] += item.quantity
            if cancellation is this:
                items.append({"line": by_id[item.line_id], "quantity": item.quantity})
    if this is None:  # no record at all: the whole order, as before issue 12
        items = [{"line": line, "quantity": line.quantity} for line in lines]
        cancelled_so_far = {line.pk: line.quantity for line in lines}
    items.sort(key=lambda item: item["line"].line_no)
    coming = [
        {"line": line, "quantity": line.quantity - cancelled_so_far[line.pk]}
        for line in lines
        if line.quantity - cancelled_so_far[line.pk] > 0
    ]
    # Units that had shipped by then are not "still coming": the retailer's email listed a
    # partly shipped order's shipped units under "Still coming" (found in review).
    at = this.created_at if this is not None else event.created_at
    shipped_then = {line.pk: 0 for line in lines}
    for shipment in order.shipments.all():
        if shipment.created_at <= at:
            for item in shipment.lines.all():
                shipped_then[item.line_id] += item.quantity
    shipped = [
        {"line": line, "quantity": shipped_then[line.pk]} for line in lines if shipped_then[line.pk]
    ]
    to_ship = [
        {"line": line, "quantity": left}
        for line in lines
        if (left := line.quantity - cancelled_so_far[line.pk] - shipped_then[line.pk]) > 0
    ]
    reason = this.reason if this else order.cancellation_reason
    return {
        "cancellation": this,
        "cancelled_items": items,
        "cancelled_units": sum(item["quantity"] for item in items),
        # Not cancelled (shipped or not): what the supplier still ships or has shipped.
        "still_coming": coming,
        # Neither shipped nor cancelled by then, and what had shipped by then.
        "still_to_ship": to_ship,
        "shipped_items": shipped,
        "whole": not coming,
        "reason_label": CancellationReason(reason).label if reason else "",
        "note": this.note if this else order.cancellation_note,
        "cancelled_at": this.created_at if this else order.cancelled_at,
    }


@register_email_renderer(DeliveryPurpose.SUPPLIER_ORDER)
def render_supplier_order(delivery: Delivery) -> EmailMultiAlternatives:
    order = _order_of(delivery)
    context = _order_context(order) | {"event": delivery.event}
    if delivery.event.type in CANCELLATION_EVENT_TYPES:
        context |= _cancellation_context(order, delivery.event)
        template = "delivery/email/supplier_cancellation"
    else:
        context["acknowledge_by"] = acknowledge_by(order)
        template = "delivery/email/supplier_order"
    message = _message(delivery=delivery, template=template, context=context)
    destination = delivery.destination
    if (
        destination is not None
        and destination.email_attach_format
        and delivery.event.type == OrderEventType.CREATED
    ):
        _attach_order_file(message, delivery=delivery, order=order, destination=destination)
    return message


def _attach_order_file(message, *, delivery: Delivery, order: Order, destination) -> None:
    """ "Attach the order file": the destination's format, kept from the first try, so a
    retry or redelivery attaches the same bytes (delivery/formats/files.py)."""
    from .formats.files import delivery_files, file_bytes

    kept = delivery_files(
        [(delivery, order)], format_name=destination.email_attach_format, destination=destination
    )[delivery.pk]
    if isinstance(kept, Exception):
        raise DeliveryFailed(f"The order file could not be written: {kept}", retryable=False)
    # Base64 with its own type, so the bytes arrive as kept (a text part's line ends and
    # charset would be rewritten on the way).
    # With its parameters: a text file without its charset reads as US-ASCII.
    kind, *parameters = [p.strip() for p in kept.content_type.split(";")]
    maintype, _, subtype = kind.partition("/")
    params = dict(p.partition("=")[::2] for p in parameters if "=" in p)
    part = MIMEBase(maintype, subtype, **params)
    part.set_payload(file_bytes(kept))
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=kept.file_name)
    message.attach(part)


@register_email_renderer(DeliveryPurpose.RETAILER_CANCELLATION)
def render_retailer_cancellation(delivery: Delivery) -> EmailMultiAlternatives:
    """Every cancellation, partial or whole: the items and quantities cancelled, the reason
    and note, and what is still coming."""
    order = _order_of(delivery)
    context = (
        _order_context(order)
        | {"event": delivery.event}
        | _cancellation_context(order, delivery.event)
    )
    return _message(
        delivery=delivery, template="delivery/email/retailer_cancellation", context=context
    )


def _shipment_context(order: Order, event) -> dict:
    """The shipment an event records (carrier, tracking number, its items) and what had not
    shipped yet right after it: read from the records up to that shipment, so a later one
    (or a resend) does not change what this email says."""
    lines = list(order.lines.all())
    by_id = {line.pk: line for line in lines}
    shipments = sorted(order.shipments.all(), key=lambda s: (s.created_at, s.pk))
    data = event.data if isinstance(event.data, dict) else {}
    this = next((s for s in shipments if s.pk == data.get("shipment")), None)
    if this is None:
        this = next((s for s in reversed(shipments) if s.created_at <= event.created_at), None)
    if this is None:
        raise DeliveryFailed("the shipment of this event is gone", retryable=False)
    shipped_so_far = {line.pk: 0 for line in lines}
    items = []
    for shipment in shipments:
        if (shipment.created_at, shipment.pk) > (this.created_at, this.pk):
            break
        for item in shipment.lines.all():
            shipped_so_far[item.line_id] += item.quantity
            if shipment is this:
                items.append({"line": by_id[item.line_id], "quantity": item.quantity})
    items.sort(key=lambda item: item["line"].line_no)
    # Units still to ship then: ordered less shipped so far less cancelled by then. Not the
    # line's cancelled count of today: a cancellation made after the parcel left (before
    # the email went, on a retry, or on a redelivery) said "the whole order has shipped"
    # (found in review).
    cancelled_then = {line.pk: 0 for line in lines}
    for cancellation in order.cancellations.all():
        if cancellation.created_at <= this.created_at:
            for item in cancellation.lines.all():
                cancelled_then[item.line_id] += item.quantity
    to_come = [
        {"line": line, "quantity": left}
        for line in lines
        if (left := line.quantity - cancelled_then[line.pk] - shipped_so_far[line.pk]) > 0
    ]
    return {
        "shipment": this,
        "shipped_items": items,
        "shipped_units": sum(item["quantity"] for item in items),
        "still_to_ship": to_come,
        "complete": not to_come,
    }


@register_email_renderer(DeliveryPurpose.RETAILER_SHIPMENT)
def render_retailer_shipment(delivery: Delivery) -> EmailMultiAlternatives:
    """A shipment: carrier, tracking number, the items in it, and what is still to ship."""
    order = _order_of(delivery)
    context = (
        _order_context(order) | {"event": delivery.event} | _shipment_context(order, delivery.event)
    )
    return _message(delivery=delivery, template="delivery/email/retailer_shipment", context=context)


@register_email_renderer(DeliveryPurpose.FAILURE_NOTICE)
def render_failure_notice(delivery: Delivery) -> EmailMultiAlternatives:
    cause = delivery.cause
    order = None
    if delivery.event_id is not None:
        order = Order.objects.select_related("retailer").get(pk=delivery.event.order_id)
    label = str(Channel(cause.channel).label) if cause else ""
    context = {
        "cause": cause,
        "order": order,
        "destination": cause.destination if cause else None,
        "gone": bool(cause and cause.last_error.startswith("410")),
        "channel_label": label,
        # "by email", "by webhook", "by SFTP": the label in a sentence.
        "channel_words": label if label.isupper() else label.lower(),
    }
    return _message(delivery=delivery, template="delivery/email/failure_notice", context=context)


@register_email_renderer(DeliveryPurpose.ACKNOWLEDGE_REMINDER)
def render_acknowledge_reminder(delivery: Delivery) -> EmailMultiAlternatives:
    from .services.reminders import reminder_orders

    orders = reminder_orders(delivery)
    context = {
        "orders": [(order, acknowledge_by(order)) for order in orders],
    }
    return _message(
        delivery=delivery, template="delivery/email/acknowledge_reminder", context=context
    )
