"""The OpenAPI document as a supplier's developer uses it: valid by openapi-spec-validator,
and a client generated from it by openapi-python-client (a real third-party generator)
polls, acknowledges, cancels and ships against a live server."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from openapi_spec_validator import validate

from orders.models import Order
from suppliers.services import api_token_create
from testsupport.factories import place_order

SCHEMA_URL = "/api/schema/?format=json"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_openapi_document_is_valid(db):
    document = Client().get(SCHEMA_URL).json()
    validate(document)  # raises, naming the first problem
    paths = document["paths"]
    for action in ("acknowledgement", "cancellation", "shipments"):
        operation = paths[f"/api/v1/orders/{{number}}/{action}"]["post"]
        assert {"400", "403", "404", "409", "422", "429"} <= set(operation["responses"])
        assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])


def _generate_client(schema: dict, into: Path):
    """openapi-python-client, as a developer runs it, into a temporary package."""
    (into / "schema.json").write_text(json.dumps(schema))
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(into / "schema.json"),
            "--output-path",
            str(into / "supplier_client"),
            "--meta",
            "none",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(into))
    importlib.invalidate_caches()
    return importlib.import_module("supplier_client")


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_polls_acknowledges_cancels_and_ships(
    live_server, settings, tmp_path, retailer, acme
):
    settings.SUPPLIER_API_SETTLE_SECONDS = 0
    orders = [
        place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 3}])[0]
        for _ in range(3)
    ]
    _, plain = api_token_create(supplier=acme, name="generated", can_update=True)
    schema = Client().get(SCHEMA_URL).json()
    _generate_client(schema, tmp_path)
    try:
        from supplier_client import AuthenticatedClient
        from supplier_client.api.supplier import supplier_orders_list
        from supplier_client.api.supplier_updates import (
            supplier_orders_acknowledge,
            supplier_orders_cancel,
            supplier_orders_ship,
        )
        from supplier_client.models import (
            CancellationRequestRequest,
            LineQuantityRequest,
            OrderDocumentSchema,
            OrderListSchema,
            ReasonEnum,
            ShipmentRequestRequest,
        )

        client = AuthenticatedClient(base_url=live_server.url, token=plain)
        import datetime

        # Poll: the orders not acknowledged yet.
        page = supplier_orders_list.sync(
            client=client,
            created_after=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
            acknowledged=False,
        )
        assert isinstance(page, OrderListSchema), page
        assert sorted(doc.number for doc in page.results) == sorted(o.number for o in orders)

        first, second, third = (o.number for o in orders)
        acknowledged = supplier_orders_acknowledge.sync(
            first, client=client, idempotency_key="ack-1"
        )
        assert isinstance(acknowledged, OrderDocumentSchema), acknowledged
        assert acknowledged.acknowledged_at is not None

        cancelled = supplier_orders_cancel.sync(
            second,
            client=client,
            body=CancellationRequestRequest(
                reason=ReasonEnum.OUT_OF_STOCK,
                note="Two left, not three",
                lines=[LineQuantityRequest(line=1, quantity=1)],
            ),
        )
        assert isinstance(cancelled, OrderDocumentSchema), cancelled
        assert cancelled.lines[0].quantity_cancelled == 1

        response = supplier_orders_ship.sync_detailed(
            third,
            client=client,
            body=ShipmentRequestRequest(carrier="DPD", tracking_number="1550"),
            idempotency_key="ship-1",
        )
        assert response.status_code == 201
        assert response.parsed.status.value == "shipped"

        # Nothing is left unacknowledged.
        page = supplier_orders_list.sync(
            client=client,
            created_after=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
            acknowledged=False,
        )
        assert page.results == []
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == "supplier_client"]:
            del sys.modules[name]
    statuses = dict(Order.objects.values_list("number", "status"))
    assert statuses[third] == "shipped" and statuses[first] == "placed"
