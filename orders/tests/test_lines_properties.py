"""Random sequences of partial cancellations and shipments (issue 12): after every step the
lines keep cancelled + shipped <= quantity, the status is the one rule's, the commission is
the half-up cent of what is not cancelled, and the document says the same; a refused step
changes nothing. Plus two cancellations of one line racing on PostgreSQL."""

import threading
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.documents import order_document, orders_with_document_relations
from orders.models import Cancellation, Order, OrderLine
from orders.services import (
    LineQuantity,
    OrderStateError,
    order_lines_cancel,
    order_set_status,
    order_shipment_create,
)
from testsupport.factories import make_retailer, place_order

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PRICES = {"ACME-001": Decimal("9.50"), "ACME-002": Decimal("7.25"), "ACME-003": Decimal("24.00")}

steps = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["cancel", "ship"]),
            st.lists(
                st.tuples(st.integers(1, 3), st.integers(1, 4)),
                min_size=1,
                max_size=3,
                unique_by=lambda pair: pair[0],
            ),
        ),
        st.tuples(st.sampled_from(["cancel all", "ship all", "processing"]), st.none()),
    ),
    max_size=8,
)
quantities = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
rates = st.sampled_from(["0.10", "0.125", "0.0725", "0.3333"])


def expected_status(model: dict, processing_set: bool) -> str:
    total = sum(q for q, _, _ in model.values())
    cancelled = sum(c for _, c, _ in model.values())
    shipped = sum(s for _, _, s in model.values())
    if cancelled == total:
        return "cancelled"
    if shipped and cancelled + shipped == total:
        return "shipped"
    return "processing" if shipped or processing_set else "placed"


def line_change(order, op: str, lines):
    if op.startswith("cancel"):
        return order_lines_cancel(
            order=order, actor="ops", reason="out_of_stock", note="some", lines=lines
        )
    return order_shipment_create(order=order, actor="ops", carrier="DPD", lines=lines)


@PROPERTY
@given(quantities=quantities, rate=rates, sequence=steps)
def test_random_partial_cancellations_and_shipments_keep_every_rule(
    acme, quantities, rate, sequence
):
    retailer, _ = make_retailer(rate=rate)
    skus = list(PRICES)
    (order,) = place_order(
        retailer=retailer,
        lines=[{"sku": sku, "quantity": q} for sku, q in zip(skus, quantities, strict=True)],
    )
    # line_no -> [quantity, cancelled, shipped]
    model = {no: [q, 0, 0] for no, q in enumerate(quantities, start=1)}
    processing_set = False
    cancellations = shipments = 0
    for op, pairs in sequence:
        open_units = {no: q - c - s for no, (q, c, s) in model.items()}
        if op == "processing":
            if expected_status(model, processing_set) != "placed":
                with pytest.raises(ValidationError):
                    order_set_status(order=order, actor="ops", status="processing")
            else:
                order_set_status(order=order, actor="ops", status="processing")
                processing_set = True
        else:
            lines = None if pairs is None else [LineQuantity(no, units) for no, units in pairs]
            wanted = open_units if pairs is None else dict(pairs)
            fits = any(wanted.values()) and all(
                units <= open_units[no] for no, units in wanted.items()
            )
            if fits:
                line_change(order, op, lines)
                for no, units in wanted.items():
                    model[no][1 if op.startswith("cancel") else 2] += units
                cancellations += op.startswith("cancel")
                shipments += op.startswith("ship")
            else:
                with pytest.raises(OrderStateError):
                    line_change(order, op, lines)

        # After every step, refused or not:
        db_lines = list(OrderLine.objects.filter(order=order).order_by("line_no"))
        assert {
            line.line_no: [line.quantity, line.quantity_cancelled, line.quantity_shipped]
            for line in db_lines
        } == model
        assert all(line.quantity_open >= 0 for line in db_lines)
        current = Order.objects.get(pk=order.pk)
        assert current.status == expected_status(model, processing_set)
        kept = sum(
            (PRICES[sku] * (q - c) for sku, (q, c, _) in zip(skus, model.values(), strict=True)),
            Decimal("0"),
        )
        assert current.commission_amount == (kept * Decimal(rate)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        document = order_document(
            orders_with_document_relations(Order.objects.filter(pk=order.pk)).get()
        )
        assert document["status"] == current.status
        assert [(x["quantity_cancelled"], x["quantity_shipped"]) for x in document["lines"]] == [
            (c, s) for _, c, s in model.values()
        ]
        assert len(document["cancellations"]) == cancellations
        assert len(document["shipments"]) == shipments
        assert (document["cancellation"] is not None) == (current.status == "cancelled")
        # The stored text is the same document.
        assert current.document_version == current.version


@pytest.mark.django_db(transaction=True)
def test_two_partial_cancellations_of_one_line_racing_cannot_cancel_more_than_is_open(
    on_postgres, acme, retailer
):
    (order,) = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 3}])
    barrier = threading.Barrier(2)
    outcomes: list = []
    lock = threading.Lock()

    def cancel_two(note: str):
        try:
            barrier.wait(timeout=30)
            try:
                order_lines_cancel(
                    order=order,
                    actor="ops",
                    reason="out_of_stock",
                    note=note,
                    lines=[LineQuantity(line=1, quantity=2)],
                )
                outcome = "cancelled"
            except OrderStateError as exc:
                outcome = exc
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=cancel_two, args=(f"n{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2
    refused = [o for o in outcomes if o != "cancelled"]
    assert len(refused) == 1, outcomes
    assert refused[0].code == "conflict"
    assert "has 1 of 3 open; you cannot cancel 2" in refused[0].message_dict["lines.0.quantity"][0]
    line = OrderLine.objects.get(order=order)
    assert (line.quantity_cancelled, line.quantity_shipped) == (2, 0)
    assert Cancellation.objects.filter(order=order).count() == 1
    assert Order.objects.get(pk=order.pk).status == "placed"
