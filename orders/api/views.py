"""The retailer intake API. Views parse, call one service, render."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.documents import order_document
from orders.intake import IntakeSerializer
from orders.services import order_place_from_retailer

from .auth import RetailerKeyAuthentication
from .schema import ErrorsSchema, IntakeResponseSchema
from .throttles import RetailerKeyThrottle


def _too_big() -> Response:
    return Response(
        {
            "errors": {
                "body": [f"Request body is larger than {settings.INTAKE_MAX_BODY_BYTES} bytes."]
            }
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class RetailerOrdersView(APIView):
    authentication_classes = [RetailerKeyAuthentication]
    throttle_classes = [RetailerKeyThrottle]

    @extend_schema(
        operation_id="retailer_orders_create",
        summary="Send an order; it is split into one order per supplier",
        request=IntakeSerializer,
        responses={
            201: IntakeResponseSchema,
            200: OpenApiResponse(IntakeResponseSchema, description="Same reference seen before"),
            400: ErrorsSchema,
            401: ErrorsSchema,
            429: ErrorsSchema,
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
            payload = request.data
        except RequestDataTooBig:
            return _too_big()
        result = order_place_from_retailer(retailer=request.auth, payload=payload)
        body = {
            "reference": result.intake.reference,
            "orders": [order_document(order) for order in result.orders],
        }
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )
