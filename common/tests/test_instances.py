"""Intake's hot-path instances (common/instances.py) are the ones Django's own
`Model(**values)` and `Model.from_db` build: same values, caches and state, same signals."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import post_init

from common.instances import instance_from_db, instance_new
from orders.models import OrderEvent, OrderIntake, OrderLine
from suppliers.models import Product
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


def test_a_loaded_instance_is_the_one_from_db_builds_its_other_fields_deferred(rows):
    _, product = rows
    names = ("id", "supplier_id", "sku", "price")
    values = [product.pk, product.supplier_id, product.sku, product.price]
    fast = instance_from_db(Product, connection.alias, names, values)
    slow = Product.from_db(connection.alias, names, values)
    assert fast.__dict__.keys() == slow.__dict__.keys()
    assert fast.get_deferred_fields() == slow.get_deferred_fields()
    assert (fast._state.adding, fast._state.db) == (False, connection.alias)
    assert fast.name == product.name  # a deferred field loads on access, as with from_db
