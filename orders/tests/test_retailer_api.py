"""The retailer read API (issue 19): a retailer's own orders as every supplier's part, by
change time (the supplier API's no-gap walk) and by its own reference."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from orders.api.throttles import RetailerKeyThrottle
from orders.models import Order
from orders.services import order_lines_cancel, order_shipment_create
from orders.services.changes import LineQuantity
from testsupport.factories import make_retailer, place_order

LIST = "/api/v1/retailer/orders"
START = "2020-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.SUPPLIER_API_SETTLE_SECONDS = 0  # a walk's horizon is the request's time
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def other_client(db):
    _, key = make_retailer(slug="otherco", rate="0.10", email="buyers@otherco.example")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def split_order(retailer, acme, bolt):
    """One retailer order of two suppliers' parts."""
    return place_order(
        retailer=retailer,
        reference="SHOP-1001",
        lines=[
            {"sku": "ACME-001", "quantity": 2},
            {"sku": "BOLT-7", "quantity": 4},
            {"sku": "ACME-002", "quantity": 1},
        ],
    )


def walk(client, since: str, *, limit: int = 2) -> tuple[list[dict], str]:
    """Follow `next` to the end; return the documents and the walk's Settled-Before."""
    response = client.get(LIST, {"updated_after": since, "limit": limit})
    assert response.status_code == 200, response.content
    settled = response["Settled-Before"]
    docs = []
    while True:
        assert response["Settled-Before"] == settled
        docs += response.json()["results"]
        if not response.json()["next"]:
            return docs, settled
        response = client.get(response.json()["next"])
        assert response.status_code == 200, response.content


def test_the_reference_shows_every_suppliers_part_with_lines_cancellations_and_shipments(
    retailer_client, split_order
):
    acme_part = next(o for o in split_order if o.supplier.slug == "acme")
    bolt_part = next(o for o in split_order if o.supplier.slug == "bolt")
    order_shipment_create(
        order=acme_part,
        actor="ops",
        carrier="DHL",
        tracking_number="JD42",
        lines=[LineQuantity(line=1, quantity=2)],
    )
    order_lines_cancel(
        order=bolt_part,
        actor="ops",
        reason="out_of_stock",
        note="None left",
        lines=[LineQuantity(line=1, quantity=1)],
    )
    response = retailer_client.get(f"{LIST}/SHOP-1001")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reference"] == "SHOP-1001"
    parts = {part["supplier"]: part for part in body["orders"]}
    assert set(parts) == {"acme", "bolt"}
    acme, bolt = parts["acme"], parts["bolt"]
    assert [
        (line["sku"], line["quantity"], line["quantity_shipped"]) for line in acme["lines"]
    ] == [
        ("ACME-001", 2, 2),
        ("ACME-002", 1, 0),
    ]
    assert acme["shipments"][0]["tracking_number"] == "JD42"
    assert bolt["lines"][0]["quantity_cancelled"] == 1
    assert bolt["cancellations"][0]["reason"] == "out_of_stock"
    assert all(part["retailer"]["reference"] == "SHOP-1001" for part in body["orders"])


def test_another_retailers_reference_is_404(other_client, retailer_client, split_order):
    response = other_client.get(f"{LIST}/SHOP-1001")
    assert response.status_code == 404
    assert "SHOP-1001" in response.json()["errors"]["detail"][0]
    assert other_client.get(LIST, {"updated_after": START}).json()["results"] == []
    assert retailer_client.get(f"{LIST}/NO-SUCH").status_code == 404
    assert retailer_client.get(f"{LIST}/bad%00ref").status_code == 404


def test_updated_after_walks_see_each_change_once(retailer_client, retailer, split_order):
    (second,) = place_order(
        retailer=retailer, reference="SHOP-1002", lines=[{"sku": "ACME-003", "quantity": 1}]
    )
    docs, settled = walk(retailer_client, START)
    assert sorted(d["number"] for d in docs) == sorted(
        [o.number for o in split_order] + [second.number]
    )
    # Nothing changed: the next walk from its horizon is empty.
    again, settled = walk(retailer_client, settled)
    assert again == []
    # One change: the next walk has that order, once, in its new state.
    order_shipment_create(order=second, actor="ops", carrier="UPS", tracking_number="1Z9")
    changed, settled = walk(retailer_client, settled)
    assert [(d["number"], d["status"]) for d in changed] == [(second.number, "shipped")]
    assert walk(retailer_client, settled)[0] == []


def test_a_page_served_by_a_server_whose_clock_runs_behind_keeps_the_walks_horizon(
    retailer_client, retailer, split_order, settings, monkeypatch
):
    """As the supplier API's (test_supplier_api.py): page 1 from a server 12 s after the
    orders were placed, page 2 from one whose clock is 3 s behind it (each page's clock set:
    two skewed servers cannot run in one test). Before, page 2 ended at its own horizon and
    the walk's last order was never listed."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 10
    (second,) = place_order(
        retailer=retailer, reference="SHOP-1002", lines=[{"sku": "ACME-003", "quantity": 1}]
    )
    placed_at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=12))
    page1 = retailer_client.get(LIST, {"updated_after": START, "limit": 2})
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=9))
    page2 = retailer_client.get(page1.json()["next"])
    numbers = [d["number"] for page in (page1, page2) for d in page.json()["results"]]
    assert numbers == [o.number for o in split_order] + [second.number]
    assert page2.json()["next"] is None
    assert page2["Settled-Before"] == page1["Settled-Before"]


def test_a_walk_from_a_server_whose_clock_runs_behind_never_sends_the_poller_back(
    retailer_client, retailer, split_order, settings, monkeypatch
):
    """Walk 1 from server A, 12 s after the orders were placed; walk 2, from A's
    Settled-Before, from server B, 3 s behind A (clocks set: two skewed servers cannot run
    in one test). Before, B's answer said Settled-Before 3 s before where walk 2 started,
    and a poller passing it on (as the docs say) saw the same changes again in walk 3."""
    settings.SUPPLIER_API_SETTLE_SECONDS = 10
    placed_at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=12))
    first, settled = walk(retailer_client, START)
    assert sorted(d["number"] for d in first) == sorted(o.number for o in split_order)
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=9))
    second, settled_b = walk(retailer_client, settled)
    assert second == []
    assert parse_datetime(settled_b) >= parse_datetime(settled)
    # Walk 3 from there, on server A again: nothing seen twice.
    monkeypatch.setattr(timezone, "now", lambda: placed_at + timedelta(seconds=12))
    assert walk(retailer_client, settled_b)[0] == []


def test_a_change_younger_than_the_settle_time_waits_for_the_next_walk(
    retailer_client, split_order, settings
):
    settings.SUPPLIER_API_SETTLE_SECONDS = 60
    response = retailer_client.get(LIST, {"updated_after": START})
    assert response.status_code == 200
    assert response.json()["results"] == []
    horizon = parse_datetime(response["Settled-Before"])
    assert horizon <= timezone.now() - timedelta(seconds=59)
    assert all(o.updated_at >= horizon for o in Order.objects.all())


@pytest.mark.parametrize(
    "params, name",
    [
        ({}, "updated_after"),
        ({"updated_after": "yesterday"}, "updated_after"),
        ({"updated_after": START, "limit": "0"}, "limit"),
        ({"updated_after": START, "cursor": "nonsense"}, "cursor"),
        ({"updated_after": START, "created_after": START}, "created_after"),
    ],
)
def test_bad_parameters_are_400_naming_them(retailer_client, split_order, params, name):
    response = retailer_client.get(LIST, params)
    assert response.status_code == 400
    assert name in response.json()["errors"]


def test_no_key_or_a_bad_one_is_401(split_order):
    client = APIClient()
    assert client.get(LIST, {"updated_after": START}).status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer rtl_wrong")
    assert client.get(f"{LIST}/SHOP-1001").status_code == 401


def test_too_many_requests_is_429(retailer_client, split_order, monkeypatch):
    monkeypatch.setattr(RetailerKeyThrottle, "rate", "2/min", raising=False)
    assert retailer_client.get(LIST, {"updated_after": START}).status_code == 200
    assert retailer_client.get(f"{LIST}/SHOP-1001").status_code == 200
    refused = retailer_client.get(f"{LIST}/SHOP-1001")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_the_openapi_document_has_both_paths(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    if schema.status_code == 404:
        pytest.fail("the OpenAPI document moved; update this test")
    text = schema.content.decode()
    assert "/api/v1/retailer/orders/{reference}" in text
    assert "retailer_orders_list" in text and "retailer_orders_retrieve" in text


def test_any_reference_at_all_is_a_json_404(retailer_client, split_order):
    for reference in ["a/b", "x%0Ay", "%F0%9F%A4%93", "r" * 101]:
        response = retailer_client.get(f"{LIST}/{reference}")
        assert response.status_code == 404, reference
        assert response["Content-Type"] == "application/json"
