"""What happened: retailers, their orders (one per supplier), lines and the event outbox."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from common.emails import validate_internet_email
from common.text import validate_one_line
from suppliers.models import Product, Supplier, currency_validator


class Retailer(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, validators=[validate_one_line])
    # Its cancellations and monthly summaries go there: an internet address (common/emails.py).
    email = models.EmailField(validators=[validate_internet_email])
    commission_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.10"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    # Only the SHA-256 of the API key is stored; the key is printed once.
    api_key_prefix = models.CharField(max_length=16)
    api_key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0) & Q(commission_rate__lte=1),
                name="retailer_commission_rate_0_to_1",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class OrderIntake(models.Model):
    """One retailer order as received; the unique (retailer, reference) makes intake idempotent."""

    # Indexed by the unique (retailer, reference) constraint, which leads with it.
    retailer = models.ForeignKey(
        Retailer, on_delete=models.PROTECT, related_name="intakes", db_index=False
    )
    reference = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["retailer", "reference"], name="intake_unique_retailer_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.retailer_id}:{self.reference}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


# The one map of the status changes the portal's edit may ask for; `order_set_status` applies
# it. The status itself is always `order_status_derive` of the lines (below).
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def order_transition_allowed(*, current: str, new: str) -> bool:
    return new in ORDER_TRANSITIONS.get(current, frozenset())


def order_status_derive(order, lines: Iterable) -> str:
    """The one rule for an order's status, from its lines' quantities (issue 12).

    cancelled: every unit is cancelled; shipped: every unit not cancelled has shipped and at
    least one has; processing: some unit has shipped, or the supplier said so
    (`Order.processing_set`); otherwise placed. The order services assign `Order.status`
    only from this.
    """
    total = cancelled = shipped = 0
    for line in lines:
        total += line.quantity
        cancelled += line.quantity_cancelled
        shipped += line.quantity_shipped
    if total and cancelled == total:
        return OrderStatus.CANCELLED
    if shipped and cancelled + shipped == total:
        return OrderStatus.SHIPPED
    if shipped or order.processing_set:
        return OrderStatus.PROCESSING
    return OrderStatus.PLACED


class CancellationReason(models.TextChoices):
    OUT_OF_STOCK = "out_of_stock", "Out of stock"
    DISCONTINUED = "discontinued", "Discontinued"
    BAD_ADDRESS = "bad_address", "Bad address"
    CANNOT_SHIP_ON_TIME = "cannot_ship_on_time", "Cannot ship on time"
    CUSTOMER_REQUEST = "customer_request", "Customer request"
    RETAILER_REQUEST = "retailer_request", "Retailer request"
    OTHER = "other", "Other"


class UpdateChannel(models.TextChoices):
    """How a supplier told us something about an order (issue 13)."""

    PORTAL = "portal", "Portal"
    API = "api", "API"
    FILE = "file", "File"


class Order(models.Model):
    # Unique by a constraint in Meta: `unique=True` would add a second, LIKE-pattern index on
    # PostgreSQL, which no query uses and every intake would have to write.
    number = models.CharField(max_length=20)
    # No index of their own: each foreign key leads one of the composite indexes below, and
    # every index is one more write per intake.
    intake = models.ForeignKey(
        OrderIntake, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    retailer = models.ForeignKey(
        Retailer, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    retailer_reference = models.CharField(max_length=100)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )

    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField(blank=True)
    customer_phone = models.CharField(max_length=40, blank=True)

    ship_name = models.CharField(max_length=200)
    ship_line1 = models.CharField(max_length=200)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100)
    ship_region = models.CharField(max_length=100, blank=True)
    ship_postcode = models.CharField(max_length=20, blank=True)
    ship_country = models.CharField(max_length=2)

    currency = models.CharField(max_length=3, validators=[currency_validator])
    total = models.DecimalField(max_digits=14, decimal_places=2)
    item_count = models.PositiveIntegerField(default=0)
    commission_rate = models.DecimalField(max_digits=5, decimal_places=4)
    commission_amount = models.DecimalField(max_digits=14, decimal_places=2)

    placed_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Bumped by every change; the portal's edit form carries it to refuse stale writes.
    version = models.PositiveIntegerField(default=1)
    # The supplier said "processing" (the portal's edit); one input of order_status_derive.
    processing_set = models.BooleanField(default=False, db_default=False)

    # Set when the whole order is cancelled (the document's `cancellation`): the reason and
    # note of the cancellation that left nothing open. Every cancellation, partial or whole,
    # is a `Cancellation` row (orders/models/fulfilment.py).
    cancellation_reason = models.CharField(
        max_length=32, choices=CancellationReason.choices, blank=True
    )
    cancellation_note = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    # The latest shipment (the document's `shipment`); every shipment is a `Shipment` row.
    shipment_carrier = models.CharField(max_length=100, blank=True)
    shipment_tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)

    # The supplier has the order (issue 13): the first acknowledgement, shipment or
    # cancellation sets these (order_acknowledge, orders/services/changes.py). The deadline,
    # `acknowledge_by`, is set once when the order arrives (placed_at +
    # ORDER_ACKNOWLEDGE_HOURS as it is then), so a later change of the setting moves no
    # promised deadline, and the API, webhooks, portal, command and reminder read this one
    # value. The reminder task sets acknowledge_reminded_at when it lists the order in a
    # reminder, so an order is reminded once.
    acknowledge_by = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_via = models.CharField(max_length=8, choices=UpdateChannel.choices, blank=True)
    acknowledge_reminded_at = models.DateTimeField(null=True, blank=True)

    # The order's own part of its contract document as JSON text (from "placed_at" on; see
    # orders/documents.py), so a supplier API page is one query of ready texts. Written by
    # the order services in the same transaction as every change; `text`, not `jsonb`, to
    # keep the key order. Served only while `document_version` equals `version`: a row
    # written without it (say by a process still running the previous release) is built
    # afresh instead. The database defaults let such a process (and bulk loaders) insert
    # rows without these columns.
    document_tail = models.TextField(blank=True, default="", db_default="", editable=False)
    document_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The supplier API's window and cursor, and ORDER HISTORY newest first.
            models.Index(fields=["supplier", "created_at", "id"], name="order_supplier_created"),
            # Covers the supplier API's `updated_after` page: the page's ids come from this
            # index alone (created_at included to sort them), then 100 rows by id.
            models.Index(
                fields=["supplier", "updated_at", "id"],
                include=["created_at"],
                name="order_supplier_updated_cov",
            ),
            models.Index(
                fields=["supplier", "status", "created_at", "id"], name="order_supplier_status"
            ),
            models.Index(fields=["supplier", "placed_at", "id"], name="order_supplier_placed"),
            # The retailer read API's `updated_after` page (orders/selectors/retailer_api.py):
            # a range of the retailer's changes, not every order the retailer ever sent.
            models.Index(fields=["retailer", "updated_at"], name="order_retailer_updated"),
            # Monthly summaries: a retailer's orders that reached us in a month (statements/
            # selectors.py bills by created_at, never by the retailer's placed_at).
            models.Index(fields=["retailer", "created_at"], name="order_retailer_created"),
            # ORDER HISTORY's search: a retailer reference, a whole email address.
            models.Index(
                fields=["supplier", "retailer_reference"], name="order_supplier_reference"
            ),
            models.Index(F("supplier"), Upper("customer_email"), name="order_supplier_email_upper"),
            # The overdue reminder and ORDER HISTORY's overdue filter: open, unacknowledged.
            models.Index(
                fields=["supplier", "acknowledge_by"],
                name="order_unacknowledged_by",
                condition=Q(acknowledged_at__isnull=True, status__in=["placed", "processing"]),
            ),
            # Monthly summaries: cancellations made in a month, for orders of earlier months.
            models.Index(
                fields=["retailer", "cancelled_at"],
                name="order_retailer_cancelled",
                condition=Q(cancelled_at__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            models.UniqueConstraint(fields=["intake", "supplier"], name="order_one_per_supplier"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.CANCELLED)
                | (Q(cancelled_at__isnull=False) & ~Q(cancellation_reason="")),
                name="order_cancelled_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def allowed_next_statuses(self) -> list[str]:
        return sorted(ORDER_TRANSITIONS.get(self.status, frozenset()))

    @property
    def is_final(self) -> bool:
        return not ORDER_TRANSITIONS.get(self.status)


class OrderLine(models.Model):
    # Indexed by the unique (order, line_no) constraint.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)
    # Changed only by the cancel and ship services, with F() updates; the constraint below
    # holds whatever races.
    quantity_cancelled = models.PositiveIntegerField(default=0, db_default=0)
    quantity_shipped = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["order_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_unique_line_no"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("quantity_cancelled") + F("quantity_shipped")),
                name="orderline_cancelled_shipped_within_quantity",
            ),
        ]
        indexes = [models.Index(fields=["sku"], name="orderline_sku")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no}"

    @property
    def quantity_open(self) -> int:
        """Units neither cancelled nor shipped: what can still be cancelled or shipped."""
        return self.quantity - self.quantity_cancelled - self.quantity_shipped


class OrderEventType(models.TextChoices):
    CREATED = "order.created", "Created"
    UPDATED = "order.updated", "Updated"
    CANCELLED = "order.cancelled", "Cancelled"
    LINES_CANCELLED = "order.lines_cancelled", "Lines cancelled"
    SHIPMENT_CREATED = "order.shipment_created", "Shipment created"
    ACKNOWLEDGED = "order.acknowledged", "Acknowledged"


class OrderEvent(models.Model):
    """The audit trail and the outbox.

    A committed event is delivered; one that rolled back never existed.
    """

    # Indexed by orderevent_order_time, which leads with it.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=32, choices=OrderEventType.choices)
    actor = models.CharField(
        max_length=150, help_text="Who: user:NAME, retailer:SLUG, ops, system."
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    # Set by the dispatcher once its delivery rows exist; the sweeper looks for NULLs.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="orderevent_order_time"),
            models.Index(
                fields=["created_at"],
                name="orderevent_undispatched",
                condition=Q(dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.order_id}"


class Counter(models.Model):
    """Named counters for databases without sequences (SQLite); PostgreSQL uses a SEQUENCE."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
