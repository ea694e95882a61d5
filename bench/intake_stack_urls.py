"""Bench only: intake with the intake service's own Python taken away, to measure what the
stack costs by itself: DRF with the retailer key's authentication and rate limit (Redis),
the JSON body, the document's validation, then the app's own one-round-trip write
(common/db.py's transaction_pipelined, the bound and the statement) of a statement built
once per process by the app's code, only the reference put in for each request. Never used
by the product."""

from django.db import connection
from django.urls import path

from common.db import transaction_pipelined
from orders.api.auth import RetailerKeyAuthentication
from orders.api.parsers import json_body
from orders.api.throttles import RetailerKeyThrottle
from orders.api.views import _json_response, _JSONAPIView
from orders.intake import intake_validate
from orders.transactions import _BOUND_SQL, _bound_params, bounded_atomic

_built: dict = {}


def _statement(retailer, payload, reference: str) -> tuple[str, list]:
    if not _built:
        from orders.services import intake as service
        from orders.services.intake_write import intake_insert_statement

        service._prepare(payload=payload, memory=True)  # read once: remembered
        data, groups, guard = service._prepare(payload=payload, memory=True)  # as the app
        with bounded_atomic():
            intake, orders, lines, events = service._build(
                retailer=retailer, data=data, groups=groups, actor=None
            )
        sql, params = intake_insert_statement(
            intake=intake, orders=orders, lines=lines, event=events[0], guard=guard
        )
        at = [k for k, value in enumerate(params) if value == data["reference"]]
        _built.update(sql=sql, params=params, at=at)
    params = list(_built["params"])
    for k in _built["at"]:
        params[k] = reference
    return _built["sql"], params


class StackOnly(_JSONAPIView):
    authentication_classes = [RetailerKeyAuthentication]
    throttle_classes = [RetailerKeyThrottle]

    def post(self, request):
        payload = json_body(request)
        data = intake_validate(payload=payload)
        sql, params = _statement(request.auth, payload, data["reference"])
        rows = transaction_pipelined(connection, [(_BOUND_SQL, _bound_params(3.0)), (sql, params)])
        if not rows[1]:
            raise RuntimeError("the stack-only write stored nothing")
        return _json_response(
            f'{{"reference":"{data["reference"]}","orders":[]}}', headers={}, status=201
        )


urlpatterns = [path("api/v1/retailer/orders", StackOnly.as_view())]
