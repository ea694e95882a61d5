"""Ops commands for retailers and orders: success, and one-line refusals that change nothing.

Commands are called by name, so these tests hold wherever the command lives.
"""

import csv
import hashlib
import io
import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent, OrderIntake, OrderLine, Retailer
from testsupport.commands import command_refused as refused
from testsupport.commands import command_run as run
from testsupport.factories import intake_payload


def no_orders():
    assert OrderIntake.objects.count() == 0
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OrderEvent.objects.count() == 0


# --- create_retailer ---------------------------------------------------------------------


def test_create_retailer_prints_a_working_key_once(acme):
    out, err = run(
        "create_retailer",
        "shopco",
        "--name",
        "Shop Co",
        "--email",
        "buyers@shopco.example",
        "--commission-rate",
        "0.125",
    )
    key = out.strip()
    retailer = Retailer.objects.get(slug="shopco")
    assert (retailer.name, retailer.email) == ("Shop Co", "buyers@shopco.example")
    assert retailer.commission_rate == Decimal("0.125")
    assert retailer.api_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (retailer.api_key_prefix, retailer.api_key_hash)
    assert "shown once" in err

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post("/api/v1/retailer/orders", intake_payload(), format="json")
    assert response.status_code == 201
    assert Order.objects.get().commission_amount == Decimal("2.38")  # 19.00 * 0.125


def test_create_retailer_default_commission(db):
    run("create_retailer", "shopco", "--name", "Shop Co", "--email", "b@shopco.example")
    assert Retailer.objects.get().commission_rate == Decimal("0.10")


@pytest.mark.parametrize(
    "args, field",
    [
        (["shopco", "--name", "S", "--email", "x@y.example", "--commission-rate", "abc"], "rate"),
        (["shopco", "--name", "S", "--email", "x@y.example", "--commission-rate", "1.5"], "rate"),
        (["shopco", "--name", "S", "--email", "x@y.example", "--commission-rate", "-0.1"], "rate"),
        (["shopco", "--name", "S", "--email", "x@y.example", "--commission-rate", "NaN"], "rate"),
        (["shopco", "--name", "S", "--email", "nope"], "email"),
        (["shop co", "--name", "S", "--email", "x@y.example"], "slug"),
        (["shopco", "--name", " ", "--email", "x@y.example"], "name"),
        (["shopco", "--name", "Shop\nTo: spy@evil.example", "--email", "x@y.example"], "name"),
        (["shopco", "--email", "x@y.example"], "--name"),
    ],
)
def test_create_retailer_bad_input(db, args, field):
    message = refused("create_retailer", *args)
    assert field in message
    assert not Retailer.objects.exists()


def test_create_retailer_twice_is_refused(db):
    first = run("create_retailer", "shopco", "--name", "First", "--email", "a@x.example")[0]
    message = refused("create_retailer", "shopco", "--name", "Second", "--email", "b@x.example")
    assert "slug" in message
    retailer = Retailer.objects.get()
    assert retailer.name == "First"
    assert retailer.api_key_hash == hashlib.sha256(first.strip().encode()).hexdigest()


# --- import_orders -----------------------------------------------------------------------


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_orders_json_list(acme, bolt, retailer, tmp_path):
    documents = [
        intake_payload(
            reference="IMP-1",
            placed_at="2026-10-01T09:30:00Z",
            lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "BOLT-7", "quantity": 1}],
        ),
        intake_payload(reference="IMP-2", lines=[{"sku": "ACME-003", "quantity": 1}]),
    ]
    path = write(tmp_path, "orders.json", json.dumps(documents))
    out, err = run("import_orders", "shopco", path)
    assert "2 orders imported, 0 already present" in out
    assert "2/2 (100%)" in err
    assert sorted(Order.objects.values_list("retailer_reference", "supplier__slug")) == [
        ("IMP-1", "acme"),
        ("IMP-1", "bolt"),
        ("IMP-2", "acme"),
    ]
    acme_order = Order.objects.get(retailer_reference="IMP-1", supplier=acme)
    assert acme_order.total == Decimal("19.00")
    assert acme_order.placed_at.isoformat() == "2026-10-01T09:30:00+00:00"
    assert set(OrderEvent.objects.values_list("type", "actor")) == {("order.created", "ops:import")}

    out, _ = run("import_orders", "shopco", path)
    assert "0 orders imported, 2 already present" in out
    assert Order.objects.count() == 3 and OrderEvent.objects.count() == 3


def test_import_orders_long_file_shows_progress(acme, retailer, tmp_path):
    documents = [intake_payload(reference=f"P-{i}") for i in range(40)]
    _, err = run("import_orders", "shopco", write(tmp_path, "many.json", json.dumps(documents)))
    progress = [line.strip() for line in err.splitlines() if "/40" in line]
    assert len(progress) == 20
    assert progress[0] == "2/40 (5%)" and progress[-1] == "40/40 (100%)"
    assert Order.objects.count() == 40


def csv_text(rows: list[dict]) -> str:
    from orders.intake.csv import CSV_COLUMNS

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in CSV_COLUMNS})
    return buffer.getvalue()


def csv_row(reference: str, sku: str, quantity, **extra) -> dict:
    row = {
        "reference": reference,
        "customer_name": "Ann Lee",
        "customer_email": "ann@example.com",
        "ship_name": "Ann Lee",
        "ship_line1": "1 High St",
        "ship_city": "Leeds",
        "ship_postcode": "LS1 1AA",
        "ship_country": "GB",
        "sku": sku,
        "quantity": str(quantity),
    }
    row.update(extra)
    return row


def test_import_orders_csv_groups_rows_by_reference(acme, bolt, retailer, tmp_path):
    text = csv_text(
        [
            csv_row("C-1", "ACME-001", 1, placed_at="2026-10-02T08:00:00+01:00"),
            csv_row("C-1", "ACME-002", 3),
            csv_row("C-1", "BOLT-9", 2),
            csv_row("C-2", "ACME-003", 1),
        ]
    )
    out, err = run("import_orders", "shopco", write(tmp_path, "orders.csv", text))
    assert "2 orders imported" in out and "2/2 (100%)" in err
    order = Order.objects.get(retailer_reference="C-1", supplier=acme)
    assert list(order.lines.values_list("line_no", "sku", "quantity")) == [
        (1, "ACME-001", 1),
        (2, "ACME-002", 3),
    ]
    assert order.total == Decimal("31.25")
    assert order.placed_at.isoformat() == "2026-10-02T07:00:00+00:00"
    assert Order.objects.get(retailer_reference="C-1", supplier=bolt).total == Decimal("6.20")
    assert Order.objects.count() == 3


def test_import_orders_bad_document_in_the_middle_writes_nothing(acme, retailer, tmp_path):
    documents = [
        intake_payload(reference="OK-1"),
        intake_payload(reference="OK-2"),
        intake_payload(reference="BAD-3", lines=[{"sku": "NOPE", "quantity": 1}]),
        intake_payload(reference="OK-4"),
    ]
    message = refused("import_orders", "shopco", write(tmp_path, "o.json", json.dumps(documents)))
    assert message.startswith("order 3: lines.0.sku"), message
    no_orders()


def test_import_orders_bad_csv_row_in_the_middle_writes_nothing(acme, retailer, tmp_path):
    text = csv_text(
        [
            csv_row("C-1", "ACME-001", 1),
            csv_row("C-2", "ACME-001", 1, ship_country="XX"),
            csv_row("C-3", "ACME-001", 1),
        ]
    )
    message = refused("import_orders", "shopco", write(tmp_path, "o.csv", text))
    assert message.startswith("order 2: line 3: ship_country: 'XX' is not"), message
    no_orders()


@pytest.mark.parametrize(
    "name, text, field",
    [
        ("o.json", "{not json", "file"),
        ("o.json", json.dumps({"reference": "R-1"}), "file"),
        ("o.json", "[]", "file"),
        ("o.json", json.dumps([{"reference": "R-1"}]), "order 1: customer"),
        ("o.json", json.dumps(["R-1"]), "order 1: body"),
        (
            "o.json",
            json.dumps([intake_payload(reference="D"), intake_payload(reference="D")]),
            "order 2: reference",
        ),
        (
            "o.json",
            json.dumps([intake_payload(lines=[{"sku": "ACME-001", "quantity": "2"}])]),
            "order 1: lines.0.quantity",
        ),
        # Past what Python's json reads (a number of 5,000 digits, nesting 100,000 deep): a
        # one-line refusal, as the API's 400, not a traceback.
        ("o.json", "[" + "1" * 5000 + "]", "file: not valid JSON"),
        ("o.json", "[" * 100_000 + "]" * 100_000, "file: not valid JSON"),
        ("o.csv", "reference,sku,quantity\nR-1,ACME-001,1\n", "file"),
        ("o.csv", None, "line 3"),
        ("o.csv", "huge cell", "line 2: not CSV"),  # past the csv module's field limit
    ],
)
def test_import_orders_bad_input(acme, retailer, tmp_path, name, text, field):
    if text is None:  # a CSV whose second data row has a quantity that is not a number
        text = csv_text([csv_row("C-1", "ACME-001", 1), csv_row("C-1", "ACME-002", "two")])
    elif text == "huge cell":
        text = csv_text([csv_row("C-1", "ACME-001", 1, customer_name="a" * 200_000)])
    message = refused("import_orders", "shopco", write(tmp_path, name, text))
    assert message.startswith(field), message
    no_orders()


def test_import_orders_unknown_retailer_or_missing_file(acme, retailer, tmp_path):
    path = write(tmp_path, "o.json", json.dumps([intake_payload()]))
    assert refused("import_orders", "nosuch", path).startswith("retailer_slug")
    assert refused("import_orders", "shopco", str(tmp_path / "none.json")).startswith("file")
    no_orders()


@pytest.mark.django_db(transaction=True)
def test_import_orders_commits_each_order_as_it_goes(acme, retailer, tmp_path, monkeypatch):
    """Each imported order is committed (and so seen by suppliers' pollers) as it is written,
    in intake's own bounded transaction: one transaction round the whole file held the first
    orders' created_at back past the settle time, and a poller's window had passed them."""
    import threading

    from orders.management.commands import import_orders as command

    seen_from_elsewhere = []
    place = command.order_place_from_retailer

    def place_then_look(**kwargs):
        result = place(**kwargs)

        def look():  # another connection, as a supplier's API request
            from django.db import connection

            try:
                seen_from_elsewhere.append(
                    set(Order.objects.values_list("retailer_reference", flat=True))
                )
            finally:
                connection.close()

        thread = threading.Thread(target=look)
        thread.start()
        thread.join(10)
        return result

    monkeypatch.setattr(command, "order_place_from_retailer", place_then_look)
    documents = [intake_payload(reference=f"IMP-{k}") for k in (1, 2)]
    run("import_orders", "shopco", write(tmp_path, "o.json", json.dumps(documents)))
    assert seen_from_elsewhere == [{"IMP-1"}, {"IMP-1", "IMP-2"}]


# --- import_orders: found in review --------------------------------------------------------


def test_import_orders_refuses_an_inactive_retailer_as_the_api_does(acme, retailer, tmp_path):
    Retailer.objects.filter(pk=retailer.pk).update(is_active=False)
    path = write(tmp_path, "o.json", json.dumps([intake_payload(reference="R-1")]))
    assert refused("import_orders", "shopco", path) == (
        "retailer_slug: retailer 'shopco' is inactive."
    )
    no_orders()


def test_import_orders_csv_rows_of_one_reference_that_disagree_are_refused(
    acme, retailer, tmp_path
):
    text = csv_text(
        [
            csv_row("C-1", "ACME-001", 1),
            csv_row("C-1", "ACME-002", 1, ship_city=""),  # blank: as above
            csv_row("C-1", "ACME-003", 1, ship_city="York"),
        ]
    )
    message = refused("import_orders", "shopco", write(tmp_path, "o.csv", text))
    assert message.startswith("line 4: reference 'C-1' has ship_city 'York', but line 2 has")
    no_orders()


def test_import_orders_run_again_after_a_product_went_counts_the_imported_ones_as_present(
    acme, retailer, tmp_path
):
    """As the API answers a repeat with its first orders whatever the catalogue says now;
    before, a withdrawn product refused the whole file, the orders never imported too."""
    from suppliers.models import Product

    documents = [
        intake_payload(reference="R-1", lines=[{"sku": "ACME-001", "quantity": 1}]),
        intake_payload(reference="R-2", lines=[{"sku": "ACME-002", "quantity": 1}]),
    ]
    run("import_orders", "shopco", write(tmp_path, "cut.json", json.dumps(documents[:1])))
    Product.objects.filter(sku="ACME-001").update(is_active=False)
    out, _ = run("import_orders", "shopco", write(tmp_path, "all.json", json.dumps(documents)))
    assert "1 orders imported, 1 already present" in out
    assert sorted(Order.objects.values_list("retailer_reference", flat=True)) == ["R-1", "R-2"]
    # A document not in yet still needs its products.
    third = [intake_payload(reference="R-3", lines=[{"sku": "ACME-001", "quantity": 1}])]
    message = refused("import_orders", "shopco", write(tmp_path, "new.json", json.dumps(third)))
    assert message.startswith("order 1: lines.0.sku"), message
    assert Order.objects.count() == 2
