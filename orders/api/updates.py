"""The supplier update API (issue 13): acknowledge, cancel, ship, each through the same
service as the portal, each answering with the order document as it now is.

Checks, in order: the token (401), its rate (429), its scope (403), the body (400), the
Idempotency-Key (400 malformed, 422 reused for another request, else a replay), the order
(404), the service (400 naming the field, 409 when the order's state does not allow it).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied

from orders.documents import document_text, document_text_middle
from orders.numbers import order_number_plausible
from orders.selectors import order_get_for_supplier
from orders.services import (
    order_acknowledge,
    order_lines_cancel,
    order_shipment_create,
    source_api,
)
from orders.services.changes import order_hold_flush, order_hold_for_supplier
from orders.transactions import bounded_atomic

from .auth import SupplierTokenAuthentication
from .idempotency import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_PARAM,
    idempotency_key_checked,
    idempotent_answer,
)
from .schema import ErrorsSchema, OrderDocumentSchema
from .throttles import SupplierTokenThrottle
from .update_bodies import (
    AcknowledgementRequest,
    CancellationRequest,
    ShipmentRequest,
    body_lines,
)
from .views import _ERRORS_401, _ERRORS_429, _RETRY_AFTER_PARAM, _JSONAPIView


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
        code, text, replayed = idempotent_answer(
            request,
            self,
            key=idempotency_key_checked(key),
            body=body,
            apply=lambda: self._apply(request, number, serializer.validated_data),
        )
        response = _document_response(text, status=code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

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


def _document_response(text: str, *, status: int) -> HttpResponse:
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return HttpResponse(text.encode(), status=status, content_type="application/json")


# --- OpenAPI ------------------------------------------------------------------------------


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
        parameters=[IDEMPOTENCY_PARAM, _RETRY_AFTER_PARAM],
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
        parameters=[IDEMPOTENCY_PARAM, _RETRY_AFTER_PARAM],
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
            lines=body_lines(data),
            source=source,
        ).order


@extend_schema_view(
    post=extend_schema(
        operation_id="supplier_orders_ship",
        summary="Record a shipment of some units, or of every open unit",
        request=ShipmentRequest,
        parameters=[IDEMPOTENCY_PARAM, _RETRY_AFTER_PARAM],
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
            lines=body_lines(data),
            source=source,
        ).order
