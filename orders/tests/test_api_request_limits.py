"""The APIs answer JSON naming the field for every request Django itself refuses or routes: a
body over the upload limit, too many query parameters, a number holding a newline; repeated
list parameters name only the real error; update bodies are strictly typed, as intake's."""

import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from orders.models import Cancellation, IdempotencyKey, Order, OrderEvent, OrderLine, Shipment
from orders_portal import urls as root_urls
from suppliers.services import api_token_create
from testsupport.factories import place_order

START = "2020-01-01T00:00:00Z"
ACTIONS = ["acknowledgement", "cancellation", "shipments"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(acme):
    _, plain = api_token_create(supplier=acme, name="warehouse", can_update=True)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.fixture
def order(retailer, acme):
    (order,) = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 3}],
    )
    return order


def snapshot(order):
    """What an update would change: the order, its lines, its events and rows, any key."""
    order = Order.objects.get(pk=order.pk)
    lines = list(
        OrderLine.objects.filter(order=order)
        .order_by("line_no")
        .values_list("quantity_cancelled", "quantity_shipped")
    )
    return (
        order.status,
        order.version,
        order.acknowledged_at,
        lines,
        OrderEvent.objects.count(),
        Cancellation.objects.count(),
        Shipment.objects.count(),
        IdempotencyKey.objects.count(),
    )


def assert_json_400_naming(response, field):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]
    errors = response.json()["errors"]
    assert list(errors) == [field], errors
    assert errors[field] and all(isinstance(message, str) for message in errors[field])


# --- 1. Django's request limits --------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("key", [None, "big-1"])
def test_an_update_body_over_the_upload_limit_is_a_json_400_naming_body(
    api, order, settings, action, key
):
    before = snapshot(order)
    text = json.dumps({"reason": "other", "note": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)})
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    response = api.generic(
        "POST",
        f"/api/v1/orders/{order.number}/{action}",
        text,
        content_type="application/json",
        **headers,
    )
    assert_json_400_naming(response, "body")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.json()["errors"]["body"][0]
    assert snapshot(order) == before


def many_parameters(first: str) -> str:
    return first + "&" + "&".join(f"x{i}=1" for i in range(1001))


def test_too_many_query_parameters_on_the_supplier_list_is_a_json_400_naming_query(api, order):
    response = api.get("/api/v1/orders?" + many_parameters(f"created_after={START}"))
    assert_json_400_naming(response, "query")


def test_too_many_query_parameters_on_the_retailer_list_is_a_json_400_naming_query(
    retailer_client, order
):
    retailer_client.raise_request_exception = False
    response = retailer_client.get(
        "/api/v1/retailer/orders?" + many_parameters(f"updated_after={START}")
    )
    assert_json_400_naming(response, "query")


# The root URLconf with the APIs' handler400 (orders/api/errors.py `bad_request`), for a
# request refused before any view: the tests below run with it (pytest.mark.urls).
urlpatterns = root_urls.urlpatterns
handler400 = "orders.api.errors.bad_request"


class ReadsQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET  # noqa: B018 - parsed here, before any view
        return self.get_response(request)


@pytest.mark.urls(__name__)
def test_too_many_query_parameters_read_by_a_middleware_is_still_a_json_400_naming_query(
    api, retailer_client, order, settings
):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.ReadsQueryMiddleware"]
    retailer_client.raise_request_exception = False
    supplier = api.get("/api/v1/orders?" + many_parameters(f"created_after={START}"))
    assert_json_400_naming(supplier, "query")
    retailer = retailer_client.get(
        "/api/v1/retailer/orders?" + many_parameters(f"updated_after={START}")
    )
    assert_json_400_naming(retailer, "query")
    # The portal keeps Django's page.
    portal = api.get("/orders/?" + many_parameters("q=1"))
    assert portal.status_code == 400
    assert portal["Content-Type"].startswith("text/html")


# --- 2. A number holding a newline ------------------------------------------------------


@pytest.mark.parametrize("number", ["PO-1%0A", "%0A", "PO-1%0Ax/y"])
def test_a_supplier_order_number_with_a_newline_is_the_apis_json_404(api, order, number):
    response = api.get(f"/api/v1/orders/{number}")
    assert response.status_code == 404, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert list(response.json()["errors"]) == ["detail"]


def test_the_detail_route_still_serves_an_order_and_leaves_the_update_routes_alone(api, order):
    response = api.get(f"/api/v1/orders/{order.number}")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["number"] == order.number
    # A GET of an update route is that route's 405, not a detail lookup of "PO-.../...".
    assert api.get(f"/api/v1/orders/{order.number}/shipments").status_code == 405


# --- 3. Repeated list parameters --------------------------------------------------------


def test_a_repeated_retailer_list_parameter_names_only_the_repeat(retailer_client, order):
    response = retailer_client.get(
        f"/api/v1/retailer/orders?updated_after={START}&updated_after={START}"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"updated_after": ["Give this parameter once."]}}


def test_retailer_list_errors_are_named_together(retailer_client, order):
    response = retailer_client.get("/api/v1/retailer/orders?created_after=x&limit=0")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"updated_after", "created_after", "limit"}


@pytest.mark.parametrize("name", ["created_after", "updated_after"])
def test_a_repeated_supplier_window_parameter_names_only_the_repeat(api, order, name):
    response = api.get(f"/api/v1/orders?{name}={START}&{name}={START}")
    assert response.status_code == 400
    assert response.json() == {"errors": {name: ["Give this parameter once."]}}


def test_the_supplier_list_still_needs_a_window(api, order):
    response = api.get("/api/v1/orders?limit=5")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"created_after"}


# --- 4. Update bodies are strictly typed ----------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("cancellation", {"reason": "other", "note": 5}, "note"),
        ("cancellation", {"reason": "other", "note": True}, "note"),
        ("cancellation", {"reason": "other", "note": ["x"]}, "note"),
        (
            "cancellation",
            {"reason": "other", "note": "x", "lines": [{"line": 1, "quantity": "1"}]},
            "lines.0.quantity",
        ),
        (
            "cancellation",
            {"reason": "other", "note": "x", "lines": [{"line": 1.0, "quantity": 1}]},
            "lines.0.line",
        ),
        ("shipments", {"carrier": 7}, "carrier"),
        ("shipments", {"carrier": "DPD", "tracking_number": 1550}, "tracking_number"),
        (
            "shipments",
            {"carrier": "DPD", "lines": [{"line": 1, "quantity": True}]},
            "lines.0.quantity",
        ),
    ],
)
def test_a_wrong_type_is_400_naming_the_field_and_changes_nothing(api, order, action, body, field):
    before = snapshot(order)
    response = api.post(f"/api/v1/orders/{order.number}/{action}", body, format="json")
    assert_json_400_naming(response, field)
    assert snapshot(order) == before


def test_strings_for_line_and_quantity_are_refused_and_ship_nothing(api, order):
    before = snapshot(order)
    body = {"carrier": "DPD", "lines": [{"line": "1", "quantity": "1"}]}
    response = api.post(f"/api/v1/orders/{order.number}/shipments", body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert set(response.json()["errors"]) == {"lines.0.line", "lines.0.quantity"}
    assert snapshot(order) == before
    # The same body with integers ships.
    body = {"carrier": "DPD", "lines": [{"line": 1, "quantity": 1}]}
    shipped = api.post(f"/api/v1/orders/{order.number}/shipments", body, format="json")
    assert shipped.status_code == 201, shipped.content[:300]
