"""The supplier update API (issue 13): acknowledge, cancel, ship, each through the same
service as the portal, each answering with the order document as it now is.

Checks, in order: the token (401), its rate (429), its scope (403), the body (400), the
Idempotency-Key (400 malformed, 422 reused for another request, else a replay), the order
(404), the service (400 naming the field, 409 when the order's state does not allow it).
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied

from orders.documents import document_text, document_text_middle, json_text
from orders.inputs import text_problem
from orders.intake import StrictCharField, StrictIntegerField
from orders.models import CancellationReason
from orders.numbers import order_number_plausible
from orders.selectors import order_get_for_supplier
from orders.services import (
    LineQuantity,
    order_acknowledge,
    order_lines_cancel,
    order_shipment_create,
    source_api,
)
from orders.services.changes import order_hold_flush, order_hold_for_supplier
from orders.services.idempotency import (
    idempotency_claim,
    idempotency_fingerprint,
    idempotency_record,
)
from orders.transactions import bounded_atomic

from .auth import SupplierTokenAuthentication
from .errors import exception_handler
from .schema import ErrorsSchema, OrderDocumentSchema
from .throttles import SupplierTokenThrottle
from .views import _ERRORS_401, _ERRORS_429, _RETRY_AFTER_PARAM, _JSONAPIView

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_MAX_LENGTH = 255


class ScopeDenied(PermissionDenied):
    error_field = "scope"


class UpdateScope(permissions.BasePermission):
    """The update endpoints need a token made with --update (or the portal's checkbox)."""

    def has_permission(self, request, view) -> bool:
        if not request.auth.can_update:
            raise ScopeDenied(
                "This token may only read. Make a token with the update scope "
                "(create_api_token SLUG --update, or the portal's checkbox)."
            )
        return True


class IdempotencyError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    error_field = IDEMPOTENCY_HEADER


class IdempotencyReused(IdempotencyError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


# --- Request bodies ---------------------------------------------------------------------


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
                        str(key)[:100]: [f"Unknown field; the fields here are: {names}."]
                        for key in unknown[:10]
                    }
                )
        return super().to_internal_value(data)


# Types are strict, as intake's (orders/intake): a line and a quantity are JSON integers, a
# note, carrier or tracking number a JSON string; "1" or 5 in their place is a 400 naming it.


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
        help_text="Omitted: every open unit (the whole order).",
    )


class ShipmentRequest(_Body):
    carrier = StrictCharField(max_length=100)
    tracking_number = StrictCharField(max_length=100, allow_blank=True, default="")
    lines = LineQuantitySerializer(
        many=True, required=False, allow_empty=False, help_text="Omitted: every open unit."
    )


def _lines(data) -> list[LineQuantity] | None:
    if "lines" not in data:
        return None
    return [LineQuantity(line=item["line"], quantity=item["quantity"]) for item in data["lines"]]


# --- The shared flow ----------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class _UpdateView(_JSONAPIView):
    authentication_classes = [SupplierTokenAuthentication]
    throttle_classes = [SupplierTokenThrottle]
    permission_classes = [UpdateScope]
    request_serializer: type[serializers.Serializer]
    success_status = status.HTTP_200_OK

    def apply(self, *, order, data, source, hold):  # pragma: no cover - abstract
        """Call the service; return the order as it now is (the service's locked copy)."""
        raise NotImplementedError

    def post(self, request, number: str):
        body = request.data
        if not isinstance(body, dict):
            raise serializers.ValidationError({"body": ["Send a JSON object, e.g. {}."]})
        serializer = self.request_serializer(data=body)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            code, text = self._apply(request, number, serializer.validated_data)
            return _document_response(text, status=code)
        key = _key_checked(key)
        fingerprint = idempotency_fingerprint(
            method=request.method, path=request.path, body=json.dumps(body, sort_keys=True)
        )
        with bounded_atomic(bound_with_first=True):  # sent with the claim
            claim = idempotency_claim(
                supplier=request.auth.supplier, key=key, fingerprint=fingerprint
            )
            if claim.mismatch:
                raise IdempotencyReused(
                    "This key was used for another request in the last 24 hours; "
                    "use a new key for a new request."
                )
            if claim.replay is not None:
                response = _document_response(
                    claim.replay.response_body, status=claim.replay.status_code
                )
                response["Idempotent-Replayed"] = "true"
                return response
            try:
                code, text = self._apply(request, number, serializer.validated_data)
            except Exception as exc:  # the answer an error gets, stored like any other
                handled = exception_handler(exc, {"request": request, "view": self})
                if handled is None or handled.status_code >= 500:
                    raise
                code, text = handled.status_code, json_text(handled.data)
            idempotency_record(row=claim.row, status_code=code, body=text)
        return _document_response(text, status=code)

    def _apply(self, request, number: str, data) -> tuple[int, str]:
        supplier = request.auth.supplier
        with bounded_atomic(bound_with_first=True):
            # Found and locked in one round trip (with BEGIN and the transaction's bound);
            # the service changes it under this hold.
            hold = order_hold_for_supplier(supplier=supplier, number=number)
            if hold is None:
                raise NotFound(f"You have no order '{number}'.")
            changed = self.apply(
                order=hold.order, data=data, source=source_api(request.auth), hold=hold
            )
            order_hold_flush(hold)
        if changed.document_version != changed.version:  # unchanged, and stored before
            return self.success_status, order_get_for_supplier(supplier=supplier, number=number)
        # The answer from the order in hand (its stored text is of this version): no re-read.
        retailer = hold.order.retailer
        middle = document_text_middle(
            supplier_slug=supplier.slug, retailer_slug=retailer.slug, retailer_name=retailer.name
        )
        text = document_text(
            changed.number,
            changed.status,
            middle,
            changed.retailer_reference,
            changed.document_tail,
        )
        return self.success_status, text

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not order_number_plausible(kwargs.get("number", "")):
            raise NotFound("No order has that number.")


def _key_checked(key: str) -> str:
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_MAX_LENGTH or text_problem(key) or not key.isprintable():
        raise IdempotencyError(
            f"Give a key of 1 to {IDEMPOTENCY_MAX_LENGTH} printable characters, "
            "e.g. a UUID, new for each change."
        )
    return key


def _document_response(text: str, *, status: int) -> HttpResponse:
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return HttpResponse(text.encode(), status=status, content_type="application/json")


# --- OpenAPI ------------------------------------------------------------------------------

_IDEMPOTENCY_PARAM = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional; a new value (e.g. a UUID) for each change. A retry with the same "
    "key and body within 24 hours replays the first answer and applies nothing again; the "
    "same key with another body is 422.",
)


def _responses(success: int, success_description: str) -> dict:
    return {
        success: OpenApiResponse(OrderDocumentSchema, description=success_description),
        400: OpenApiResponse(ErrorsSchema, description="A bad field, named"),
        401: _ERRORS_401,
        403: OpenApiResponse(ErrorsSchema, description="The token may only read (`scope`)"),
        404: OpenApiResponse(ErrorsSchema, description="No such order of yours"),
        409: OpenApiResponse(
            ErrorsSchema, description="The order's state does not allow it (more than is open)"
        ),
        422: OpenApiResponse(ErrorsSchema, description="Idempotency-Key reused for another body"),
        429: _ERRORS_429,
    }


_CONFLICT_EXAMPLE = OpenApiExample(
    "More than is open",
    value={"errors": {"lines.0.quantity": ["Line 1 (SKU-1) has 1 of 2 open; you cannot ship 2."]}},
    response_only=True,
    status_codes=["409"],
)


@extend_schema_view(
    post=extend_schema(
        operation_id="supplier_orders_acknowledge",
        summary="Acknowledge an order: you have it",
        description="Repeating it is harmless. Shipping or cancelling also acknowledges.",
        request=AcknowledgementRequest,
        parameters=[_IDEMPOTENCY_PARAM, _RETRY_AFTER_PARAM],
        responses=_responses(200, "The order, acknowledged"),
        examples=[OpenApiExample("Acknowledge", value={}, request_only=True)],
        tags=["supplier updates"],
    )
)
class AcknowledgementView(_UpdateView):
    request_serializer = AcknowledgementRequest

    def apply(self, *, order, data, source, hold):
        return order_acknowledge(order=order, actor=source.actor, channel=source, hold=hold)[0]


@extend_schema_view(
    post=extend_schema(
        operation_id="supplier_orders_cancel",
        summary="Cancel some units, or the whole order",
        description="Without `lines`, every open unit is cancelled. The retailer is emailed "
        "as when you cancel in the portal.",
        request=CancellationRequest,
        parameters=[_IDEMPOTENCY_PARAM, _RETRY_AFTER_PARAM],
        responses=_responses(200, "The order after the cancellation"),
        examples=[
            OpenApiExample(
                "Cancel one unit of line 2",
                value={
                    "reason": "out_of_stock",
                    "note": "Last one sold in store.",
                    "lines": [{"line": 2, "quantity": 1}],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Cancel the whole order",
                value={"reason": "bad_address", "note": "No such street."},
                request_only=True,
            ),
            _CONFLICT_EXAMPLE,
        ],
        tags=["supplier updates"],
    )
)
class CancellationView(_UpdateView):
    request_serializer = CancellationRequest

    def apply(self, *, order, data, source, hold):
        return order_lines_cancel(
            order=order,
            hold=hold,
            actor=source.actor,
            reason=data["reason"],
            note=data["note"],
            lines=_lines(data),
            source=source,
        ).order


@extend_schema_view(
    post=extend_schema(
        operation_id="supplier_orders_ship",
        summary="Record a shipment of some units, or of every open unit",
        request=ShipmentRequest,
        parameters=[_IDEMPOTENCY_PARAM, _RETRY_AFTER_PARAM],
        responses=_responses(201, "The order with the shipment"),
        examples=[
            OpenApiExample(
                "Ship everything open",
                value={"carrier": "DPD", "tracking_number": "15501234567890"},
                request_only=True,
            ),
            OpenApiExample(
                "Ship two units of line 1",
                value={
                    "carrier": "Royal Mail",
                    "tracking_number": "AB123456789GB",
                    "lines": [{"line": 1, "quantity": 2}],
                },
                request_only=True,
            ),
            _CONFLICT_EXAMPLE,
        ],
        tags=["supplier updates"],
    )
)
class ShipmentsView(_UpdateView):
    request_serializer = ShipmentRequest
    success_status = status.HTTP_201_CREATED

    def apply(self, *, order, data, source, hold):
        return order_shipment_create(
            order=order,
            hold=hold,
            actor=source.actor,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            lines=_lines(data),
            source=source,
        ).order
