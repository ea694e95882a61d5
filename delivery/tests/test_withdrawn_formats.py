"""A withdrawn format: kept by the destinations already on it, offered to nobody else.

Before, there was no way to withdraw a format but to narrow its availability, and a supplier
already on it kept receiving files with nothing telling ops or the supplier; the supplier's
own settings page then refused to save (its format was no longer a choice). Now withdrawal is
explicit (admin, File formats: withdrawn): files keep coming in it for those on it (as a
deprecated format keeps working for its users), nobody can choose it anew, ops see who still
uses it, and the supplier is told. Files go to the real sshd.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from delivery.channels.base import SendResult
from delivery.channels.sftp import SftpChannel
from delivery.formats import format_choices
from delivery.models import Destination, FileFormat
from delivery.tests.test_file_formats import admin_form
from delivery.tests.test_sftp import deliveries_for, files_in, place, sftp_destination
from testsupport.factories import make_supplier_user
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

NAME = "acme-semicolon"


def withdraw(admin_client):
    file_format = FileFormat.objects.get(name=NAME)
    url = reverse("admin:delivery_fileformat_change", args=[file_format.pk])
    response = admin_client.post(url, admin_form(name=NAME, withdrawn="on"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert FileFormat.objects.get(name=NAME).withdrawn


@pytest.fixture
def acme_on_it(admin_client, acme, sftp_server):
    response = admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    assert response.status_code == 302
    destination = sftp_destination(acme, sftp_server, file_format=NAME)
    withdraw(admin_client)
    return destination


def test_those_on_a_withdrawn_format_keep_their_files_in_it(
    acme_on_it, acme, retailer, sftp_server
):
    [order] = place(retailer)
    [row] = deliveries_for(acme_on_it, [order])
    [result] = SftpChannel().send_batch([row]).values()
    assert isinstance(result, SendResult), result
    assert files_in(sftp_server.upload_root) == [row.identity]
    assert (
        (sftp_server.upload_root / row.identity)
        .read_bytes()
        .startswith('\ufeff"Qty";"Artikel"'.encode())
    )
    # Its settings still save with the format it is on.
    sftp_destination(acme, sftp_server, file_format=NAME, interval_minutes=30)
    assert Destination.objects.get(pk=acme_on_it.pk).sftp_format == NAME


def test_nobody_chooses_a_withdrawn_format_anew(acme_on_it, acme, bolt, sftp_server):
    assert NAME not in dict(format_choices(bolt))
    with pytest.raises(ValidationError) as caught:
        sftp_destination(bolt, sftp_server, file_format=NAME)
    assert f"Unknown format '{NAME}'" in caught.value.message_dict["format"][0]
    assert not Destination.objects.filter(supplier=bolt, channel="sftp").exists()

    # The supplier on it moves off it: it cannot come back.
    sftp_destination(acme, sftp_server, file_format="csv")
    assert NAME not in dict(format_choices(acme))
    with pytest.raises(ValidationError):
        sftp_destination(acme, sftp_server, file_format=NAME)
    assert Destination.objects.get(pk=acme_on_it.pk).sftp_format == "csv"


def test_a_format_kept_for_the_file_drop_is_not_taken_up_for_the_email(acme_on_it, acme):
    """Kept per setting: the drop on it keeps it; the order email cannot start attaching it."""
    from delivery.services import destination_set_email

    email = Destination.objects.get(supplier=acme, channel="email")
    assert NAME not in dict(format_choices(acme, field="email_attach_format"))
    assert NAME in dict(format_choices(acme, field="sftp_format"))
    with pytest.raises(ValidationError) as caught:
        destination_set_email(supplier=acme, addresses="po@acme.example", attach_format=NAME)
    assert f"Unknown format '{NAME}'" in caught.value.message_dict["attach"][0]
    assert Destination.objects.get(pk=email.pk).email_attach_format == email.email_attach_format


def test_ops_see_who_still_uses_a_withdrawn_format(acme_on_it, admin_client):
    listing = admin_client.get(reverse("admin:delivery_fileformat_changelist")).content.decode()
    assert "field-destinations_count" in listing
    body = listing[listing.index("<tbody>") :]
    row = body[body.index(f">{NAME}<") :].split("</tr>")[0]
    assert 'class="field-destinations_count">1<' in row
    assert "icon-yes" in row  # withdrawn
    file_format = FileFormat.objects.get(name=NAME)
    page = admin_client.get(reverse("admin:delivery_fileformat_change", args=[file_format.pk]))
    assert "Withdrawn, still used by acme&#x27;s sftp" in page.content.decode()


def test_the_supplier_is_told_and_its_settings_page_still_offers_it(acme_on_it, acme, client):
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    formats = client.get(reverse("delivery:formats")).content.decode()
    assert f'id="withdrawn-{NAME}"' in formats and "is withdrawn" in formats
    settings_page = client.get(reverse("delivery:settings")).content.decode()
    assert "(withdrawn: still sent; choose another)" in settings_page
