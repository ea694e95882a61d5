"""Cancellations and shipments: who took which units of which lines out of an order, and when.

An order's lines carry the running totals (`OrderLine.quantity_cancelled`,
`quantity_shipped`); these records say how they came about, for the document's
`cancellations` and `shipments`, the retailer's email and the monthly summaries. Written only
by the services in orders/services/cancellations.py and shipments.py, never changed after.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .order import CancellationReason, Order, OrderLine, Retailer


class Cancellation(models.Model):
    """One cancellation: some units of some lines, or every open unit ("cancel the order")."""

    # Indexed by cancellation_order_time, which leads with it.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="cancellations", db_index=False
    )
    # The order's retailer (which never changes), written with it: a monthly summary reads
    # the cancellations of its batch's retailers made in the month by
    # cancellation_retailer_time, so neither the other retailers' cancellations of the month
    # nor these retailers' earlier orders bound the scan.
    retailer = models.ForeignKey(
        Retailer, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=32, choices=CancellationReason.choices)
    note = models.TextField()
    actor = models.CharField(max_length=150, help_text="Who: user:NAME, ops, system.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="cancellation_order_time"),
            # Monthly summaries: a batch of retailers' cancellations made in a month.
            models.Index(fields=["retailer", "created_at"], name="cancellation_retailer_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=CancellationReason.values), name="cancellation_reason_valid"
            ),
            models.CheckConstraint(condition=~Q(note=""), name="cancellation_note_not_empty"),
        ]

    def __str__(self) -> str:
        return f"cancellation {self.pk} of {self.order_id}"


class CancellationLine(models.Model):
    # Indexed by the unique (cancellation, line) constraint.
    cancellation = models.ForeignKey(
        Cancellation, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["cancellation_id", "line_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cancellation", "line"], name="cancellationline_unique_line"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="cancellationline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} x{self.quantity}"


class Shipment(models.Model):
    """One parcel: carrier, tracking number, time, and the units of the lines it holds."""

    # Indexed by shipment_order_time, which leads with it.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="shipments", db_index=False
    )
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField()
    actor = models.CharField(max_length=150, help_text="Who: user:NAME, ops, system.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="shipment_order_time")]

    def __str__(self) -> str:
        return f"shipment {self.pk} of {self.order_id}"


class ShipmentLine(models.Model):
    # Indexed by the unique (shipment, line) constraint.
    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["shipment_id", "line_id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "line"], name="shipmentline_unique_line"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="shipmentline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} x{self.quantity}"
