"""Review of the outgoing formats: specs that saved but could never render, and the admin
paths that left a destination naming a format it cannot use."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from delivery.channels.base import SendResult
from delivery.channels.sftp import SftpChannel
from delivery.formats import format_for
from delivery.models import Destination, FileFormat, FileFormatVersion
from delivery.services import destination_set_email
from delivery.tests.test_file_formats import admin_form, loaded
from delivery.tests.test_sftp import deliveries_for
from testsupport.factories import place_order
from testsupport.hosted_sftp import keygen

pytestmark = pytest.mark.django_db


def _refused(response, field: str, reason: str) -> None:
    assert response.status_code == 200, response.status_code
    errors = response.context["adminform"].form.errors
    assert reason in " ".join(errors.get(field, [])), errors


# --- A date: transformation that could never run ------------------------------------------


@pytest.mark.parametrize(
    "column",
    [
        # Each saved, and every render then raised ValueError (fromisoformat of a text that
        # is no longer the ISO time): a 500 on the portal's preview and on the format's admin
        # page, and every SFTP run of the destination failing "internal error", retried.
        "Placed = placed_at | lower | date:%Y%m%d",
        "Placed = placed_at | pad:25 | date:%Y%m%d",
        "Placed = placed_at | date:%Y | date:%m",
    ],
)
def test_a_date_pattern_after_another_transformation_is_refused_on_save(admin_client, column):
    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"), admin_form(columns=f"number\n{column}")
    )
    _refused(response, "columns", "date: comes first")
    assert not FileFormat.objects.exists() and not FileFormatVersion.objects.exists()


def test_a_date_pattern_first_then_other_transformations_still_saves(admin_client, acme, retailer):

    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(columns="number\nPlaced = placed_at | date:%d %b %Y | upper", quoting="all"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [order] = place_order(retailer=retailer, placed_at="2026-11-27T10:00:00Z")
    assert b'"27 NOV 2026"' in format_for("acme-semicolon").render(loaded(order))


# --- A never-quoted format whose own text holds the delimiter or a quote ------------------


@pytest.mark.parametrize(
    ("columns", "field", "reason"),
    [
        ("Order;No = number\nline.sku", "delimiter", "inside the header 'Order;No'"),
        ('Order "No" = number\nline.sku', "quoting", "column 'Order \"No\"' writes a quote"),
        ('number\nSource = const:ACME "DS"', "quoting", "column 'Source' writes a quote"),
    ],
)
def test_a_never_quoted_format_that_could_write_no_file_is_refused(
    admin_client, acme, retailer, columns, field, reason
):
    """Each saved, and then every order's file failed ('a cell holds the delimiter, a quote
    or a line end, and this format never quotes'): the supplier got no file at all."""
    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(columns=columns, quoting="none", delimiter=";", decimal_separator="."),
    )
    _refused(response, field, reason)
    assert not FileFormat.objects.exists() and not FileFormatVersion.objects.exists()


def test_a_never_quoted_format_without_a_header_row_may_name_columns_freely(
    admin_client, acme, retailer
):

    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(
            columns="Order;No = number\nline.sku",
            quoting="none",
            delimiter=";",
            decimal_separator=".",
            header_row=None,
            encoding="utf-8",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [order] = place_order(retailer=retailer, lines=[{"sku": "ACME-001", "quantity": 1}])
    data = format_for("acme-semicolon").render(loaded(order))
    assert data == f"{order.number};ACME-001\r\n".encode()


# --- Admin: a destination naming a format its supplier cannot use ---------------------------


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "Ops-Pass-2026!")
    client.force_login(user)
    return client


def _email_row_post(staff_client, destination, **fields):
    """The email destination's admin change form, as the page posts it, then edited."""
    data = {
        "supplier": destination.supplier_id,
        "channel": "email",
        "enabled": "on",
        "event_types": "[]",
        "email_addresses": destination.email_addresses,
        "email_attach_format": destination.email_attach_format,
        "csv_neutralise": "on",
        "sftp_interval_minutes": 15,
        "sftp_format": destination.sftp_format,
        "sftp_updates_path": destination.sftp_updates_path,
    } | fields
    return staff_client.post(f"/admin/delivery/destination/{destination.pk}/change/", data)


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("email_attach_format", "acme-semicolonn"),  # a typo
        ("email_attach_format", "bolt-own"),  # another supplier's own format
        ("sftp_format", "bolt-own"),
    ],
)
def test_admin_refuses_a_format_the_destinations_supplier_cannot_use(
    staff_client, admin_client, cole, bolt, field, name
):
    """docs/formats.md: ops set "attach the order file" in admin (Destination). Any text was
    saved: each new order's email then failed for good ('The order file could not be
    written: unknown file format ...'), and a supplier's destination could name another
    supplier's own format, which the portal and `set_channel` refuse."""
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="bolt-own", availability="own", owner=str(bolt.pk)),
    )
    email = Destination.objects.get(supplier=cole, channel="email")

    response = _email_row_post(staff_client, email, **{field: name})

    _refused(response, field, f"'{name}'")
    email.refresh_from_db()
    assert (email.email_attach_format, email.sftp_format) == ("", "csv")


def test_admin_saves_a_format_the_supplier_may_use(staff_client, admin_client, cole):
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    email = destination_set_email(supplier=cole, addresses="po@cole.example")
    response = _email_row_post(staff_client, email, email_attach_format="acme-semicolon")
    assert response.status_code == 302, response.context["adminform"].form.errors
    email.refresh_from_db()
    assert email.email_attach_format == "acme-semicolon"


# --- Admin: a format a destination names is neither renamed nor deleted ------------------


@pytest.fixture
def format_in_use(admin_client, cole):
    """Cole's order emails attach its file in 'acme-semicolon' (set as the portal does)."""
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    destination_set_email(
        supplier=cole, addresses="po@cole.example", attach_format="acme-semicolon"
    )
    return FileFormat.objects.get(name="acme-semicolon")


def test_a_format_a_destination_names_is_not_renamed(admin_client, cole, format_in_use):
    """Destinations name their format (Destination.email_attach_format, sftp_format): a
    rename saved, and every new order's file of those suppliers then failed for good
    ('unknown file format'); a new format later given the old name was then used unseen."""
    url = reverse("admin:delivery_fileformat_change", args=[format_in_use.pk])

    response = admin_client.post(url, admin_form(name="acme-semi"))

    _refused(response, "name", "cole")
    assert list(FileFormat.objects.values_list("name", flat=True)) == ["acme-semicolon"]
    # The rest of the format may still change.
    assert admin_client.post(url, admin_form(label="Acme; semicolon")).status_code == 302
    assert FileFormat.objects.get().label == "Acme; semicolon"


def test_a_format_a_destination_names_is_not_deleted(admin_client, cole, format_in_use):
    """No file was sent with it yet, so nothing protected it: deleted, and every new order's
    email to Cole then failed for good."""
    url = reverse("admin:delivery_fileformat_delete", args=[format_in_use.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert "cole" in page.content.decode()
    assert response.status_code == 200
    assert FileFormat.objects.filter(name="acme-semicolon").exists()
    assert FileFormatVersion.objects.filter(file_format=format_in_use).exists()
    # The list's bulk delete asks the same question.
    response = admin_client.post(
        reverse("admin:delivery_fileformat_changelist"),
        {"action": "delete_selected", "_selected_action": [format_in_use.pk], "post": "yes"},
    )
    assert FileFormat.objects.filter(name="acme-semicolon").exists()


def test_an_unused_format_is_still_renamed_and_deleted(admin_client, db):
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    file_format = FileFormat.objects.get()
    change = reverse("admin:delivery_fileformat_change", args=[file_format.pk])
    assert admin_client.post(change, admin_form(name="acme-semi")).status_code == 302
    delete = reverse("admin:delivery_fileformat_delete", args=[file_format.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not FileFormat.objects.exists()


# --- pad:N is N wide, neutralised or not ---------------------------------------------------


@pytest.mark.parametrize("name", ["-", "@Home Ltd", "=1+Ann"])
def test_a_padded_cell_keeps_its_width_when_neutralised(admin_client, acme, retailer, name):
    """docs/formats.md: `pad:N` is fixed width N. The neutraliser's quote came after the
    padding, so a value starting '-' or '@' (a '-' for no second address line) was N + 1
    wide and every later column of that row moved one place for a fixed-width reader."""

    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(
            columns="Name = customer.name | pad:10\nCode = const:A\nNo = number | zpad:12",
            delimiter="|",
            quoting="none",
            header_row=None,
            encoding="utf-8",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [order] = place_order(retailer=retailer, customer={"name": name, "email": "a@example.com"})

    data = format_for("acme-semicolon").render(loaded(order)).decode()

    [row] = data.splitlines()
    cell, code, number = row.split("|")
    assert (len(cell), code, number) == (10, "A", order.number.rjust(12, "0")), row
    assert cell.startswith("'")  # still inert for a spreadsheet
    assert cell.rstrip() == ("'" + name)[:10]


# --- set_channel: adding a hosted key (or a new password) keeps the format --------------


def test_set_channel_adding_a_hosted_key_keeps_the_suppliers_format_and_interval(
    admin_client, acme, retailer, settings, tmp_path
):
    """contract.md: `set_channel SLUG sftp --hosted [--public-key FILE.pub]` adds a key. Run
    without --format and --every, it also set the drop back to the standard CSV every 15
    minutes: the supplier's importer, made for its own format, then got files it cannot
    read (and was told nothing)."""
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    call_command(
        "set_channel", "acme", "sftp", "--hosted", "--format", "acme-semicolon", "--every", "5"
    )
    keygen(tmp_path / "second_key")
    out = io.StringIO()

    call_command(
        "set_channel",
        "acme",
        "sftp",
        "--hosted",
        "--public-key",
        str(tmp_path / "second_key.pub"),
        stdout=out,
    )

    destination = Destination.objects.get(supplier=acme, channel="sftp")
    assert (destination.sftp_format, destination.sftp_interval_minutes) == ("acme-semicolon", 5)
    assert "acme-semicolon files" in out.getvalue()
    [order] = place_order(retailer=retailer, placed_at="2026-11-27T10:00:00Z")
    [delivery] = deliveries_for(destination, [order])
    [result] = SftpChannel().send_batch([delivery]).values()
    assert isinstance(result, SendResult), result
    written = tmp_path / "hosted" / "acme" / "orders" / f"acme-{order.number}-20261127.csv"
    assert written.read_bytes().startswith(b'\xef\xbb\xbf"Qty";"Artikel"')


def test_set_channel_without_format_on_a_new_drop_is_the_standard_csv(acme, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    call_command("set_channel", "acme", "sftp", "--hosted")
    destination = Destination.objects.get(supplier=acme, channel="sftp")
    assert (destination.sftp_format, destination.sftp_interval_minutes) == ("csv", 15)


# --- A format edited in place while a file of it is being made ---------------------------


def test_a_format_edited_while_its_first_file_is_made_keeps_that_file_true_to_its_version(
    admin_client, acme, retailer, settings, tmp_path, monkeypatch
):
    """docs/formats.md: a version that sent a file is never changed. The version is edited in
    place while no file of it was kept; a worker that had read it and was rendering then kept
    its file as that version, and the next file of the same version came out otherwise: the
    delivery's page named a version whose spec never wrote those bytes."""
    from delivery.formats.custom import CustomFormat
    from delivery.formats.files import delivery_files
    from delivery.formats.lookup import custom_format
    from delivery.formats.services import file_format_save
    from delivery.models import DeliveryFile

    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    destination = call_command_sftp(acme, "acme-semicolon")
    [order] = place_order(retailer=retailer)
    [delivery] = deliveries_for(destination, [order])

    real_render = CustomFormat.render
    edits = []

    def render_while_ops_save(self, order):
        data = real_render(self, order)
        if not edits:  # ops save the format (a new delimiter) while this file is being made
            file_format = FileFormat.objects.get(name="acme-semicolon")
            file_format.delimiter = "|"
            edits.append(file_format_save(file_format=file_format))
        return data

    monkeypatch.setattr(CustomFormat, "render", render_while_ops_save)
    made = delivery_files(
        [(delivery, loaded(order))], format_name="acme-semicolon", destination=destination
    )[delivery.pk]
    monkeypatch.undo()

    kept = DeliveryFile.objects.get(delivery=delivery)
    assert bytes(made.content) == bytes(kept.content)
    assert bytes(kept.content) == custom_format(kept.format_version).render(loaded(order))
    assert b'"Qty"|"Artikel"' in bytes(kept.content)  # what the format says now


def call_command_sftp(supplier, file_format):
    call_command("set_channel", supplier.slug, "sftp", "--hosted", "--format", file_format)
    return Destination.objects.get(supplier=supplier, channel="sftp")


# --- The SFTP identity is the name the file went out under -----------------------------


def test_the_file_name_shown_is_the_name_the_file_was_written_under(
    admin_client, client, acme, retailer, settings, tmp_path
):
    """The identity (shown to the supplier as the file's name: the hosted 'files sent' list,
    the order page's 'id') was the format's name at dispatch; the file is named at its first
    try. Ops changing the file name pattern between the two (no file sent yet: edited in
    place) left every order then waiting listed under a name no file has."""
    from testsupport.factories import make_supplier_user

    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form())
    destination = call_command_sftp(acme, "acme-semicolon")
    [order] = place_order(retailer=retailer)
    [delivery] = deliveries_for(destination, [order])
    pk = FileFormat.objects.get().pk
    response = admin_client.post(
        reverse("admin:delivery_fileformat_change", args=[pk]),
        admin_form(file_name_pattern="PO_{number}.{ext}"),
    )
    assert response.status_code == 302

    [result] = SftpChannel().send_batch([delivery]).values()

    assert isinstance(result, SendResult), result
    orders_dir = tmp_path / "hosted" / "acme" / "orders"
    assert sorted(p.name for p in orders_dir.iterdir()) == [f"PO_{order.number}.csv"]
    delivery.refresh_from_db()
    assert delivery.identity == f"PO_{order.number}.csv"
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert f"id PO_{order.number}.csv" in page


# --- Every date-time field of the catalogue is one ----------------------------------------


def test_the_acknowledged_time_is_a_date_time_field_a_format_can_date(admin_client, acme, retailer):
    """The catalogue is read off a sample order said to have no null part; its
    `acknowledged_at` was null, so the field was catalogued as text and `date:` on it was
    refused ('applies to a date-time field only'), unlike every other time of the order."""
    from orders.services import order_acknowledge
    from orders.services.sources import source_file

    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(columns="number\nAcked = acknowledged_at | date:%Y%m%d", quoting="all"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    [order] = place_order(retailer=retailer)
    source = source_file(name="wms.csv", row=1)
    order_acknowledge(order=order, actor=source.actor, channel=source)
    data = format_for("acme-semicolon").render(loaded(order)).decode("utf-8-sig")
    acked = loaded(order).acknowledged_at
    assert f'"{order.number}";"{acked:%Y%m%d}"' in data


# --- The order email's attachment carries its file's own content type ---------------------


def test_the_attached_file_says_its_charset(
    admin_client, cole, retailer, email_via_smtp, tasks_inline, django_capture_on_commit_callbacks
):
    """docs/formats.md: the attachment has the file's own content type. A Windows-1252 file's
    `text/csv; charset=cp1252` lost its charset on the way (text/* then reads as US-ASCII),
    so a mail client showing it turned 'Zoë' into mojibake."""
    admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="cp", encoding="cp1252", columns="Name = customer.name\nnumber"),
    )
    destination_set_email(supplier=cole, addresses="po@cole.example", attach_format="cp")
    with django_capture_on_commit_callbacks(execute=True):
        place_order(
            retailer=retailer,
            customer={"name": "Zoë Brontë", "email": "z@example.com"},
            lines=[{"sku": "COLE-1", "quantity": 1}],
        )
    [received] = email_via_smtp.wait_for(1)
    [part] = list(received.message.iter_attachments())
    assert (part.get_content_type(), part.get_content_charset()) == ("text/csv", "cp1252")
    assert "Zoë Brontë" in part.get_content()
