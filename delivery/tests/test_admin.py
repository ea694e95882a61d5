"""Ops in the admin follow the same rules as the portal and `set_channel`."""

import pytest
from django.contrib.auth import get_user_model

from delivery.models import Destination
from delivery.services import destination_set_sftp, destination_set_webhook

pytestmark = pytest.mark.django_db

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb8yWvwCkkXBb0p1dLJV6NP5n4q0wC4S6A0dWQ4Ykx2"


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(user)
    return client


def _sftp_drop(supplier, **extra):
    """The supplier's drop on its own server (sftp.acme.example:22, /in), as set_channel sets it."""
    return destination_set_sftp(
        supplier=supplier,
        host="sftp.acme.example",
        port=22,
        username="acme",
        password="s3cret-pass",
        path="/in",
        host_key=HOST_KEY,
        **extra,
    )


def _change_form(staff_client, destination):
    response = staff_client.get(f"/admin/delivery/destination/{destination.pk}/change/")
    assert response.status_code == 200
    return response.context["adminform"].form


def test_sftp_connection_fields_are_read_only_in_admin(staff_client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination = _sftp_drop(acme)
    form = _change_form(staff_client, destination)
    for name in ("sftp_host", "sftp_port", "sftp_username", "sftp_path", "sftp_hosted"):
        assert name not in form.fields, name
    # A POST naming another host is ignored for that field: the credential stays bound to
    # the server it was given for.
    staff_client.post(
        f"/admin/delivery/destination/{destination.pk}/change/",
        {
            "supplier": acme.pk,
            "channel": "sftp",
            "enabled": "on",
            "event_types": "[]",
            "sftp_host": "attacker.example",
            "sftp_interval_minutes": 15,
            "sftp_format": "csv",
        },
    )
    destination.refresh_from_db()
    assert destination.sftp_host == "sftp.acme.example"
    assert destination.sftp_password == "s3cret-pass"


def test_a_webhook_url_to_a_refused_address_is_refused_in_admin(staff_client, acme, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, _secret = destination_set_webhook(supplier=acme, url="https://hooks.example/in")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = staff_client.post(
        f"/admin/delivery/destination/{destination.pk}/change/",
        {
            "supplier": acme.pk,
            "channel": "webhook",
            "enabled": "on",
            "event_types": "[]",
            "webhook_url": "http://169.254.169.254/latest/meta-data",
            "sftp_interval_minutes": 15,
            "sftp_format": "csv",
        },
    )
    assert response.status_code == 200  # the form again, with the reason
    assert "169.254.169.254" in " ".join(response.context["adminform"].form.errors["webhook_url"])
    destination.refresh_from_db()
    assert destination.webhook_url == "https://hooks.example/in"
    assert Destination.objects.filter(webhook_url__contains="169.254").count() == 0


# --- A retailer's destinations (issue 19) -------------------------------------------------


def _retailer_post(staff_client, destination, **fields):
    data = {
        "retailer": destination.retailer_id,
        "channel": destination.channel,
        "enabled": "on",
        "event_types": "[]",
        "sftp_interval_minutes": 15,
        "sftp_format": "csv",
    } | fields
    return staff_client.post(f"/admin/delivery/destination/{destination.pk}/change/", data)


def test_a_retailers_webhook_is_checked_in_admin_like_a_suppliers(
    staff_client, retailer, settings, no_connections
):
    """`no_connections`: the refused address is resolved only, never connected to."""
    from delivery.services import retailer_webhook_set

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination, _ = retailer_webhook_set(retailer=retailer, url="https://hooks.shopco.example/")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = _retailer_post(
        staff_client, destination, webhook_url="http://10.1.2.3/hook", event_types="[]"
    )
    assert response.status_code == 200
    assert "10.1.2.3" in " ".join(response.context["adminform"].form.errors["webhook_url"])
    response = _retailer_post(
        staff_client,
        destination,
        webhook_url="https://hooks.shopco.example/",
        event_types='["order.created"]',
    )
    assert "order.created" in " ".join(response.context["adminform"].form.errors["event_types"])
    destination.refresh_from_db()
    assert destination.webhook_url == "https://hooks.shopco.example/"
    assert destination.event_types == []


def test_shipment_emails_are_turned_off_in_admin(staff_client, retailer):
    from delivery.services import retailer_shipment_email_set

    destination = retailer_shipment_email_set(retailer=retailer, on=True)
    response = _retailer_post(staff_client, destination, enabled="")
    assert response.status_code == 302, response.context["adminform"].form.errors
    destination.refresh_from_db()
    assert destination.enabled is False


def test_a_retailer_gets_no_sftp_row_in_admin(staff_client, retailer):
    """A retailer's rows are its webhook and its email row; an SFTP row added for it here was
    saved on, sent nothing, and made a failing SFTP run every few minutes for good."""
    from delivery.services.recovery import sftp_runs_due

    response = staff_client.post(
        "/admin/delivery/destination/add/",
        {
            "retailer": retailer.pk,
            "channel": "sftp",
            "enabled": "on",
            "event_types": "[]",
            "sftp_interval_minutes": 15,
            "sftp_format": "csv",
            "sftp_updates_path": "updates",
        },
    )
    assert response.status_code == 200  # the form again, with the reason
    errors = " ".join(response.context["adminform"].form.errors["channel"])
    assert "A retailer has no sftp channel" in errors
    assert not Destination.objects.filter(retailer=retailer).exists()
    assert sftp_runs_due() == []


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sftp_updates_path", "/in/", "each run would take its order files as update files"),
        ("sftp_updates_path", " /in ", "each run would take its order files as update files"),
        ("sftp_interval_minutes", "100000", "The interval is 1 to 1440 minutes."),
    ],
)
def test_an_sftp_drop_is_checked_in_admin_as_set_channel_checks_it(
    staff_client, acme, settings, field, value, reason
):
    """The updates directory and the interval are editable in admin; `set_channel` and the
    portal refuse an updates directory that is the order files' own (each run took the order
    files it had just uploaded as update files: the supplier never saw them) and an interval
    past a day. The admin saved both."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    destination = _sftp_drop(acme, updates_path="updates")
    data = {
        "enabled": "on",
        "event_types": "[]",
        "sftp_interval_minutes": 15,
        "sftp_format": "csv",
        "sftp_updates_path": "updates",
        "csv_neutralise": "on",
        field: value,
    }
    response = staff_client.post(f"/admin/delivery/destination/{destination.pk}/change/", data)
    assert response.status_code == 200  # the form again, with the reason
    assert reason in " ".join(response.context["adminform"].form.errors[field])
    destination.refresh_from_db()
    assert (destination.sftp_updates_path, destination.sftp_interval_minutes) == ("updates", 15)

    data[field] = {"sftp_updates_path": "/in/updates", "sftp_interval_minutes": "60"}[field]
    response = staff_client.post(f"/admin/delivery/destination/{destination.pk}/change/", data)
    assert response.status_code == 302
    destination.refresh_from_db()
    assert str(getattr(destination, field)) == data[field]


def test_a_retailers_sftp_row_made_before_can_be_turned_off_in_admin(staff_client, retailer):
    # Old data (the admin took one before): it may be turned off, not on.
    from delivery.services.recovery import sftp_runs_due

    row = Destination.objects.create(retailer=retailer, channel="sftp", enabled=False)
    url = f"/admin/delivery/destination/{row.pk}/change/"
    data = {"event_types": "[]", "sftp_interval_minutes": 15, "sftp_format": "csv"}
    response = staff_client.post(url, {**data, "enabled": "on"})
    assert response.status_code == 200
    assert "A retailer has no sftp channel" in " ".join(
        response.context["adminform"].form.errors["enabled"]
    )
    row.refresh_from_db()
    assert not row.enabled and sftp_runs_due() == []
    Destination.objects.filter(pk=row.pk).update(enabled=True)
    assert staff_client.post(url, data).status_code == 302
    row.refresh_from_db()
    assert not row.enabled
