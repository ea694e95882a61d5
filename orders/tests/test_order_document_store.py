"""Each order's stored document text (what supplier API pages are made of) stays the order's.

Every writer keeps it in the same transaction as its change; a row written without it, or
another entity renamed since, is still served right.
"""

import importlib
import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import F
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from orders.documents import json_text, order_document, orders_with_document_relations
from orders.models import Order, Retailer
from orders.services import order_set_status
from suppliers.services import api_token_create
from testsupport.factories import place_order

LIST = "/api/v1/orders"
EPOCH = "2000-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _no_settle(settings):
    settings.SUPPLIER_API_SETTLE_SECONDS = 0


@pytest.fixture
def client(acme):
    _, plain = api_token_create(supplier=acme, name="erp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


def fresh(order: Order) -> dict:
    return order_document(orders_with_document_relations(Order.objects.filter(pk=order.pk)).get())


def assert_stored_is_fresh(order: Order) -> None:
    row = Order.objects.get(pk=order.pk)
    assert row.document_version == row.version
    document = fresh(order)
    tail = {k: v for k, v in document.items() if k not in ("number", "status", "supplier")}
    tail.pop("retailer")
    assert json.loads("{" + row.document_tail) == tail
    assert "{" + row.document_tail == json_text(tail)


def served(client, order: Order) -> tuple[dict, bytes, bytes]:
    listed = client.get(LIST, {"created_after": EPOCH})
    assert listed.status_code == 200, listed.content
    (doc,) = [d for d in listed.json()["results"] if d["number"] == order.number]
    detail = client.get(f"{LIST}/{order.number}")
    assert detail.status_code == 200
    return doc, listed.content, detail.content


def test_stored_document_follows_every_writer(retailer, acme, bolt, client):
    orders = place_order(
        retailer=retailer,
        lines=[
            {"sku": "ACME-001", "quantity": 2},
            {"sku": "BOLT-7", "quantity": 1},
            {"sku": "ACME-003", "quantity": 1},
        ],
    )
    for order in orders:
        assert_stored_is_fresh(order)
    shipped, cancelled = orders[0], place_order(retailer=retailer)[0]
    assert shipped.supplier_id == acme.pk
    for step in (
        dict(order=shipped, status="processing"),
        dict(order=shipped, status="shipped", carrier="Royal Mail", tracking_number="RM1GB"),
        dict(order=cancelled, status="cancelled", reason="out_of_stock", note="Sold out"),
    ):
        order_set_status(actor="ops:test", **step)
        assert_stored_is_fresh(step["order"])
        doc, _, detail = served(client, step["order"])
        assert doc == json.loads(detail) == fresh(step["order"])
    assert doc["cancellation"]["note"] == "Sold out" and doc["status"] == "cancelled"


def test_pages_are_the_bytes_the_renderer_would_write(retailer, acme, client):
    (order,) = place_order(
        retailer=retailer,
        customer={"name": 'Zoë "Q" O\'Neil\u2028\\', "email": "", "phone": "+44 1"},
    )
    second = place_order(retailer=retailer)[0]
    order_set_status(order=second, status="cancelled", actor="x", reason="other", note="Ä\u2029")
    Retailer.objects.filter(pk=retailer.pk).update(name="Shop\u2028Co")  # in the joined head
    response = client.get(LIST, {"created_after": EPOCH})
    expected = {"results": [fresh(order), fresh(second)], "next": None}
    assert response.content == JSONRenderer().render(expected)
    assert response["Content-Type"] == "application/json"
    detail = client.get(f"{LIST}/{order.number}")
    assert detail.content == JSONRenderer().render(fresh(order))
    assert detail["Content-Type"] == "application/json"


def test_renamed_retailer_and_supplier_show_at_once(retailer, acme, client):
    (order,) = place_order(retailer=retailer)
    Retailer.objects.filter(pk=retailer.pk).update(name="Shop & Co Ltd", slug="shop-co")
    acme.slug = "acme-home"
    acme.save(update_fields=["slug"])
    doc, _, detail = served(client, order)
    assert doc["retailer"] == {
        "slug": "shop-co",
        "name": "Shop & Co Ltd",
        "reference": doc["retailer"]["reference"],
    }
    assert doc["supplier"] == "acme-home"
    assert doc == json.loads(detail) == fresh(order)


def test_a_row_written_without_its_text_is_built_afresh(retailer, acme, client):
    """A process of the previous release changes an order without the text: never stale."""
    old, changed, current = (place_order(retailer=retailer)[0] for _ in range(3))
    Order.objects.filter(pk=old.pk).update(document_tail="", document_version=0)
    Order.objects.filter(pk=changed.pk).update(
        status="processing", ship_city="Elsewhere", version=F("version") + 1
    )
    docs = {d["number"]: d for d in client.get(LIST, {"created_after": EPOCH}).json()["results"]}
    for order in (old, changed, current):
        assert docs[order.number] == fresh(order)
        assert json.loads(client.get(f"{LIST}/{order.number}").content) == fresh(order)
    assert docs[changed.number]["status"] == "processing"
    # The stored text still holds the old city: the page built this order afresh.
    assert docs[changed.number]["shipping_address"]["city"] == "Elsewhere"


def test_backfill_migration_fills_every_order(retailer, acme, bolt):
    backfill = importlib.import_module("orders.migrations.0007_order_document_line_level").backfill
    orders = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "BOLT-9", "quantity": 3}],
    )
    orders += place_order(retailer=retailer)
    order_set_status(order=orders[-1], status="cancelled", actor="x", reason="other", note="n")
    Order.objects.update(document_tail="", document_version=0)
    backfill(apps, SimpleNamespace(connection=connection))  # all it reads of a schema editor
    for order in orders:
        assert_stored_is_fresh(order)
