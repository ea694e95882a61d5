"""Order file names never start with a dot, and one name refused fails only its delivery.

Found in review: a pattern `{retailer_reference}-{number}.{ext}` passes validation, and intake
takes a reference `.R-dot`; the name `.R-dot-PO-1.csv` was refused by the hosted storage with a
ValueError the channel did not catch, so the whole run failed (the file before it written but
recorded failed, the ones after never written) at every retry; on a supplier's own server the
file landed hidden. Now a format drops leading dots, and a kept name the storage refuses (one
kept before that) fails its own delivery, with the reason, and nothing else.
"""

from __future__ import annotations

import base64

import paramiko
import pytest
from django.urls import reverse

from delivery.channels.base import DeliveryFailed, SendResult
from delivery.channels.sftp import SftpChannel
from delivery.formats.files import delivery_files
from delivery.hosted.credentials import hosted_key_add
from delivery.hosted.storage import NotAFileName, file_write_atomic, supplier_folder
from delivery.models import Delivery, DeliveryFile, DeliveryStatus
from delivery.services import destination_set_sftp, sftp_run
from delivery.tests.test_file_formats import admin_form
from delivery.tests.test_sftp import deliveries_for, files_in, place, sftp_destination
from testsupport.hosted_sftp import (  # noqa: F401  (the fixture)
    hosted_sftp_fixture,
    keygen,
    login_throttle_fresh,  # noqa: F401  (autouse)
)
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

PATTERN = "{retailer_reference}-{number}.{ext}"


def make_format(admin_client, **overrides) -> str:
    response = admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return overrides.get("name", "acme-semicolon")


def three_orders(retailer):
    """Three orders, the middle one with a reference intake takes and that starts with a dot."""
    return place(retailer) + place(retailer, reference=".R-dot") + place(retailer)


def hosted_listing(server, *, key) -> dict[str, bytes]:
    """What the supplier sees in orders/ over the hosted server: {name: bytes}."""
    client = paramiko.SSHClient()
    key_type, key_base64 = server.host_key_line
    client.get_host_keys().add(
        f"[127.0.0.1]:{server.port}",
        key_type,
        paramiko.PKey.from_type_string(key_type, base64.b64decode(key_base64)),
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=server.port,
        username="acme",
        key_filename=str(key),
        allow_agent=False,
        look_for_keys=False,
        timeout=15,
        auth_timeout=15,
    )
    try:
        sftp = client.open_sftp()
        seen = {}
        for name in sftp.listdir("orders"):
            with sftp.open(f"orders/{name}", "rb") as remote:
                seen[name] = remote.read()
        return seen
    finally:
        client.close()


@pytest.mark.django_db(transaction=True)
def test_a_dotted_reference_lands_visible_and_the_drop_delivers_all_three(
    hosted_sftp, admin_client, acme, retailer, tmp_path
):
    hosted_key_add(supplier=acme, public_key=keygen(tmp_path / "acme_key"))
    destination = destination_set_sftp(
        supplier=acme,
        hosted=True,
        file_format=make_format(admin_client, name="byref", file_name_pattern=PATTERN),
    )
    first, dotted, last = three_orders(retailer)
    rows = deliveries_for(destination, [first, dotted, last])

    outcomes = sftp_run(destination_id=destination.pk)

    assert outcomes == {row.pk: "delivered" for row in rows}
    expected = [
        f"{first.retailer_reference}-{first.number}.csv",
        f"R-dot-{dotted.number}.csv",
        f"{last.retailer_reference}-{last.number}.csv",
    ]
    assert [
        r.identity for r in Delivery.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk")
    ] == expected
    seen = hosted_listing(hosted_sftp, key=tmp_path / "acme_key")
    assert sorted(seen) == sorted(expected)  # no dot file, no temporary file left behind
    for order, name in zip((first, dotted, last), expected):
        assert order.number.encode() in seen[name]
    assert (
        not Delivery.objects.filter(pk__in=[r.pk for r in rows])
        .exclude(status=DeliveryStatus.DELIVERED)
        .exists()
    )


@pytest.mark.django_db
def test_leading_dots_from_a_value_or_a_date_format_are_dropped(admin_client, acme, retailer):
    from delivery.formats import format_for
    from delivery.tests.test_file_formats import loaded

    make_format(admin_client, name="byref", file_name_pattern=PATTERN)
    make_format(admin_client, name="bydate", file_name_pattern="{placed_at:..%Y}-{number}.{ext}")
    [order] = place(retailer, reference="...R-dots")
    order = loaded(order)
    assert format_for("byref").file_name(order) == f"R-dots-{order.number}.csv"
    assert format_for("bydate").file_name(order) == f"{order.placed_at:%Y}-{order.number}.csv"


@pytest.mark.django_db
def test_a_refused_name_fails_only_its_own_delivery(acme, retailer, settings, tmp_path):
    """_write_hosted answers file by file: the storage's refusal fails that delivery alone."""
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    destination = destination_set_sftp(supplier=acme, hosted=True)
    orders = place(retailer, 3)
    rows = deliveries_for(destination, orders)
    work = list(zip(rows, orders))
    names = [f"{orders[0].number}.csv", f".{orders[1].number}.csv", f"{orders[2].number}.csv"]
    files = {row.pk: (name, b"order file\n") for row, name in zip(rows, names)}

    results = SftpChannel()._write_hosted(destination, work, files)

    first, refused, last = (results[row.pk] for row in rows)
    assert isinstance(first, SendResult) and isinstance(last, SendResult)
    assert isinstance(refused, DeliveryFailed) and not refused.retryable
    assert str(refused) == (
        f"Not written: the file name '.{orders[1].number}.csv' starts with a dot, "
        "which would hide the file."
    )
    assert files_in(supplier_folder("acme") / "orders") == [names[0], names[2]]


def test_the_storage_writes_nothing_under_a_refused_name(tmp_path):
    for name in (".hidden.csv", "a/b.csv", "", "nul\0.csv"):
        with pytest.raises(NotAFileName):
            file_write_atomic(tmp_path, name, b"x")
    assert files_in(tmp_path) == []


def _keep_with_a_dotted_name(destination, rows, orders, *, index: int) -> str:
    """The files kept as a first try keeps them, one renamed as one kept before formats
    dropped leading dots (no service makes such a name now, so the row is edited)."""
    kept = delivery_files(
        list(zip(rows, orders)), format_name=destination.sftp_format, destination=destination
    )
    dotted = f".{kept[rows[index].pk].file_name}"
    DeliveryFile.objects.filter(delivery=rows[index]).update(file_name=dotted)
    return dotted


@pytest.mark.django_db
def test_a_kept_dotted_name_fails_alone_in_a_hosted_run(acme, retailer, settings, tmp_path):
    settings.HOSTED_SFTP_ROOT = str(tmp_path / "hosted")
    destination = destination_set_sftp(supplier=acme, hosted=True)
    orders = place(retailer, 3)
    rows = deliveries_for(destination, orders)
    dotted = _keep_with_a_dotted_name(destination, rows, orders, index=1)

    outcomes = sftp_run(destination_id=destination.pk)

    assert outcomes == {rows[0].pk: "delivered", rows[1].pk: "failed", rows[2].pk: "delivered"}
    failed = Delivery.objects.get(pk=rows[1].pk)
    assert failed.last_error == (
        f"Not sent: the file name {dotted!r} starts with a dot, which would hide the file."
    )
    assert files_in(supplier_folder("acme") / "orders") == [
        f"{orders[0].number}.csv",
        f"{orders[2].number}.csv",
    ]


@pytest.mark.django_db
def test_a_kept_dotted_name_is_not_uploaded_hidden_to_the_suppliers_server(
    acme, retailer, sftp_server
):
    destination = sftp_destination(acme, sftp_server)
    orders = place(retailer, 3)
    rows = deliveries_for(destination, orders)
    dotted = _keep_with_a_dotted_name(destination, rows, orders, index=1)

    results = SftpChannel().send_batch(
        list(Delivery.objects.filter(pk__in=[r.pk for r in rows]).select_related("destination"))
    )

    assert isinstance(results[rows[0].pk], SendResult)
    assert isinstance(results[rows[2].pk], SendResult)
    refused = results[rows[1].pk]
    assert isinstance(refused, DeliveryFailed) and not refused.retryable and dotted in str(refused)
    assert files_in(sftp_server.upload_root) == [
        f"{orders[0].number}.csv",
        f"{orders[2].number}.csv",
    ]


@pytest.mark.django_db
def test_a_long_name_is_shortened_in_its_values_never_losing_the_number(
    admin_client, acme, retailer
):
    """A name past 200 characters used to be cut at its end, taking `{number}` with it: two
    orders of one long reference then had one file name, a delivery's identity, and the
    second order never reached the drop."""
    from delivery.formats import format_for
    from delivery.tests.test_file_formats import loaded

    pattern = "x" * 110 + "-{retailer_reference}-{number}.{ext}"  # 146 of its 150
    make_format(admin_client, name="long", file_name_pattern=pattern)
    reference = "R" * 100
    first, second = (loaded(place(retailer, reference=f"{reference[:-1]}{i}")[0]) for i in "12")

    names = [format_for("long").file_name(order) for order in (first, second)]

    assert all(len(name) <= 200 for name in names)
    assert names[0] != names[1]
    for order, name in zip((first, second), names):
        assert name.startswith("x" * 110 + "-RRRR")
        assert name.endswith(f"-{order.number}.csv")
