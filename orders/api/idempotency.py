"""The update API's Idempotency-Key header (issue 13), as Stripe does it: the key checked,
then the request applied once per key and body, its answer (a success or a 409) stored
and replayed (orders/services/idempotency.py holds the key's row)."""

from __future__ import annotations

import json
from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException

from orders.documents import json_text
from orders.inputs import text_problem
from orders.services import OrderStateError
from orders.services.idempotency import (
    idempotency_claim,
    idempotency_fingerprint,
    idempotency_record,
)
from orders.transactions import bounded_atomic

from .errors import exception_handler

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_MAX_LENGTH = 255


class IdempotencyError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    error_field = IDEMPOTENCY_HEADER


class IdempotencyReused(IdempotencyError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


def idempotency_key_checked(key: str) -> str:
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_MAX_LENGTH or text_problem(key) or not key.isprintable():
        raise IdempotencyError(
            f"Give a key of 1 to {IDEMPOTENCY_MAX_LENGTH} printable characters, "
            "e.g. a UUID, new for each change."
        )
    return key


def idempotent_answer(
    request, view, *, key: str, body, apply: Callable[[], tuple[int, str]]
) -> tuple[int, str, bool]:
    """`apply()`'s status and text, or, for a key already used with this body, the first
    answer again (then the third item is True); a key used with another body is 422.

    As Stripe keeps a result only once the endpoint began executing, an answer is kept only
    when the change was tried on the order: a success, or a 409 (the order's state does not
    allow it). A request refused before that (401, 403, 429, a bad body or key, no such
    order, a field the service refused) keeps nothing, so the client may fix it and send it
    again with the same key.
    """
    fingerprint = idempotency_fingerprint(
        method=request.method, path=request.path, body=json.dumps(body, sort_keys=True)
    )
    with bounded_atomic(bound_with_first=True):  # sent with the claim
        claim = idempotency_claim(supplier=request.auth.supplier, key=key, fingerprint=fingerprint)
        if claim.mismatch:
            raise IdempotencyReused(
                "This key was used for another request in the last 24 hours; "
                "use a new key for a new request."
            )
        if claim.replay is not None:
            return claim.replay.status_code, claim.replay.response_body, True
        try:
            code, text = apply()
        except OrderStateError as exc:  # applied to the order, which refused it: kept
            handled = exception_handler(exc, {"request": request, "view": view})
            code, text = handled.status_code, json_text(handled.data)
        # Any other error (a field the service refused, 400; no such order, 404; a 503)
        # rolls the claim back with it: nothing is kept, and the key may be used again.
        idempotency_record(row=claim.row, status_code=code, body=text)
    return code, text, False


IDEMPOTENCY_PARAM = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Optional; a new value (e.g. a UUID) for each change. A retry with the same "
    "key and body within 24 hours replays the first answer and applies nothing again; the "
    "same key with another body is 422. Only an answer of a change tried on the order is "
    "kept (a success or a 409): after a 400, 401, 403, 404 or 429 nothing is kept, so fix "
    "the request and send it with the same key.",
)
