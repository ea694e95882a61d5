"""Intake's hot-path rows (common/inserts.py): the instances it builds and the parameters it
binds are the ones Django's own `Model(**values)` and field preparation give."""

import warnings
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models.signals import post_init
from django.utils import timezone
from psycopg.types.json import Jsonb

from common.inserts import insert_fields, insert_params, instance_new
from orders.models import OrderEvent, OrderIntake, OrderLine
from testsupport.factories import make_products, make_retailer, make_supplier


def _state(obj) -> dict:
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    cached = dict(obj._state.fields_cache)
    return {"values": values, "cached": cached, "adding": obj._state.adding, "db": obj._state.db}


@pytest.fixture
def rows(db):
    retailer, _ = make_retailer()
    (product,) = make_products(supplier=make_supplier(), skus={"INS-1": "4.25"})
    return retailer, product


def test_a_new_instance_is_the_one_model_keywords_build(rows):
    retailer, product = rows
    intake = OrderIntake(retailer=retailer, reference="R-1")
    assert _state(instance_new(OrderIntake, retailer=retailer, reference="R-1")) == _state(intake)
    values = dict(
        line_no=1,
        product=product,
        sku=product.sku,
        name=product.name,
        quantity=2,
        unit_price=product.price,
        line_total=Decimal("8.50"),
    )
    fast, slow = instance_new(OrderLine, **values), OrderLine(**values)
    assert _state(fast) == _state(slow)
    assert fast.product is product and fast.quantity_cancelled == 0  # the field's default
    # An attname instead of the relation, and a relation given as None, as Model takes them.
    event = dict(order_id=None, type="created", actor="a", actor_user=None, data={"k": 1})
    assert _state(instance_new(OrderEvent, **event)) == _state(OrderEvent(**event))


def test_an_unknown_field_is_refused_by_name(db):
    with pytest.raises(TypeError, match="no field named colour"):
        instance_new(OrderIntake, reference="R-1", colour="red")


def _comparable(params: list) -> list:
    return [(type(v).__name__, v.obj) if isinstance(v, Jsonb) else v for v in params]


def _prepared(obj) -> list:
    fields = insert_fields(type(obj))
    return _comparable([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def test_parameters_are_each_fields_own_preparation(rows):
    retailer, product = rows
    line = OrderLine(
        order_id=1,
        line_no=1,
        product=product,
        sku="S",
        name="N",
        quantity=2,
        unit_price=Decimal("4.25"),
        line_total=Decimal("8.50"),
    )
    event = OrderEvent(order_id=1, type="created", actor="a", data={"k": 1}, created_at=None)
    event.created_at = timezone.now()
    for obj in (line, event):
        assert _comparable(insert_params([obj])) == _prepared(obj)


def test_values_the_shortcut_does_not_pass_still_go_through_the_field(rows):
    retailer, product = rows
    line = OrderLine(order_id=1, line_no=1, product=product, sku="S", name="N", quantity=1)
    line.unit_price, line.line_total = Decimal("NaN"), Decimal("1")
    with pytest.raises(ValidationError):
        insert_params([line])
    naive = datetime(2026, 11, 27, 10, 0)
    event = OrderEvent(order_id=1, type="created", actor="a", data={}, created_at=naive)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params, expected = insert_params([event]), _prepared(event)
    assert params[-2] == expected[-2]  # made aware (PostgreSQL), or naive text (SQLite)
    assert any("naive datetime" in str(w.message) for w in caught)


def test_with_an_init_receiver_connected_the_signals_are_sent(rows):
    retailer, _ = rows
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append((sender, instance.reference, instance.retailer_id))

    post_init.connect(receiver, sender=OrderIntake)
    try:
        intake = instance_new(OrderIntake, retailer=retailer, reference="R-2")
    finally:
        post_init.disconnect(receiver, sender=OrderIntake)
    assert seen == [(OrderIntake, "R-2", retailer.pk)]
    assert _state(intake) == _state(OrderIntake(retailer=retailer, reference="R-2"))
