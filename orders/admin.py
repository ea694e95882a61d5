from django.contrib import admin

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


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
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

    def has_add_permission(self, request, obj=None):
        return False


def _record_lines(record) -> str:
    """ "line 1 x 2, line 3 x 1": the units of each line a cancellation or shipment took."""
    return ", ".join(f"line {item.line.line_no} x {item.quantity}" for item in record.lines.all())


class _ReadOnlyInline(admin.TabularInline):
    """Cancellations and shipments are written by the order services only (orders/services/)."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines__line")

    @admin.display(description="Lines")
    def units(self, record):
        return _record_lines(record)


class CancellationInline(_ReadOnlyInline):
    model = Cancellation
    fields = readonly_fields = ["created_at", "reason", "note", "units", "actor"]


class ShipmentInline(_ReadOnlyInline):
    model = Shipment
    fields = readonly_fields = [
        "shipped_at",
        "carrier",
        "tracking_number",
        "units",
        "actor",
        "created_at",
    ]


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ["type", "actor", "note", "data", "created_at", "dispatched_at"]
    exclude = ["actor_user"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: status changes go through `order_set_status` (the portal), never a raw save."""

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

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "order", "actor", "created_at", "dispatched_at"]
    list_filter = ["type"]
    search_fields = ["order__number", "actor"]
    raw_id_fields = ["order", "actor_user"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
