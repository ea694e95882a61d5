"""Every API error as {"errors": {field: [messages]}}, with the status DRF chose (409 for
an order whose state does not allow the change; an exception's `error_field` names its field)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.outage import API_MESSAGE, DATABASE_ERRORS, RETRY_AFTER_SECONDS
from orders.intake import errors_flatten
from orders.services import OrderStateError
from orders.transactions import TransactionTooSlowError

_FIELD_FOR = {
    exceptions.NotAuthenticated: "authorization",
    exceptions.AuthenticationFailed: "authorization",
    exceptions.ParseError: "body",
    exceptions.UnsupportedMediaType: "content_type",
    exceptions.Throttled: "rate_limit",
    exceptions.MethodNotAllowed: "method",
    exceptions.NotFound: "detail",
    exceptions.PermissionDenied: "detail",
}


def exception_handler(exc, context):
    if isinstance(exc, TransactionTooSlowError):
        # Rolled back, nothing stored: the client may simply retry (intake is idempotent).
        return Response(
            {"errors": {"detail": [str(exc)]}},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, DATABASE_ERRORS):
        # The database is down or restarting (found by bench/chaos.py: these were 500s). The
        # transaction rolled back; a request sent again with the same reference or
        # Idempotency-Key is applied once, whether or not this one committed.
        return Response(
            {"errors": {"detail": [API_MESSAGE]}},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, OrderStateError):  # the order's state does not allow it
        return Response({"errors": exc.message_dict}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
        return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": errors_flatten(exc.detail)}
    else:
        field = getattr(exc, "error_field", None) or next(
            (f for cls, f in _FIELD_FOR.items() if isinstance(exc, cls)), "detail"
        )
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = {"errors": {field: [str(detail)]}}
    return response
