"""Formats where files go: the SFTP drop (real sshd) and the order email's attachment (real
SMTP). A delivery keeps the bytes it first sent: a redelivery after a format's new version is
byte-identical; an order a format cannot hold fails alone, with the reason."""

from __future__ import annotations

import pytest
from django.urls import reverse

from delivery.channels.base import DeliveryFailed, SendResult
from delivery.channels.sftp import SftpChannel
from delivery.formats import format_for
from delivery.models import Delivery, DeliveryFile, Destination, FileFormatVersion
from delivery.services import delivery_redeliver
from delivery.tests.test_file_formats import admin_form, loaded
from delivery.tests.test_sftp import deliveries_for, files_in, sftp_destination
from testsupport.factories import place_order
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)


def make_format(admin_client, **overrides):
    response = admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]


def edit_format(admin_client, name, **overrides):
    from delivery.models import FileFormat

    pk = FileFormat.objects.get(name=name).pk
    url = reverse("admin:delivery_fileformat_change", args=[pk])
    response = admin_client.post(url, admin_form(name=name, **overrides))
    assert response.status_code == 302, response.content.decode()[:2000]


def test_redelivery_after_a_new_version_is_byte_identical(
    admin_client, acme, retailer, sftp_server
):
    make_format(admin_client)
    destination = sftp_destination(acme, sftp_server, file_format="acme-semicolon")
    [order] = place_order(retailer=retailer)
    [delivery] = deliveries_for(destination, [order])
    name = f"acme-{order.number}-{order.placed_at:%Y%m%d}.csv"
    assert delivery.identity == name

    [result] = SftpChannel().send_batch([delivery]).values()
    assert isinstance(result, SendResult), result
    first = (sftp_server.upload_root / name).read_bytes()
    assert first == format_for("acme-semicolon").render(loaded(order))

    # Ops change the format after the file was sent: a new version, the sent one untouched.
    edit_format(admin_client, "acme-semicolon", delimiter="|", encoding="utf-8")
    v1, v2 = FileFormatVersion.objects.order_by("number")
    assert (v1.number, v1.spec["delimiter"], v2.number, v2.spec["delimiter"]) == (1, ";", 2, "|")
    assert DeliveryFile.objects.get(delivery=delivery).format_version == v1
    page = admin_client.get(reverse("admin:delivery_delivery_change", args=[delivery.pk]))
    assert name in page.content.decode() and "acme-semicolon v1" in page.content.decode()

    (sftp_server.upload_root / name).unlink()
    delivery_redeliver(delivery=delivery)
    delivery = Delivery.objects.select_related("destination", "event").get(pk=delivery.pk)
    [result] = SftpChannel().send_batch([delivery]).values()
    assert isinstance(result, SendResult), result
    assert (sftp_server.upload_root / name).read_bytes() == first
    assert files_in(sftp_server.upload_root) == [name]

    # A new order is written with the new version.
    [later] = place_order(retailer=retailer)
    [new] = deliveries_for(destination, [later])
    SftpChannel().send_batch([new])
    later_bytes = (sftp_server.upload_root / new.identity).read_bytes()
    assert later_bytes.startswith(b'"Qty"|"Artikel"') and not later_bytes.startswith(
        b"\xef\xbb\xbf"
    )
    assert DeliveryFile.objects.get(delivery=new).format_version == v2


def test_an_order_windows_1252_cannot_hold_fails_alone(admin_client, acme, retailer, sftp_server):
    make_format(admin_client, name="cp", encoding="cp1252", columns="Name = customer.name\nnumber")
    destination = sftp_destination(acme, sftp_server, file_format="cp")
    [bad] = place_order(retailer=retailer, customer={"name": "Łukasz", "email": "l@example.com"})
    [good] = place_order(retailer=retailer, customer={"name": "Zoë", "email": "z@example.com"})
    bad_row, good_row = deliveries_for(destination, [bad, good])

    results = SftpChannel().send_batch([bad_row, good_row])

    assert isinstance(results[good_row.pk], SendResult)
    failure = results[bad_row.pk]
    assert isinstance(failure, DeliveryFailed) and not failure.retryable
    assert "Windows-1252 cannot hold 'Ł' (U+0141)" in str(failure) and bad.number in str(failure)
    assert files_in(sftp_server.upload_root) == [good_row.identity]
    assert not DeliveryFile.objects.filter(delivery=bad_row).exists()
    assert "Zoë".encode("cp1252") in (sftp_server.upload_root / good_row.identity).read_bytes()


@pytest.fixture
def mail(cole, email_via_smtp, tasks_inline):
    return email_via_smtp


def _attachment(received):
    [part] = list(received.message.iter_attachments())
    return part.get_filename(), part.get_payload(decode=True), part.get_content_type()


def test_the_order_email_attaches_the_file_and_a_redelivery_the_same_bytes(
    admin_client, cole, retailer, mail, django_capture_on_commit_callbacks
):
    make_format(admin_client, columns="Order No = number\nArtikel = line.sku\nQty = line.quantity")
    # Ops switch "attach the order file" on in admin (Destination).
    Destination.objects.filter(supplier=cole, channel="email").update(
        email_attach_format="acme-semicolon"
    )
    with django_capture_on_commit_callbacks(execute=True):
        [order] = place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 3}])
    [first] = mail.wait_for(1)
    name, data, content_type = _attachment(first)
    assert name == f"cole-{order.number}-{order.placed_at:%Y%m%d}.csv"
    assert content_type == "text/csv"
    assert data == format_for("acme-semicolon").render(loaded(order))
    assert data.startswith(b"\xef\xbb\xbf") and b'"COLE-1";"3"\r\n' in data

    edit_format(admin_client, "acme-semicolon", delimiter="\\t", columns="number")
    delivery = Delivery.objects.get(event__order=order, channel="email")
    with django_capture_on_commit_callbacks(execute=True):
        delivery_redeliver(delivery=delivery)
    _, second = mail.wait_for(2)
    assert _attachment(second) == (name, data, content_type)
    assert second.message_id == first.message_id


def test_no_attachment_by_default(cole, retailer, mail, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        place_order(retailer=retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    [received] = mail.wait_for(1)
    assert list(received.message.iter_attachments()) == []
    assert not DeliveryFile.objects.exists()


def test_the_supplier_switches_the_attachment_on_in_the_portal(admin_client, client, cole):
    from testsupport.factories import make_supplier_user

    make_format(admin_client)
    client.force_login(make_supplier_user(supplier=cole, username="cara"))
    url = reverse("delivery:email-save")

    page = client.get(reverse("delivery:settings")).content.decode()
    assert "Attach the order file" in page and 'value="acme-semicolon"' in page

    response = client.post(url, {"addresses": "po@cole.example", "attach_format": "nope"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    email = Destination.objects.get(supplier=cole, channel="email")
    assert email.email_attach_format == ""

    response = client.post(url, {"addresses": "po@cole.example", "attach_format": "acme-semicolon"})
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.email_attach_format == "acme-semicolon"

    # A post without the field (an older page) leaves it as it is.
    assert client.post(url, {"addresses": "po@cole.example"}).status_code == 302
    email.refresh_from_db()
    assert email.email_attach_format == "acme-semicolon"
