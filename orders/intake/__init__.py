"""The intake document: its fields, its validation, and errors keyed by the field's path.

The API and `import_orders` both validate through `intake_validate`, so both follow one rule
set. Types are strict: a quantity must be a JSON integer, a name a JSON string. The CSV form
of the same documents (`import_orders FILE.csv`) is read in orders/intake/csv.py.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django_countries import countries
from rest_framework import serializers

from ..inputs import InputError, time_parse
from .fast import FastPath

MAX_LINES = 500
MAX_QUANTITY = 100_000


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with a UTC offset, within the input range (orders/inputs.py)."""

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601, e.g. 2026-11-27T10:00:00Z")
        try:
            return time_parse(value)
        except InputError as exc:
            raise serializers.ValidationError(str(exc)) from None


class CustomerSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    # No default="": the OpenAPI document would carry "" as the default of an email-format
    # string, which is not an email (openapi-spec-validator refuses it); intake reads a
    # missing email as "".
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = StrictCharField(max_length=40, required=False, allow_blank=True, default="")


class AddressSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    line1 = StrictCharField(max_length=200)
    line2 = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    city = StrictCharField(max_length=100)
    region = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    postcode = StrictCharField(max_length=20, required=False, allow_blank=True, default="")
    country = StrictCharField(min_length=2, max_length=2)

    def validate_country(self, value: str) -> str:
        code = country_code(value)
        if code is None:
            raise serializers.ValidationError(f"'{value}' is not an ISO 3166-1 alpha-2 code.")
        return code


def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code `value` is (any case), or None.

    django-countries' list of the assigned codes; an exact alpha-2 match only (its alpha2()
    would also turn alpha-3 and numeric codes into one).
    """
    code = value.upper()
    return code if code in countries else None


class IntakeLineSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY)


class IntakeSerializer(serializers.Serializer):
    reference = StrictCharField(max_length=100)
    placed_at = AwareDateTimeField(required=False)
    customer = CustomerSerializer()
    shipping_address = AddressSerializer()
    lines = IntakeLineSerializer(many=True, allow_empty=False, max_length=MAX_LINES)


def errors_flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested errors into {"shipping_address.city": [...], "lines.0.sku": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = (
                prefix
                if key in ("non_field_errors",) and prefix
                else (f"{prefix}.{key}" if prefix else str(key))
            )
            for k, v in errors_flatten(value, name).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(errors, list):
        if all(isinstance(item, str) for item in errors):
            flat.setdefault(prefix or "body", []).extend(str(item) for item in errors)
        else:
            for index, item in enumerate(errors):
                if item:
                    for k, v in errors_flatten(item, f"{prefix}.{index}").items():
                        flat.setdefault(k, []).extend(v)
    else:
        flat.setdefault(prefix or "body", []).append(str(errors))
    return flat


# One serializer for every call: building one (DRF deep-copies its declared fields per
# instance) cost 0.4 ms, five times the validation itself. Validation keeps no state on the
# instance or its fields; test_intake_api checks that payloads validated one after another,
# good and bad, do not leak into each other.
_INTAKE_SERIALIZER = IntakeSerializer()
# Its rules, checked in plain code for a well-formed document (orders/intake/fast.py).
_FAST_PATH = FastPath(_INTAKE_SERIALIZER, country_code=country_code)


def intake_validate(*, payload: Any) -> dict:
    """Return the cleaned intake document, or raise ValidationError({field: [messages]})."""
    if not isinstance(payload, dict):
        raise ValidationError({"body": ["Expected a JSON object."]})
    data = _FAST_PATH.clean(payload)
    if data is not None:
        return data
    # Anything the fast path is not sure of: the serializer decides, with its errors.
    try:
        data = _INTAKE_SERIALIZER.run_validation(payload)
    except serializers.ValidationError as exc:
        raise ValidationError(errors_flatten(exc.detail)) from None
    return dict(data)
