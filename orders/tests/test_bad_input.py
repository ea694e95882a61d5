"""Named bad inputs that used to be 500s: each is a 400 naming the field (or the portal's form
error, or a 404 for an order number that cannot exist), and writes nothing. Run on SQLite and
PostgreSQL (which refuses a NUL in text: the class of 500 these guard against)."""

import base64
import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent, OrderIntake
from suppliers.services import api_token_create
from testsupport.factories import intake_payload, make_supplier_user, place_order

INTAKE = "/api/v1/retailer/orders"
LIST = "/api/v1/orders"
OUT_OF_RANGE = [
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00-05:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59+05:00",
    "9999-12-31T23:59:59Z",
]
BAD_TEXT = ["R-\x00-1", "R-\ud800-1"]


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def _nothing_written(orders_before: int = 0):
    assert Order.objects.count() == orders_before
    assert OrderIntake.objects.count() == orders_before
    assert OrderEvent.objects.filter(order__isnull=False).count() == orders_before


def _post_json(client, document) -> tuple[int, dict]:
    # ensure_ascii: a lone surrogate travels as the JSON escape \ud800, as a client sends it.
    response = client.post(INTAKE, json.dumps(document), content_type="application/json")
    return response.status_code, response.json()


# --- Intake --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_intake_placed_at_out_of_range_is_a_400_naming_it(retailer_client, acme, value):
    status, body = _post_json(retailer_client, intake_payload(placed_at=value))
    assert status == 400, body
    assert list(body["errors"]) == ["placed_at"]
    assert "out of range" in body["errors"]["placed_at"][0]
    _nothing_written()


def _with(document: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(last) if last.isdigit() else last] = value
    return document


INTAKE_STRINGS = [
    "reference",
    "customer.name",
    "customer.email",
    "customer.phone",
    "shipping_address.name",
    "shipping_address.line1",
    "shipping_address.line2",
    "shipping_address.city",
    "shipping_address.region",
    "shipping_address.postcode",
    "shipping_address.country",
    "lines.0.sku",
    "placed_at",
]


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["nul", "surrogate"])
@pytest.mark.parametrize("field", INTAKE_STRINGS)
def test_intake_nul_or_lone_surrogate_in_any_string_is_a_400_naming_it(
    retailer_client, acme, field, bad
):
    status, body = _post_json(retailer_client, _with(intake_payload(), field, bad))
    assert status == 400, body
    assert field in body["errors"], body
    _nothing_written()


def test_a_bad_reference_on_a_document_with_other_errors_is_still_a_400(retailer_client, acme):
    # The repeat look-up on a failed document must not take the reference to the database.
    document = intake_payload(reference="R-\x00", lines=[{"sku": "NOPE", "quantity": 1}])
    status, body = _post_json(retailer_client, document)
    assert status == 400 and "reference" in body["errors"]
    _nothing_written()


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_intake_json_nested_thousands_deep_is_a_400(retailer_client, acme, opening):
    closing = "]" if opening == "[" else "}"
    body = opening * 50_000 + "1" + closing * 50_000
    response = retailer_client.post(INTAKE, body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["body"]
    _nothing_written()


def test_intake_document_nested_hundreds_deep_in_a_field_is_a_400(retailer_client, acme):
    deep = 1
    for _ in range(500):
        deep = [deep]
    status, body = _post_json(retailer_client, intake_payload(reference=deep, customer=deep))
    assert status == 400 and {"reference", "customer"} <= set(body["errors"])
    _nothing_written()


# --- Supplier API ----------------------------------------------------------------------------


@pytest.fixture
def token_client(acme):
    _, plain = api_token_create(supplier=acme, name="erp")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("name", ["created_after", "created_before", "updated_after"])
def test_supplier_api_window_out_of_range_is_a_400_naming_it(token_client, name, value):
    params = {"created_after": "2026-01-01T00:00:00Z", name: value}
    response = token_client.get(LIST, params)
    assert response.status_code == 400
    assert name in response.json()["errors"]


def _api_cursor(t: str, h: str = "2026-01-01T00:00:00Z", i: int = 1) -> str:
    raw = json.dumps({"v": 1, "t": t, "i": i, "h": h}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_supplier_api_cursor_with_an_out_of_range_time_is_a_400(token_client, value):
    for cursor in (_api_cursor(value), _api_cursor("2026-01-01T00:00:00Z", h=value)):
        response = token_client.get(
            LIST, {"created_after": "2026-01-01T00:00:00Z", "cursor": cursor}
        )
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["cursor"]


@pytest.mark.parametrize("number", ["PO-1\x00", "\x00", "PO-\ud800", "PO-99999999999999999999999"])
def test_supplier_api_detail_of_a_number_that_cannot_exist_is_a_404(token_client, number):
    from urllib.parse import quote

    response = token_client.get(f"{LIST}/{quote(number.encode('utf-8', 'surrogatepass'))}")
    assert response.status_code == 404
    assert list(response.json()["errors"]) == ["detail"]


# --- Portal ----------------------------------------------------------------------------------


@pytest.fixture
def portal(client, acme, retailer):
    place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    return client


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("placed_from", "0001-01-01"),
        ("placed_to", "9999-12-31"),
        ("placed_from", "9999-12-31"),
        ("q", "PO-\x00"),
        ("status", "placed\x00"),
    ],
)
def test_portal_filters_out_of_range_or_with_a_nul_are_form_errors(portal, field, value):
    response = portal.get("/orders/", {field: value})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    # The export refuses before it starts streaming, naming the field: never a cut-off file.
    response = portal.get("/orders/export.csv", {field: value})
    assert response.status_code == 400 and not response.streaming
    assert field in response.content.decode()


def _portal_cursor(created: str, pk: int = 1) -> str:
    return base64.urlsafe_b64encode(f"{created}|{pk}".encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [_portal_cursor(value) for value in OUT_OF_RANGE]
    + [_portal_cursor("2026-01-01T00:00:00+00:00", pk=10**30), "%00", "\x00"],
)
@pytest.mark.parametrize("direction", ["before", "after"])
def test_portal_cursor_that_is_not_ours_shows_the_first_page(portal, direction, cursor):
    response = portal.get("/orders/", {direction: cursor})
    assert response.status_code == 200
    assert response.context["page"].is_first


@pytest.mark.parametrize("number", ["PO-1\x00", "\x00", "PO-%ED%A0%80", "x/../PO-1"])
def test_portal_order_urls_of_a_number_that_cannot_exist_are_404(portal, number):
    for suffix in ("/", "/edit/", "/cancel-items/", "/ship/"):
        assert portal.get(f"/orders/{number}{suffix}").status_code == 404
