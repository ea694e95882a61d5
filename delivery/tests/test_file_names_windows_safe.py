"""Order file names a Windows (or any) file system takes: refused on save, made safe on send.

Found in review: a pattern could hold `<>:"|?*` or end in a dot or a space, and fixed text
in it could take the name past 255 bytes (200 characters of 'é' are 400 bytes), which the
supplier's server refused, so the delivery failed at every try; a value could make the stem a
reserved device name (`CON.PO-1.csv`) or end the name with a dot, which Windows drops. Sent to
the real sshd.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from delivery.channels.base import SendResult
from delivery.channels.sftp import SftpChannel
from delivery.models import FileFormat, FileFormatVersion
from delivery.tests.test_file_formats import admin_form
from delivery.tests.test_sftp import deliveries_for, files_in, place, sftp_destination
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def make_format(admin_client, **overrides) -> str:
    response = admin_client.post(reverse("admin:delivery_fileformat_add"), admin_form(**overrides))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return overrides["name"]


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("order<{number}>.{ext}", "may not hold < >: Windows refuses them"),
        ('{number}"{ext}', 'may not hold ": Windows refuses them'),
        ("{number}|{supplier}?.{ext}", "may not hold ? |: Windows refuses them"),
        ("PO*{number}.{ext}", "may not hold *"),
        ("{number}.", "may not end with '.' or a space"),
        ("{number}.{ext}.", "may not end with '.' or a space"),
        ("é" * 100 + "-{number}.{ext}", "is too long: its fixed text, {number} and {ext} can take"),
    ],
)
def test_an_unsafe_pattern_is_refused_on_save_naming_the_field(admin_client, pattern, reason):
    response = admin_client.post(
        reverse("admin:delivery_fileformat_add"),
        admin_form(name="unsafe", file_name_pattern=pattern),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert reason in " ".join(errors.get("file_name_pattern", [])), errors
    assert not FileFormat.objects.exists() and not FileFormatVersion.objects.exists()


def send(destination, orders):
    rows = deliveries_for(destination, orders)
    results = SftpChannel().send_batch(rows)
    assert all(isinstance(r, SendResult) for r in results.values()), results
    return [row.identity for row in rows]


def test_a_value_making_a_reserved_stem_or_a_trailing_dot_is_made_safe(
    admin_client, acme, retailer, sftp_server
):
    name = make_format(
        admin_client, name="byref", file_name_pattern="{retailer_reference}.{number}.{ext}"
    )
    destination = sftp_destination(acme, sftp_server, file_format=name)
    [con] = place(retailer, reference="CON")
    [nul] = place(retailer, reference="nul ")
    names = send(destination, [con, nul])
    assert names == [f"_CON.{con.number}.csv", f"_nul.{nul.number}.csv"]
    assert files_in(sftp_server.upload_root) == sorted(names)

    FileFormat.objects.filter(name="byref").update(
        file_name_pattern="{number}-{retailer_reference}"
    )
    FileFormatVersion.objects.filter(file_format__name="byref").update(
        file_name_pattern="{number}-{retailer_reference}"
    )
    [dotted] = place(retailer, reference="R-9..")
    [later] = send(destination, [dotted])
    assert later == f"{dotted.number}-R-9"
    assert (sftp_server.upload_root / later).read_bytes().count(dotted.number.encode()) >= 1


def test_a_name_kept_to_its_bytes_keeps_the_number_and_the_extension(
    admin_client, acme, retailer, sftp_server
):
    """A version saved before the fixed text was held to the limit: 130 'é' are 260 bytes,
    over the 255 a Linux file system takes, so the upload failed at every try."""
    name = make_format(admin_client, name="accents", file_name_pattern="{number}.{ext}")
    pattern = "é" * 130 + "-{number}.{ext}"
    FileFormatVersion.objects.filter(file_format__name=name).update(file_name_pattern=pattern)
    destination = sftp_destination(acme, sftp_server, file_format=name)
    first, second = place(retailer, n=2)

    names = send(destination, [first, second])

    for order, sent in zip((first, second), names):
        assert len(sent.encode("utf-8")) <= 200
        assert sent.startswith("é" * 20) and sent.endswith(f"{order.number}.csv")
    assert files_in(sftp_server.upload_root) == sorted(names)
