"""Every API error as {"errors": {field: [messages]}}, with the status DRF chose (409 for
an order whose state does not allow the change; an exception's `error_field` names its field)."""

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.views import defaults
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
        return Response({"errors": _sendable(errors)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        return _request_too_large(exc, context)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _sendable(errors_flatten(exc.detail))}
    else:
        field = getattr(exc, "error_field", None) or next(
            (f for cls, f in _FIELD_FOR.items() if isinstance(exc, cls)), "detail"
        )
        # Django's Http404 and PermissionDenied have no text of their own (str() is ''; the
        # schema's `?format=xml` answered `detail: ['']`): DRF's converted one says it.
        detail = (
            exc.detail
            if isinstance(exc, exceptions.APIException)
            else (response.data or {}).get("detail") or str(exc) or "Bad request."
        )
        response.data = {"errors": {field: [str(detail)]}}
    return response


def _text_sendable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _sendable(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """`errors` with any lone surrogate written as its escape: a message that quotes the
    input (DRF's '"\\ud800" is not a valid choice.' for a JSON "\\ud800" reason) could not
    be encoded, and the 400 was a 500 (found in review)."""
    return {
        _text_sendable(str(field)): [_text_sendable(str(message)) for message in messages]
        for field, messages in errors.items()
    }


def _request_too_large(exc, context) -> Response:
    """Django's limits on what it reads of a request, answered as intake answers a body too
    large (orders/api/views.py): a JSON 400 naming `body` or `query`, not Django's HTML page.

    Read in a view by `request.data` (a body over DATA_UPLOAD_MAX_MEMORY_SIZE) or
    `request.GET` (over DATA_UPLOAD_MAX_NUMBER_FIELDS parameters; the APIs parse no form
    bodies, their one parser is JSON's). Marked and logged as Django's own handler does.
    """
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    if django_request is not None:
        django_request._mark_post_parse_error()  # not read, nor raised, again
    logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
    return Response({"errors": _limit_errors(exc)}, status=status.HTTP_400_BAD_REQUEST)


def _limit_errors(exc) -> dict[str, list[str]]:
    if isinstance(exc, RequestDataTooBig):
        size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return {"body": [f"Request body is larger than {size} bytes."]}
    if isinstance(exc, TooManyFieldsSent):
        count = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return {
            "query": [
                f"More than {count} query parameters; send only the parameters this endpoint takes."
            ]
        }
    return {"detail": ["Bad request."]}


def bad_request(request, exception) -> HttpResponse:
    """The root URLconf's handler400: a request Django refused before any view (a middleware
    reading `request.GET` past DATA_UPLOAD_MAX_NUMBER_FIELDS, say) is the APIs' JSON 400 on
    their paths, as common/outage.py answers their 503; Django's page everywhere else."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    body = json.dumps({"errors": _limit_errors(exception)})
    return HttpResponse(body, content_type="application/json", status=400)


def page_not_found(request, exception) -> HttpResponse:
    """The root URLconf's handler404: a path under /api/ that names no endpoint (a trailing
    slash, a typo) is a JSON 404, as every API answer is; the portal's page everywhere else
    (found in review: a poller got the portal's HTML page)."""
    if not request.path.startswith("/api/"):
        return defaults.page_not_found(request, exception)
    body = json.dumps(
        {
            "errors": {
                "path": ["No such endpoint; the supplier API is under /api/v1/ (see /api/docs/)."]
            }
        }
    )
    return HttpResponse(body, content_type="application/json", status=404)
