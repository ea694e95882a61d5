from django.contrib import admin

from common.admin_dates import DateHierarchyBounded
from common.admin_display import readable

from .models import (
    Cancellation,
    Order,
    OrderEvent,
    OrderLine,
    Retailer,
    Shipment,
)


@admin.register(Retailer)
class RetailerAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "email", "commission_rate", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name", "email"]
    readonly_fields = ["api_key_prefix", "api_key_hash", "created_at"]

    def has_add_permission(self, request):
        return False  # `manage.py create_retailer` creates one and prints its key once.


class _ReadOnlyInline(admin.TabularInline):
    """An order's lines, records and events are written by the order services only
    (orders/services/); the admin shows them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    readonly_fields = [
        "line_no",
        "sku",
        "name",
        "quantity",
        "quantity_cancelled",
        "quantity_shipped",
        "quantity_open",
        "unit_price",
        "line_total",
    ]
    exclude = ["product"]


def _record_lines(record) -> str:
    """'line 1 x 2, line 3 x 1': the units of each line a cancellation or shipment took."""
    return ", ".join(f"line {item.line.line_no} x {item.quantity}" for item in record.lines.all())


class _RecordInline(_ReadOnlyInline):
    """A cancellation or a shipment, with the units of each line it took."""

    show_change_link = False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines__line")

    @admin.display(description="Lines")
    def units(self, record):
        return _record_lines(record)


class CancellationInline(_RecordInline):
    model = Cancellation
    fields = readonly_fields = ["created_at", "reason", "note", "units", "actor"]


class ShipmentInline(_RecordInline):
    model = Shipment
    fields = readonly_fields = [
        "shipped_at",
        "carrier",
        "tracking_number",
        "units",
        "actor",
        "created_at",
    ]


class OrderEventInline(_ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ["type", "actor", "note", "details", "created_at", "dispatched_at"]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="details")
    def details(self, event):
        return readable(event.data)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Orders and their events change through the order services only, never a raw save:
    their pages are for reading (no save button)."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(DateHierarchyBounded, _ReadOnlyAdmin):
    """Read-only: changes go through the order services (the portal, the APIs), never a raw
    save."""

    list_display = [
        "number",
        "status",
        "supplier",
        "retailer",
        "retailer_reference",
        "total",
        "currency",
        "placed_at",
    ]
    list_filter = ["status", "supplier", "retailer"]
    search_fields = ["number", "retailer_reference", "customer_name", "customer_email"]
    date_hierarchy = "placed_at"
    list_select_related = ["supplier", "retailer"]
    show_full_result_count = False
    inlines = [OrderLineInline, CancellationInline, ShipmentInline, OrderEventInline]
    # The API's cached JSON of the order (orders/documents.py): internal, not for reading.
    internal_fields = ("document_tail", "document_version")

    def get_readonly_fields(self, request, obj=None):
        return [
            f for f in super().get_readonly_fields(request, obj) if f not in self.internal_fields
        ]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)


@admin.register(OrderEvent)
class OrderEventAdmin(_ReadOnlyAdmin):
    list_display = ["id", "type", "order", "actor", "created_at", "dispatched_at"]
    list_filter = ["type"]
    search_fields = ["order__number", "actor"]
    list_select_related = ["order"]
    show_full_result_count = False
    fields = ["order", "type", "actor", "actor_user", "note", "details", "created_at"]
    fields += ["dispatched_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description="details")
    def details(self, event):
        return readable(event.data)
