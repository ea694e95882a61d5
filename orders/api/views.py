"""The retailer intake API and the supplier read API. Views parse, call one service or
selector, render."""

from json.encoder import encode_basestring
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.documents import iso, json_text, order_document, stored_document_text
from orders.inputs import text_problem
from orders.intake import IntakeSerializer
from orders.models import OrderStatus
from orders.numbers import order_number_plausible
from orders.selectors import (
    order_get_for_retailer,
    order_get_for_supplier,
    order_list_for_retailer,
    order_list_for_supplier,
)
from orders.services import order_place_from_retailer

from .auth import RetailerKeyAuthentication, SupplierTokenAuthentication
from .negotiation import JSONOnlyContentNegotiation
from .openapi import list_description
from .pagination import cursor_encode
from .params import ALLOWED, RETAILER_ALLOWED, order_list_params, retailer_order_list_params
from .parsers import json_body
from .schema import (
    ErrorsSchema,
    IntakeResponseSchema,
    OrderDocumentSchema,
    OrderListSchema,
    RetailerOrderSchema,
)
from .throttles import RetailerKeyThrottle, SupplierTokenThrottle


def _next_url(request, page, *, allowed) -> str | None:
    """The next page's absolute URL, or None on the last page: the request's own parameters
    (each given once: checked by the params parser), the cursor moved on; a dict rather than
    QueryDict.copy(), which deep-copies."""
    if page.next_position is None:
        return None
    given = request.query_params
    query = {name: given[name] for name in allowed if name in given}
    query["cursor"] = cursor_encode(position=page.next_position, settled_before=page.settled_before)
    ordered = [(name, query[name]) for name in allowed if name in query]
    return request.build_absolute_uri(request.path) + "?" + urlencode(ordered)


def _settled_header(page, *starts) -> str:
    """The answer's Settled-Before: the page's horizon, or the window's start when that is
    later (the answer is then trivially complete up to it).

    A horizon before the start comes from a server whose clock runs behind the one that
    gave the start (the previous answer's Settled-Before): a poller that starts its next
    window there, as the docs say, went back and saw that stretch's orders twice (found in
    review). Nothing can be missing between the two: an order is changed after it is made,
    and neither is listed before it is settled.
    """
    return iso(max(page.settled_before, *(start for start in starts if start is not None)))


class _JSONAPIView(APIView):
    """The APIs' views: JSON in, JSON out, whatever the client asks (api/negotiation.py)."""

    content_negotiation_class = JSONOnlyContentNegotiation


def _too_big() -> Response:
    return Response(
        {
            "errors": {
                "body": [f"Request body is larger than {settings.INTAKE_MAX_BODY_BYTES} bytes."]
            }
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


_SETTLED_HEADER = "Settled-Before"
_DATE_HELP = "ISO 8601 date-time with a UTC offset, e.g. 2026-11-27T10:00:00Z."
_ERRORS_401 = OpenApiResponse(ErrorsSchema, description="No token, or an invalid or revoked one")
_ERRORS_429 = OpenApiResponse(ErrorsSchema, description="Too many requests; see Retry-After")


_SETTLED_PARAM = OpenApiParameter(
    _SETTLED_HEADER,
    OpenApiTypes.DATETIME,
    location=OpenApiParameter.HEADER,
    response=[200],
    required=True,
    description="This answer holds every order created (or, with updated_after, changed) "
    "before this time; start your next window here. Never earlier than the window's start.",
)
_REPLAYED_PARAM = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    location=OpenApiParameter.HEADER,
    response=[200],
    required=True,
    enum=["true"],
    description="This reference was seen before: these are the orders it placed then, and "
    "this request placed nothing (its body is not read again; a new order needs a new "
    "reference).",
)
_RETRY_AFTER_PARAM = OpenApiParameter(
    "Retry-After",
    int,
    location=OpenApiParameter.HEADER,
    response=[429],
    required=True,
    description="Seconds to wait before the next request.",
)


class RetailerOrdersView(_JSONAPIView):
    authentication_classes = [RetailerKeyAuthentication]
    throttle_classes = [RetailerKeyThrottle]

    @extend_schema(
        operation_id="retailer_orders_list",
        summary="Your orders changed since a time (each supplier's part), oldest first",
        description=(
            "Each supplier's part of your orders whose `updated_at` is in "
            "`[updated_after, Settled-Before)`: placed, acknowledged, cancelled (in part or "
            "whole), shipped. The supplier API's no-gap rule (docs/polling.md): pass the "
            "previous answer's `Settled-Before` as the next `updated_after` and you see each "
            "change once. Follow `next` until it is `null`; every page of one walk has the "
            "same `Settled-Before`. Unknown or repeated parameters are 400, naming them."
        ),
        parameters=[
            OpenApiParameter(
                "updated_after",
                OpenApiTypes.DATETIME,
                required=True,
                description="Orders changed at or after this time. " + _DATE_HELP,
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 250, "default": 100},
                description="Orders per page, 1 to 250; default 100.",
            ),
            OpenApiParameter(
                "cursor", str, description="Opaque; set by `next`. Do not build it yourself."
            ),
            _SETTLED_PARAM,
            _RETRY_AFTER_PARAM,
        ],
        responses={
            200: OpenApiResponse(OrderListSchema, description="One page"),
            400: OpenApiResponse(ErrorsSchema, description="A bad parameter, named"),
            401: _ERRORS_401,
            429: _ERRORS_429,
        },
        tags=["retailer"],
    )
    @method_decorator(never_cache)
    def get(self, request):
        params = retailer_order_list_params(request.query_params)
        page = order_list_for_retailer(
            retailer=request.auth,
            updated_after=params.updated_after,
            after=params.after,
            settled_before=params.settled_before,
            limit=params.limit,
        )
        next_url = _next_url(request, page, allowed=RETAILER_ALLOWED)
        return Response(
            {"results": page.documents, "next": next_url},
            headers={_SETTLED_HEADER: _settled_header(page, params.updated_after)},
        )

    @extend_schema(
        operation_id="retailer_orders_create",
        summary="Send an order; it is split into one order per supplier",
        request=IntakeSerializer,
        parameters=[_REPLAYED_PARAM, _RETRY_AFTER_PARAM],
        responses={
            201: IntakeResponseSchema,
            200: OpenApiResponse(IntakeResponseSchema, description="Same reference seen before"),
            400: ErrorsSchema,
            401: ErrorsSchema,
            429: _ERRORS_429,
        },
        tags=["retailer"],
    )
    def post(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.INTAKE_MAX_BODY_BYTES:
            return _too_big()
        try:
            payload = json_body(request)
        except RequestDataTooBig:
            return _too_big()
        result = order_place_from_retailer(retailer=request.auth, payload=payload)
        if result.created:
            # New orders: their documents are the texts just stored, joined as they are (the
            # bytes JSONRenderer would write for the dict below, without building it).
            text = (
                f'{{"reference":{encode_basestring(result.intake.reference)},"orders":['
                + ",".join(stored_document_text(order) for order in result.orders)
                + "]}"
            )
            return _json_response(text, headers={}, status=status.HTTP_201_CREATED)
        body = {
            "reference": result.intake.reference,
            "orders": [order_document(order) for order in result.orders],
        }
        # As a replayed update answer says it (orders/api/updates.py, Stripe's header): a
        # retailer that reused a reference for a new order can see that nothing was placed.
        return Response(body, status=status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})


# --- Supplier read API ----------------------------------------------------------------------


def _json_response(text: str, *, headers: dict[str, str], status: int = 200) -> HttpResponse:
    """A response (200 unless told) of ready JSON text, as DRF's JSONRenderer would have
    sent it.

    Like the renderer, it escapes U+2028/U+2029 once over the whole text (they can only
    stand inside strings there), so the parts it is joined from need not.
    """
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return HttpResponse(
        text.encode(), content_type="application/json", headers=headers, status=status
    )


@method_decorator(never_cache, name="dispatch")  # a supplier's orders: no shared cache keeps them
class SupplierOrdersView(_JSONAPIView):
    authentication_classes = [SupplierTokenAuthentication]
    throttle_classes = [SupplierTokenThrottle]

    @extend_schema(
        operation_id="supplier_orders_list",
        summary="Your orders in a creation window (or changed since a time), oldest first",
        description=list_description,
        parameters=[
            OpenApiParameter(
                "created_after",
                OpenApiTypes.DATETIME,
                description="Window start, inclusive. Required unless updated_after is given. "
                + _DATE_HELP,
            ),
            OpenApiParameter(
                "created_before",
                OpenApiTypes.DATETIME,
                description="Window end, exclusive. Default (and at most): Settled-Before. "
                + _DATE_HELP,
            ),
            OpenApiParameter(
                "updated_after",
                OpenApiTypes.DATETIME,
                description="Only orders changed at or after this time (and before "
                "Settled-Before). " + _DATE_HELP,
            ),
            OpenApiParameter("status", str, enum=list(OrderStatus.values)),
            OpenApiParameter(
                "acknowledged",
                bool,
                description="false: only orders you have not acknowledged yet (nor shipped "
                "or cancelled); true: only those you have.",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 250, "default": 100},
                description="Orders per page, 1 to 250; default 100.",
            ),
            OpenApiParameter(
                "cursor",
                str,
                description="Opaque; set by `next`. Do not build it yourself.",
            ),
            _SETTLED_PARAM,
            _RETRY_AFTER_PARAM,
        ],
        responses={
            200: OpenApiResponse(OrderListSchema, description="One page"),
            400: OpenApiResponse(ErrorsSchema, description="A bad parameter, named"),
            401: _ERRORS_401,
            429: _ERRORS_429,
        },
        tags=["supplier"],
    )
    def get(self, request):
        params = order_list_params(request.query_params)
        page = order_list_for_supplier(
            supplier=request.auth.supplier,
            created_after=params.created_after,
            created_before=params.created_before,
            updated_after=params.updated_after,
            status=params.status,
            acknowledged=params.acknowledged,
            after=params.after,
            settled_before=params.settled_before,
            limit=params.limit,
        )
        next_url = _next_url(request, page, allowed=ALLOWED)
        # The stored document texts joined as they are: the bytes JSONRenderer would write
        # for the same page, without decoding and re-encoding 100 documents.
        body = '{"results":[' + ",".join(page.documents) + '],"next":' + json_text(next_url) + "}"
        settled = _settled_header(page, params.created_after, params.updated_after)
        return _json_response(body, headers={_SETTLED_HEADER: settled})


@method_decorator(never_cache, name="dispatch")
class SupplierOrderDetailView(_JSONAPIView):
    authentication_classes = [SupplierTokenAuthentication]
    throttle_classes = [SupplierTokenThrottle]

    @extend_schema(
        operation_id="supplier_orders_retrieve",
        summary="One of your orders by number",
        description="Any of your orders, settled or not. Another supplier's order is 404.",
        responses={
            200: OrderDocumentSchema,
            401: _ERRORS_401,
            404: OpenApiResponse(ErrorsSchema, description="No such order of yours"),
            429: _ERRORS_429,
        },
        parameters=[_RETRY_AFTER_PARAM],
        tags=["supplier"],
    )
    def get(self, request, number: str):
        if not order_number_plausible(number):
            # Not even the shape of an order number (a NUL, say, which PostgreSQL refuses):
            # no order has it, and the database is not asked.
            raise NotFound("No order has that number.")
        document = order_get_for_supplier(supplier=request.auth.supplier, number=number)
        if document is None:
            raise NotFound(f"You have no order '{number}'.")
        return _json_response(document, headers={})


@method_decorator(never_cache, name="dispatch")
class RetailerOrderDetailView(_JSONAPIView):
    authentication_classes = [RetailerKeyAuthentication]
    throttle_classes = [RetailerKeyThrottle]

    @extend_schema(
        operation_id="retailer_orders_retrieve",
        summary="One of your orders by your reference: every supplier's part",
        description="Every supplier's part of the order you sent with this reference, each "
        "with its lines (quantities ordered, cancelled, shipped), cancellations and shipments. "
        "Another retailer's reference is 404.",
        responses={
            200: RetailerOrderSchema,
            401: _ERRORS_401,
            404: OpenApiResponse(ErrorsSchema, description="No such order of yours"),
            429: _ERRORS_429,
        },
        parameters=[_RETRY_AFTER_PARAM],
        tags=["retailer"],
    )
    def get(self, request, reference: str):
        if len(reference) > 100 or text_problem(reference):
            # No order can have it (a NUL, say, which PostgreSQL refuses): not asked.
            raise NotFound("No order has that reference.")
        orders = order_get_for_retailer(retailer=request.auth, reference=reference)
        if orders is None:
            raise NotFound(f"You have no order '{reference}'.")
        return Response({"reference": reference, "orders": orders})
