"""The update API's request bodies (issue 13): closed, strictly typed serializers, one per
endpoint, and the `lines` they carry as the services take them."""

from __future__ import annotations

from rest_framework import serializers

from orders.intake import MAX_LINES, StrictCharField, StrictIntegerField
from orders.models import CancellationReason
from orders.services import LineQuantity


class _Body(serializers.Serializer):
    # A request body's serializer whose fields are copied once per class, not per request:
    # DRF deep-copies the declared fields for every serializer it makes (two thirds of
    # validating a shipment's body). These fields keep nothing between validations (DRF's
    # ListSerializer already validates every item with its one child) and read no context,
    # so one bound copy, of an instance made for it, serves every request. (A comment, not
    # a docstring: the schema would print a docstring as each body's description.)

    @property
    def fields(self):
        cls = type(self)
        fields = cls.__dict__.get("_fields_once")
        if fields is None:
            fields = serializers.Serializer.fields.func(cls())
            cls._fields_once = fields
        return fields

    # An unknown key is a 400 naming it, as an unknown query parameter is (and as Stripe
    # refuses an unknown parameter): DRF drops it, and a body whose `lines` was misspelt
    # ("line", "items", "Lines") then cancelled or shipped every open unit, for good, with
    # the retailer emailed (found in review).
    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = self.fields
            unknown = [key for key in data if key not in known]
            if unknown:
                names = ", ".join(known) or "none (send {})"
                raise serializers.ValidationError(
                    {
                        _key_shown(key): [f"Unknown field; the fields here are: {names}."]
                        for key in unknown[:10]
                    }
                )
        return super().to_internal_value(data)


def _key_shown(key) -> str:
    """An unknown key as the error names it: at most 100 characters, and a lone surrogate
    (JSON's "\\ud800", which decodes but cannot be encoded again) written as its escape, so
    the answer can be sent (found in review: such a key was a 500)."""
    return str(key)[:100].encode("utf-8", "backslashreplace").decode("utf-8")


# Types are strict, as intake's (orders/intake): a line and a quantity are JSON integers, a
# note, carrier or tracking number a JSON string; "1" or 5 in their place is a 400 naming it.
# `lines` holds at most MAX_LINES items, as many as an order can have (intake's limit), and
# is refused before any item is read: a body of 80,000 items (within the body size limit)
# took some 10 s of a worker to answer with a 4.5 MB list of errors (found in review).


class LineQuantitySerializer(_Body):
    line = StrictIntegerField(min_value=1, max_value=2**31 - 1)
    quantity = StrictIntegerField(min_value=1, max_value=2**31 - 1)


class AcknowledgementRequest(_Body):
    pass


class CancellationRequest(_Body):
    reason = serializers.ChoiceField(choices=CancellationReason.choices)
    note = StrictCharField(max_length=2000, help_text="Why; the retailer reads it.")
    lines = LineQuantitySerializer(
        many=True,
        required=False,
        allow_empty=False,
        max_length=MAX_LINES,
        help_text="Omitted: every open unit (the whole order).",
    )


class ShipmentRequest(_Body):
    carrier = StrictCharField(max_length=100)
    tracking_number = StrictCharField(max_length=100, allow_blank=True, default="")
    lines = LineQuantitySerializer(
        many=True,
        required=False,
        allow_empty=False,
        max_length=MAX_LINES,
        help_text="Omitted: every open unit.",
    )


def body_lines(data) -> list[LineQuantity] | None:
    """The body's `lines` as the services take them; None (every open unit) when left out."""
    if "lines" not in data:
        return None
    return [LineQuantity(line=item["line"], quantity=item["quantity"]) for item in data["lines"]]
