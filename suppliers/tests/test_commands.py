"""Ops commands for suppliers: success, and one-line refusals that change nothing.

Commands are called by name, so these tests hold wherever the command lives.
"""

import hashlib

import pytest
from django.contrib.auth import get_user_model

from suppliers.models import ApiToken, Product, Supplier, SupplierMembership
from suppliers.selectors import api_token_authenticate
from testsupport.commands import command_refused as refused
from testsupport.commands import command_run as run
from testsupport.factories import make_products, make_supplier

User = get_user_model()


# --- create_supplier ---------------------------------------------------------------------


def test_create_supplier(db):
    out, _ = run(
        "create_supplier", "acme", "--name", "Acme Home", "--order-email", "a@acme.example"
    )
    supplier = Supplier.objects.get(slug="acme")
    assert supplier.name == "Acme Home"
    assert supplier.order_email_list == ["a@acme.example"]
    assert supplier.is_active
    assert "acme" in out


def test_create_supplier_with_several_order_emails(db):
    run("create_supplier", "acme", "--name", "Acme", "--order-email", " a@x.example, b@x.example ")
    assert Supplier.objects.get(slug="acme").order_email_list == ["a@x.example", "b@x.example"]


@pytest.mark.parametrize(
    "args, field",
    [
        (["acme", "--name", "Acme", "--order-email", "not-an-email"], "order_emails"),
        (["acme", "--name", "Acme", "--order-email", "a@x.example,nope"], "order_emails"),
        (["acme", "--name", "Acme", "--order-email", " , "], "order_emails"),
        (["Bad Slug!", "--name", "Acme", "--order-email", "a@x.example"], "slug"),
        (["acme", "--name", "   ", "--order-email", "a@x.example"], "name"),
        (
            ["acme", "--name", "Acme\r\nBcc: spy@evil.example", "--order-email", "a@x.example"],
            "name",
        ),
        (["acme", "--order-email", "a@x.example"], "--name"),
        (["acme", "--name", "Acme"], "--order-email"),
    ],
)
def test_create_supplier_bad_input(db, args, field):
    message = refused("create_supplier", *args)
    assert field in message
    assert not Supplier.objects.exists()


def test_create_supplier_twice_is_refused_and_keeps_the_first(db):
    run("create_supplier", "acme", "--name", "First", "--order-email", "a@x.example")
    message = refused("create_supplier", "acme", "--name", "Second", "--order-email", "b@x.example")
    assert "slug" in message
    assert list(Supplier.objects.values_list("name", flat=True)) == ["First"]


# --- create_supplier_user ----------------------------------------------------------------


def test_create_supplier_user_with_password(acme):
    out, _ = run(
        "create_supplier_user",
        "acme",
        "sam",
        "--email",
        "sam@acme.example",
        "--password",
        "x7#Kq!9vLm",
    )
    user = User.objects.get(username="sam")
    assert user.email == "sam@acme.example"
    assert user.check_password("x7#Kq!9vLm")
    assert SupplierMembership.objects.get(user=user).supplier == acme
    assert "x7#Kq!9vLm" not in out


def test_create_supplier_user_reads_a_password_given_as_dash_from_stdin(acme, monkeypatch):
    """`--password -` keeps the password out of the process list and the shell's history: the
    first line of standard input is the password, its line ending dropped."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("x7#Kq!9vLm\nsecond line\n"))
    out, _ = run(
        "create_supplier_user", "acme", "sam", "--email", "sam@acme.example", "--password", "-"
    )
    user = User.objects.get(username="sam")
    assert user.check_password("x7#Kq!9vLm") and not user.check_password("-")
    assert "with the given password" in out and "x7#Kq!9vLm" not in out


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
def test_create_supplier_user_with_dash_and_nothing_on_stdin_creates_nobody(
    acme, monkeypatch, stdin
):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    message = refused(
        "create_supplier_user", "acme", "sam", "--email", "sam@acme.example", "--password", "-"
    )
    assert message.startswith("password: '-' reads it from standard input")
    assert not User.objects.exists() and not SupplierMembership.objects.exists()


def test_create_supplier_user_without_password_has_no_usable_password(acme):
    run("create_supplier_user", "acme", "sam", "--email", "sam@acme.example")
    user = User.objects.get(username="sam")
    assert not user.has_usable_password()
    assert user.supplier_membership.supplier == acme


@pytest.mark.parametrize(
    "args, field",
    [
        (["nosuch", "sam", "--email", "sam@x.example"], "slug"),
        (["acme", "sam", "--email", "not-an-email"], "email"),
        (["acme", "sam", "--email", "sam@x.example", "--password", "123"], "password"),
        (["acme", "bad user!", "--email", "sam@x.example"], "username"),
        (["acme", "sam"], "--email"),
    ],
)
def test_create_supplier_user_bad_input(acme, args, field):
    message = refused("create_supplier_user", *args)
    assert field in message
    assert not User.objects.exists()
    assert not SupplierMembership.objects.exists()


def test_create_supplier_user_taken_username_is_refused(acme, bolt):
    run("create_supplier_user", "acme", "sam", "--email", "sam@acme.example")
    message = refused("create_supplier_user", "bolt", "sam", "--email", "sam@bolt.example")
    assert "username" in message
    assert User.objects.count() == 1
    assert User.objects.get().supplier_membership.supplier == acme


# --- create_api_token --------------------------------------------------------------------


def test_create_api_token_prints_it_once_and_stores_only_a_digest(acme):
    out, err = run("create_api_token", "acme", "--name", "erp")
    plain = out.strip()
    assert plain.startswith("sup_") and len(plain) > 40
    token = ApiToken.objects.get()
    assert token.name == "erp" and token.supplier == acme
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in {token.prefix, token.token_hash, token.name}
    assert plain.startswith(token.prefix)
    assert api_token_authenticate(plain=plain) == token
    assert "shown once" in err


def test_create_api_token_twice_makes_two_distinct_tokens(acme):
    first = run("create_api_token", "acme")[0].strip()
    second = run("create_api_token", "acme")[0].strip()
    assert first != second
    assert ApiToken.objects.count() == 2


def test_create_api_token_unknown_supplier(db):
    message = refused("create_api_token", "nosuch")
    assert "slug" in message and "nosuch" in message
    assert not ApiToken.objects.exists()


# --- import_products ---------------------------------------------------------------------


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_products_creates_then_upserts_by_sku(acme, tmp_path):
    first = write(
        tmp_path,
        "a.csv",
        'sku,name,price,currency\nNEW-1,Teapot,19.99,GBP\nNEW-2,Cup,4.50\nNEW-3,"Plate, large",6\n',
    )
    out, _ = run("import_products", "acme", first)
    assert "3 products created, 0 updated" in out
    assert Product.objects.get(sku="NEW-3").name == "Plate, large"

    second = write(tmp_path, "b.csv", "NEW-1,Teapot (white),21.00,EUR\nNEW-4,Saucer,2.00\n")
    out, _ = run("import_products", "acme", second)
    assert "1 products created, 1 updated" in out
    teapot = Product.objects.get(sku="NEW-1")
    assert (teapot.name, str(teapot.price), teapot.currency) == ("Teapot (white)", "21.00", "EUR")
    assert Product.objects.filter(supplier=acme, sku__startswith="NEW-").count() == 4


@pytest.mark.parametrize(
    "text, field",
    [
        ("GOOD-1,Good,1.00\nBAD-1,Bad,abc\nGOOD-2,Good,2.00\n", "line 2"),
        ("GOOD-1,Good,1.00\nBAD-1,Bad,-1\n", "line 2"),
        ("GOOD-1,Good,1.00\nBAD-1,Bad,1.001\n", "line 2"),
        ("GOOD-1,Good,1.00\nBAD-1,Bad\n", "line 2"),
        ("GOOD-1,Good,1.00\n,Nameless,1.00\n", "line 2"),
        ("GOOD-1,Good,1.00\nBAD-1,,1.00\n", "line 2"),
        ('GOOD-1,Good,1.00\nBAD-1,"Two\nlines",1.00\n', "line 2"),
        ("GOOD-1,Good,1.00\nGOOD-1,Again,1.00\n", "line 2"),
        ("sku,name,price\nGOOD-1,Good,1.00\nBAD-1,Bad,1.00,POUNDS\n", "line 3"),
        ("", "file"),
    ],
)
def test_import_products_bad_row_writes_nothing(acme, tmp_path, text, field):
    before = list(Product.objects.values_list("sku", "name", "price").order_by("sku"))
    message = refused("import_products", "acme", write(tmp_path, "bad.csv", text))
    assert message.startswith(field), message
    assert list(Product.objects.values_list("sku", "name", "price").order_by("sku")) == before


def test_import_products_bad_row_does_not_update_earlier_rows(acme, tmp_path):
    path = write(tmp_path, "bad.csv", "ACME-001,Renamed,99.00\nBAD,Bad,x\n")
    refused("import_products", "acme", path)
    mug = Product.objects.get(sku="ACME-001")
    assert (mug.name, str(mug.price)) == ("Product ACME-001", "9.50")


def test_import_products_refuses_another_suppliers_sku(acme, bolt, tmp_path):
    path = write(tmp_path, "steal.csv", "NEW-9,Fine,1.00\nBOLT-7,Mine now,1.00\n")
    message = refused("import_products", "acme", path)
    assert "sku" in message and "BOLT-7" in message
    assert Product.objects.get(sku="BOLT-7").supplier == bolt
    assert not Product.objects.filter(sku="NEW-9").exists()


def test_import_products_unknown_supplier_or_missing_file(db, tmp_path):
    make_products(supplier=make_supplier(slug="acme"), skus={"A-1": "1.00"})
    assert "slug" in refused("import_products", "nosuch", write(tmp_path, "x.csv", "B-1,B,1\n"))
    assert "file" in refused("import_products", "acme", str(tmp_path / "missing.csv"))
    assert list(Product.objects.values_list("sku", flat=True)) == ["A-1"]
