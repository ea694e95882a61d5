"""OpenAPI descriptions of the order document (the document itself is `orders.documents`)."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers


class RetailerRefSchema(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    reference = serializers.CharField()


class CustomerSchema(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)


class AddressSchema(serializers.Serializer):
    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(allow_blank=True)
    city = serializers.CharField()
    region = serializers.CharField(allow_blank=True)
    postcode = serializers.CharField(allow_blank=True)
    country = serializers.CharField(min_length=2, max_length=2)


class LineSchema(serializers.Serializer):
    line = serializers.IntegerField(min_value=1)
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    quantity_cancelled = serializers.IntegerField(
        min_value=0, help_text="Units of this line cancelled so far."
    )
    quantity_shipped = serializers.IntegerField(
        min_value=0, help_text="Units of this line shipped so far."
    )


class RecordLineSchema(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, help_text="The order line's `line` number.")
    quantity = serializers.IntegerField(min_value=1)


class CancellationRecordSchema(serializers.Serializer):
    reason = serializers.CharField()
    note = serializers.CharField()
    cancelled_at = serializers.DateTimeField()
    lines = RecordLineSchema(many=True)


class ShipmentRecordSchema(serializers.Serializer):
    carrier = serializers.CharField(allow_blank=True)
    tracking_number = serializers.CharField(allow_blank=True)
    shipped_at = serializers.DateTimeField()
    lines = RecordLineSchema(many=True)


class CancellationSchema(serializers.Serializer):
    reason = serializers.CharField()
    note = serializers.CharField()
    cancelled_at = serializers.DateTimeField()


class ShipmentSchema(serializers.Serializer):
    carrier = serializers.CharField(allow_blank=True)
    tracking_number = serializers.CharField(allow_blank=True)
    shipped_at = serializers.DateTimeField()


class OrderDocumentSchema(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=["placed", "processing", "shipped", "cancelled"])
    supplier = serializers.CharField()
    retailer = RetailerRefSchema()
    placed_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(
        allow_null=True, help_text="When you acknowledged it (or first shipped or cancelled)."
    )
    acknowledge_by = serializers.DateTimeField(
        help_text=(
            "Acknowledge by then, or it is overdue: placed_at + ORDER_ACKNOWLEDGE_HOURS, "
            "set when the order arrived (a later change of the setting does not move it)."
        ),
    )
    customer = CustomerSchema()
    shipping_address = AddressSchema()
    lines = LineSchema(many=True)
    currency = serializers.CharField(min_length=3, max_length=3)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    cancellation = CancellationSchema(
        allow_null=True, help_text="Set only when the whole order is cancelled."
    )
    shipment = ShipmentSchema(allow_null=True, help_text="The latest shipment.")
    cancellations = CancellationRecordSchema(
        many=True, help_text="Every cancellation, partial or whole, oldest first."
    )
    shipments = ShipmentRecordSchema(many=True, help_text="Every shipment, oldest first.")


class IntakeResponseSchema(serializers.Serializer):
    reference = serializers.CharField()
    orders = OrderDocumentSchema(many=True)


class RetailerOrderSchema(serializers.Serializer):
    reference = serializers.CharField(help_text="Your reference, as you sent the order.")
    orders = OrderDocumentSchema(many=True, help_text="Every supplier's part, by number.")


class ErrorsSchema(serializers.Serializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class OrderListSchema(serializers.Serializer):
    results = OrderDocumentSchema(many=True)
    next = serializers.URLField(
        allow_null=True,
        help_text="Absolute URL of the next page of the same walk, or null on the last page.",
    )


class ClosedBodyExtension(OpenApiSerializerExtension):
    """The update endpoints' bodies (orders/api/update_bodies.py's `_Body`) refuse a key they do
    not know with a 400 naming it; their schema says so (`additionalProperties: false`), so
    a generated client or a schema-driven test does not send one."""

    target_class = "orders.api.update_bodies._Body"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
