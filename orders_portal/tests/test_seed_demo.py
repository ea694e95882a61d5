"""`seed_demo`: the demo data `make run` loads, once, and never over real data.

Commands are called by name, so these tests hold wherever the command lives.
"""

import hashlib

from django.contrib.auth import get_user_model

from orders.models import Order, OrderEvent, OrderIntake, OrderLine, Retailer
from suppliers.models import ApiToken, Product, Supplier
from testsupport.commands import command_refused as refused
from testsupport.commands import command_run as run

User = get_user_model()


def no_orders():
    assert OrderIntake.objects.count() == 0
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OrderEvent.objects.count() == 0


def test_with_debug_off_the_demo_login_gets_a_random_password_shown_once(db, settings):
    """The production shape: the README's password would be a published login on a real site.
    (pytest-django runs with DEBUG off whatever the environment; set here to say so.)"""
    settings.DEBUG = False
    out, _ = run("seed_demo")
    (line,) = [line for line in out.splitlines() if "Portal login:" in line]
    password = line.split(" / ", 1)[1].removesuffix(" (shown once: it is stored hashed)")
    assert "orders-demo-2026" not in out and len(password) >= 16
    user = User.objects.get(username="demo")
    assert user.check_password(password) and not user.check_password("orders-demo-2026")
    again, _ = run("seed_demo")
    assert password not in again and "nothing to do" in again


def test_seed_demo_loads_once_and_is_idempotent(db, settings):
    settings.DEBUG = True  # development (make run), where the README's login is the one
    out, _ = run("seed_demo")
    assert "demo / orders-demo-2026" in out
    assert set(Supplier.objects.values_list("slug", flat=True)) == {"acme", "bolt"}
    assert list(Retailer.objects.values_list("slug", flat=True)) == ["shopco"]
    assert Product.objects.count() == 5
    user = User.objects.get(username="demo")
    assert user.check_password("orders-demo-2026")
    assert user.supplier_membership.supplier.slug == "acme"
    assert ApiToken.objects.filter(supplier__slug="acme").count() == 1
    assert Order.objects.count() == 13
    assert set(Order.objects.values_list("status", flat=True)) == {
        "placed",
        "processing",
        "shipped",
    }
    # Every order and every change has its event.
    assert OrderEvent.objects.filter(type="order.created").count() == 13
    assert OrderEvent.objects.filter(type="order.updated").count() == 2
    assert OrderEvent.objects.filter(type="order.shipment_created").count() == 1

    # The printed credentials work.
    key = next(line.split(": ")[1] for line in out.splitlines() if "Retailer API key" in line)
    assert Retailer.objects.get().api_key_hash == hashlib.sha256(key.encode()).hexdigest()

    counts = (Supplier.objects.count(), Order.objects.count(), OrderEvent.objects.count())
    out, _ = run("seed_demo")
    assert "already present" in out
    assert (Supplier.objects.count(), Order.objects.count(), OrderEvent.objects.count()) == counts


def test_seed_demo_refuses_when_it_would_clash_and_writes_nothing(db):
    run("create_retailer", "shopco", "--name", "Real Shop", "--email", "real@shop.example")
    message = refused("seed_demo")
    assert "slug" in message and "shopco" in message
    assert not Supplier.objects.exists()
    assert not Product.objects.exists()
    assert not User.objects.exists()
    assert Retailer.objects.get().name == "Real Shop"
    no_orders()


def test_seed_demo_if_empty_leaves_a_database_with_real_data_alone(db):
    run("create_supplier", "realco", "--name", "Real Co", "--order-email", "po@real.example")
    out, _ = run("seed_demo", "--if-empty")
    assert "not loaded" in out
    assert list(Supplier.objects.values_list("slug", flat=True)) == ["realco"]
    assert not Retailer.objects.exists() and not User.objects.exists()
    no_orders()


def test_seed_demo_if_empty_loads_into_an_empty_database(db, settings):
    settings.DEBUG = True  # as make run
    out, _ = run("seed_demo", "--if-empty")
    assert "demo / orders-demo-2026" in out
    assert Order.objects.count() == 13


def test_seed_demo_takes_no_arguments(db):
    refused("seed_demo", "extra")
    assert not Supplier.objects.exists()
