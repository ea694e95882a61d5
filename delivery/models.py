"""Telling people: where each supplier wants orders (destinations), and every message as a row.

A `Delivery` is one message to one place, made by the dispatcher from one committed
`OrderEvent` (or by another app, naming its source by `source_key`: a monthly summary); each
try is a `DeliveryAttempt`. Retrying is re-running the row; its `identity` (webhook-id, file
name, Message-ID) never changes.
"""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from orders.models import OrderEvent, OrderEventType, Retailer
from suppliers.models import Supplier

from .fields import EncryptedTextField


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    SFTP = "sftp", "SFTP"


# An interchange ID: X12's basic characters only, so it can never hold a separator.
X12_ID = RegexValidator(r"^[A-Za-z0-9 ]{1,15}$", "An X12 ID is 1 to 15 letters, digits or spaces.")

# What a retailer's webhook may receive (issue 19); listing none means all four.
RETAILER_WEBHOOK_EVENT_TYPES = (
    OrderEventType.SHIPMENT_CREATED,
    OrderEventType.LINES_CANCELLED,
    OrderEventType.CANCELLED,
    OrderEventType.ACKNOWLEDGED,
)


class Destination(models.Model):
    """One channel of one supplier, or of one retailer; the per-kind fields are blank for the
    other kinds.

    A retailer's destinations (issue 19) are rows of this same table, so their deliveries get
    the same claims, retries, batching, 410 handling and delivery log with no second code
    path: its webhook (the four types of RETAILER_WEBHOOK_EVENT_TYPES), and its email row,
    whose `enabled` is "shipment emails on" (no row: on; cancellation emails ignore it).
    Every supplier query filters on `supplier`, so a retailer's row never shows there.
    """

    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.CASCADE, related_name="destinations"
    )
    retailer = models.ForeignKey(
        Retailer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="delivery_destinations",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField(default=True)
    # Event types this destination wants; empty means all.
    event_types = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    disabled_reason = models.CharField(max_length=300, blank=True)

    # email
    email_addresses = models.TextField(blank=True, help_text="Comma-separated.")

    # webhook
    webhook_url = models.URLField(max_length=2000, blank=True)
    webhook_secret = EncryptedTextField(blank=True, help_text="whsec_..., stored encrypted.")

    # sftp
    sftp_hosted = models.BooleanField(default=False)
    sftp_host = models.CharField(max_length=255, blank=True)
    sftp_port = models.PositiveIntegerField(default=22)
    sftp_username = models.CharField(max_length=150, blank=True)
    sftp_password = EncryptedTextField(blank=True)
    sftp_private_key = EncryptedTextField(blank=True)
    sftp_path = models.CharField(max_length=500, blank=True)
    # Where the supplier drops update files on its own server (relative to the login's
    # directory, or absolute); blank: not looked at. Hosted drops use updates/ in the storage.
    sftp_updates_path = models.CharField(max_length=500, blank=True, default="updates")
    sftp_host_key = models.TextField(blank=True, help_text='Pinned key: "TYPE BASE64".')
    sftp_interval_minutes = models.PositiveIntegerField(default=15)
    # A built-in format (delivery.formats.FORMATS) or a FileFormat's name, checked by the
    # service against what the supplier may use.
    sftp_format = models.CharField(max_length=64, default="csv")
    sftp_last_run_at = models.DateTimeField(null=True, blank=True)
    # A run queued and not yet reported a success (failed, lost with the broker, or its worker
    # killed): how many in a row, and when the next one is due whatever the interval
    # (SFTP_RUN_RETRY_SECONDS, capped at the interval). Cleared by a run that sent everything.
    sftp_failed_runs = models.PositiveIntegerField(default=0)
    sftp_retry_at = models.DateTimeField(null=True, blank=True)

    # files, whatever carries them (docs/formats.md)
    email_attach_format = models.CharField(
        "attach the order file",
        max_length=64,
        blank=True,
        help_text="Email only: a format name to attach each new order as a file; blank: none.",
    )
    csv_neutralise = models.BooleanField(
        "neutralise formulas",
        default=True,
        help_text="Delimited files: cells starting =, +, - or @ are made inert for "
        "spreadsheets. Turn off only for an importer that needs the raw values.",
    )
    x12_sender_id = models.CharField(
        "X12 sender ID",
        max_length=15,
        blank=True,
        validators=[X12_ID],
        help_text="ISA06/GS02; blank: DROPSHIPHUB.",
    )
    x12_receiver_id = models.CharField(
        "X12 receiver ID",
        max_length=15,
        blank=True,
        validators=[X12_ID],
        help_text="ISA08/GS03; blank: the supplier's slug, upper-cased.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "channel"], name="destination_one_per_channel"
            ),
            models.UniqueConstraint(
                fields=["retailer", "channel"],
                condition=Q(retailer__isnull=False),
                name="destination_retailer_one_per_channel",
            ),
            models.CheckConstraint(
                condition=Q(supplier__isnull=False, retailer__isnull=True)
                | Q(supplier__isnull=True, retailer__isnull=False),
                name="destination_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(sftp_interval_minutes__gte=1), name="destination_sftp_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        owner = self.supplier.slug if self.supplier_id else f"retailer {self.retailer.slug}"
        return f"{owner}:{self.channel}"


class DeliveryPurpose(models.TextChoices):
    SUPPLIER_ORDER = "supplier_order", "Order to supplier"
    RETAILER_CANCELLATION = "retailer_cancellation", "Cancellation to retailer"
    FAILURE_NOTICE = "failure_notice", "Failure notice to supplier"
    MONTHLY_SUMMARY = "monthly_summary", "Monthly summary to retailer"
    ACKNOWLEDGE_REMINDER = "acknowledge_reminder", "Acknowledgement reminder to supplier"
    RETAILER_SHIPMENT = "retailer_shipment", "Shipment to retailer"
    RETAILER_WEBHOOK = "retailer_webhook", "Webhook to retailer"


# Messages to a retailer: a supplier may not send one again once it was delivered.
RETAILER_FACING_PURPOSES = frozenset(
    {
        DeliveryPurpose.RETAILER_CANCELLATION,
        DeliveryPurpose.RETAILER_SHIPMENT,
        DeliveryPurpose.RETAILER_WEBHOOK,
        DeliveryPurpose.MONTHLY_SUMMARY,
    }
)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Delivery(models.Model):
    event = models.ForeignKey(
        OrderEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    # What made the row when it is not an order event, named by its owner (e.g. "summary:<id>",
    # see statements): delivery never imports the apps that send through it.
    source_key = models.CharField(max_length=64, blank=True, default="")
    # Whose it is: the supplier sees its own deliveries in the portal.
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    destination = models.ForeignKey(
        Destination, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    purpose = models.CharField(max_length=32, choices=DeliveryPurpose.choices)
    # "destination:<id>", "retailer:<id>", ...: with `event` (or `source_key`) it is unique, so
    # the dispatcher can run twice and still make one row per (event, destination).
    target_key = models.CharField(max_length=64)
    # Where it went when made: addresses or URL (never a secret).
    recipient = models.TextField(blank=True)
    # What the receiver dedupes on: webhook-id, file name, Message-ID. Never changes.
    identity = models.CharField(max_length=200, unique=True)
    # An email the SMTP server took for some addresses and refused for others: the addresses
    # that have it, so a retry (or a redelivery of the row not delivered) sends it to the rest
    # only and nobody gets it twice. Emptied when the row is delivered: every address has it.
    accepted_recipients = models.JSONField(default=list, blank=True)

    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set when a task is sent to the broker; the sweeper re-queues rows whose task never ran.
    queued_at = models.DateTimeField(null=True, blank=True)
    # A worker's lease on the row while it sends (set by a conditional UPDATE); a worker killed
    # mid-send simply lets it lapse and the sweeper queues the row again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # For failure notices: the delivery that failed (or the one answered with 410 Gone).
    cause = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="notices"
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The last redelivery on request; set by the conditional UPDATE that enforces the cooldown
    # (DELIVERY_REDELIVER_COOLDOWN_SECONDS), so concurrent clicks reset the row once.
    redelivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "target_key"],
                condition=Q(event__isnull=False),
                name="delivery_once_per_event_target",
            ),
            models.UniqueConstraint(
                fields=["source_key", "target_key"],
                condition=~Q(source_key=""),
                name="delivery_once_per_source_target",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["supplier", "status", "created_at"], name="delivery_supplier_status"
            ),
            models.Index(fields=["destination", "status"], name="delivery_dest_status"),
        ]

    def __str__(self) -> str:
        return self.identity

    @property
    def supplier_may_redeliver(self) -> bool:
        """Whether the portal offers Redeliver: not for a retailer's message once delivered."""
        return not (
            self.purpose in RETAILER_FACING_PURPOSES and self.status == DeliveryStatus.DELIVERED
        )


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    success = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # For webhooks: the first few KB of the receiver's answer.
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery_id", "started_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id}@{self.started_at:%Y-%m-%d %H:%M:%S}"


# Formats made in admin and the files deliveries sent: the delivery app's models too.
from .formats.models import DeliveryFile, FileFormat, FileFormatVersion  # noqa: E402, F401


class HostedSftpKey(models.Model):
    """An SSH public key that logs a supplier in to the hosted SFTP server (user: its slug).

    Only the public half is kept; the fingerprint (SHA256, as OpenSSH prints it) names the key
    in the portal and in `sftp_keys`.
    """

    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, related_name="hosted_sftp_keys"
    )
    key_type = models.CharField(max_length=64)
    key_base64 = models.TextField()
    comment = models.CharField(max_length=200, blank=True)
    fingerprint = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "fingerprint"], name="hosted_sftp_key_once_per_supplier"
            )
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.key_type} {self.fingerprint} {self.comment}".strip()


class HostedSftpPassword(models.Model):
    """A supplier's generated hosted-SFTP password, as Django's password hash (shown once)."""

    supplier = models.OneToOneField(
        Supplier, on_delete=models.CASCADE, related_name="hosted_sftp_password"
    )
    password_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"hosted SFTP password of {self.supplier_id}"
