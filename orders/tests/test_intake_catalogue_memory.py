"""Intake's products from the web process's memory (suppliers/catalogue_memory.py), checked by
the write itself: whatever changed in the catalogue, and however it changed, no order is
stored with what the catalogue no longer says."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderEvent, OrderIntake, OrderLine
from orders.services import order_place_from_retailer
from suppliers import catalogue_memory
from suppliers.models import Product, Supplier
from testsupport.factories import intake_payload

URL = "/api/v1/retailer/orders"
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LINES = [{"sku": "ACME-001", "quantity": 2}, {"sku": "BOLT-7", "quantity": 1}]


@pytest.fixture(autouse=True)
def _dispatch_elsewhere(settings):
    # The listener process dispatches (production's default): the request's own queries only.
    settings.DELIVERY_DISPATCH = "listener"


def post(client, reference, lines=LINES):
    """The response, and the request's catalogue reads and writes in order ("read",
    "write"); the key's look-up, which depends on the cache (orders/retailer_memory.py), is
    left out."""
    with CaptureQueriesContext(connection) as captured:
        response = client.post(URL, intake_payload(reference=reference, lines=lines), format="json")
    kinds = []
    for query in captured:
        if "WITH i AS (INSERT INTO" in query["sql"]:
            kinds.append("write")
        elif 'FROM "suppliers_product" p JOIN' in query["sql"]:
            kinds.append("read")
    return response, kinds


def stored_lines(reference):
    return list(
        OrderLine.objects.filter(order__retailer_reference=reference)
        .order_by("order__supplier__slug", "line_no")
        .values_list("sku", "name", "unit_price", "line_total")
    )


def test_remembered_products_leave_the_write_alone(on_postgres, retailer_client, acme, bolt):
    first, first_kinds = post(retailer_client, "M-1")
    second, second_kinds = post(retailer_client, "M-2")
    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert (first_kinds, second_kinds) == (["read", "write"], ["write"])
    # Both orders alike, as the catalogue says.
    assert (
        stored_lines("M-2")
        == stored_lines("M-1")
        == [
            ("ACME-001", "Product ACME-001", Decimal("9.50"), Decimal("19.00")),
            ("BOLT-7", "Product BOLT-7", Decimal("5.80"), Decimal("5.80")),
        ]
    )
    assert [o["supplier"] for o in second.json()["orders"]] == ["acme", "bolt"]


def test_a_new_price_set_behind_the_memory_is_the_price_stored(
    on_postgres, retailer_client, acme, bolt
):
    assert post(retailer_client, "P-1")[0].status_code == 201
    # QuerySet.update: no signal, no save(); only the write's check can see it.
    Product.objects.filter(sku="ACME-001").update(price=Decimal("11.25"))
    response, kinds = post(retailer_client, "P-2")
    assert response.status_code == 201, response.content
    # The guarded write stored nothing; the catalogue read again; the write again.
    assert kinds == ["write", "read", "write"]
    assert stored_lines("P-2")[0] == (
        "ACME-001",
        "Product ACME-001",
        Decimal("11.25"),
        Decimal("22.50"),
    )
    assert response.json()["orders"][0]["lines"][0]["unit_price"] == "11.25"
    # Exactly one intake of P-2, one order per supplier, one event each: nothing twice.
    assert OrderIntake.objects.filter(reference="P-2").count() == 1
    assert Order.objects.filter(retailer_reference="P-2").count() == 2
    assert OrderEvent.objects.filter(order__retailer_reference="P-2").count() == 2
    # What was read is remembered: the next order needs no read.
    third, third_kinds = post(retailer_client, "P-3")
    assert third.status_code == 201 and third_kinds == ["write"]
    assert stored_lines("P-3")[0][2] == Decimal("11.25")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"name": "Renamed Lamp"}, id="product-name"),
        pytest.param({"currency": "EUR"}, id="product-currency"),
        pytest.param({"sku": "ACME-001"}, id="nothing-changed"),
    ],
)
def test_any_change_to_what_an_order_copies_is_seen(
    on_postgres, retailer_client, acme, bolt, change
):
    assert post(retailer_client, "N-1")[0].status_code == 201
    Product.objects.filter(sku="ACME-001").update(**change)
    response, kinds = post(retailer_client, "N-2")
    assert response.status_code == 201, response.content
    order = Order.objects.get(retailer_reference="N-2", supplier=acme)
    line = order.lines.get()
    product = Product.objects.get(sku="ACME-001")
    assert (line.name, order.currency) == (product.name, product.currency)
    changed = change != {"sku": "ACME-001"}
    assert kinds == (["write", "read", "write"] if changed else ["write"])


def test_a_product_taken_off_sale_is_refused_and_nothing_is_stored(
    on_postgres, retailer_client, acme, bolt
):
    assert post(retailer_client, "O-1")[0].status_code == 201
    Product.objects.filter(sku="BOLT-7").update(is_active=False)
    response, kinds = post(retailer_client, "O-2")
    assert response.status_code == 400
    assert kinds == ["write", "read"]  # the guarded write stored nothing
    assert response.json()["errors"] == {"lines.1.sku": ["Unknown SKU 'BOLT-7'."]}
    assert not OrderIntake.objects.filter(reference="O-2").exists()
    assert not Order.objects.filter(retailer_reference="O-2").exists()
    assert OrderEvent.objects.count() == 2  # O-1's two
    # Forgotten: the next request reads the catalogue, and is refused the same way.
    again, kinds = post(retailer_client, "O-3")
    assert again.status_code == 400 and kinds == ["read"]
    assert catalogue_memory.recall(["BOLT-7"]) is None


def test_a_deactivated_supplier_is_refused_and_a_renamed_one_answers_by_its_new_slug(
    on_postgres, retailer_client, acme, bolt
):
    assert post(retailer_client, "S-1")[0].status_code == 201
    Supplier.objects.filter(pk=acme.pk).update(slug="acme-home")
    renamed, _ = post(retailer_client, "S-2")
    assert renamed.status_code == 201, renamed.content
    assert [o["supplier"] for o in renamed.json()["orders"]] == ["acme-home", "bolt"]
    Supplier.objects.filter(pk=bolt.pk).update(is_active=False)
    refused, _ = post(retailer_client, "S-3")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"lines.1.sku": ["Unknown SKU 'BOLT-7'."]}
    assert not OrderIntake.objects.filter(reference="S-3").exists()


def test_a_repeat_after_a_price_change_still_gets_the_first_answer(
    on_postgres, retailer_client, acme, bolt
):
    first, _ = post(retailer_client, "RP-1")
    Product.objects.filter(sku="ACME-001").update(price=Decimal("1.00"))
    repeat, _ = post(retailer_client, "RP-1")
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert repeat.json() == first.json()
    assert Order.objects.filter(retailer_reference="RP-1").count() == 2


def test_inside_a_callers_transaction_a_change_is_seen_too(on_postgres, retailer, acme, bolt):
    payload = intake_payload(reference="T-1", lines=LINES)
    order_place_from_retailer(retailer=retailer, payload=payload)
    Product.objects.filter(sku="BOLT-7").update(price=Decimal("6.40"))
    with transaction.atomic():  # a script's own transaction: the statement runs at once
        result = order_place_from_retailer(
            retailer=retailer, payload=intake_payload(reference="T-2", lines=LINES)
        )
    assert result.created
    assert stored_lines("T-2")[1][2] == Decimal("6.40")
    assert OrderIntake.objects.filter(reference="T-2").count() == 1
    assert OrderEvent.objects.filter(order__retailer_reference="T-2").count() == 2


def test_turned_off_every_intake_reads_the_catalogue(
    on_postgres, settings, retailer_client, acme, bolt
):
    settings.CATALOGUE_MEMORY_SECONDS = 0
    kinds = [post(retailer_client, f"Z-{i}")[1] for i in range(3)]
    assert kinds == [["read", "write"]] * 3
    assert catalogue_memory.recall(["ACME-001"]) is None


def test_memory_expires_and_stays_bounded(on_postgres, settings, acme, monkeypatch):
    from suppliers.selectors import products_by_sku

    settings.CATALOGUE_MEMORY_SECONDS = 5
    products_by_sku(skus=["ACME-001", "ACME-002"])
    assert catalogue_memory.recall(["ACME-001", "ACME-002"]) is not None
    assert catalogue_memory.recall(["ACME-001", "ACME-003"]) is None  # all or nothing
    clock = [catalogue_memory.time.monotonic() + 6]
    monkeypatch.setattr(catalogue_memory.time, "monotonic", lambda: clock[0])
    assert catalogue_memory.recall(["ACME-001"]) is None
    monkeypatch.setattr(catalogue_memory, "MAX_REMEMBERED", 10)
    rows = [(None, None, f"SKU-{i}") for i in range(25)]
    for index in range(0, 25, 5):
        catalogue_memory.remember(rows[index : index + 5], sku_index=2)
    assert len(catalogue_memory._remembered) <= 10
    assert catalogue_memory.recall(["SKU-24"]) == [rows[24]]  # the newest stay


def test_the_largest_order_is_guarded_and_stored_whole(on_postgres, retailer_client, acme):
    from orders.intake import MAX_LINES
    from testsupport.factories import make_products

    skus = {f"BIG-{i:03d}": f"{1 + i % 7}.25" for i in range(MAX_LINES)}
    make_products(supplier=acme, skus=skus)
    lines = [{"sku": sku, "quantity": 1} for sku in skus]
    assert post(retailer_client, "BIG-1", lines)[0].status_code == 201
    Product.objects.filter(sku="BIG-499").update(price=Decimal("100.00"))
    response, kinds = post(retailer_client, "BIG-2", lines)
    assert response.status_code == 201, response.content
    assert kinds == ["write", "read", "write"]
    order = Order.objects.get(retailer_reference="BIG-2")
    assert order.lines.count() == MAX_LINES
    expected = sum(Decimal(price) for price in skus.values())
    expected += Decimal("100.00") - Decimal(skus["BIG-499"])
    assert order.total == expected
