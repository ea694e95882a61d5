"""A NUL in a portal parameter read without a form is a 400 naming the field, never a 500 (the
database refuses a query holding one), and nothing is stored or removed."""

from __future__ import annotations

import pytest

from delivery.hosted.credentials import hosted_key_add
from delivery.models import HostedSftpKey
from suppliers.models import ApiToken
from testsupport.factories import make_supplier_user
from testsupport.hosted_sftp import keygen

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_client(client, acme, settings, tmp_path):
    settings.HOSTED_SFTP_HOST_KEY_FILE = str(tmp_path / "host_key")
    client.raise_request_exception = True
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    return client


def test_an_api_token_name_with_a_nul_is_a_400_and_makes_no_token(acme_client):
    response = acme_client.post("/settings/api-tokens/", {"name": "tok\x00"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Name: Null characters are not allowed." in page
    assert "\x00" not in page
    assert not ApiToken.objects.exists()


def test_a_fingerprint_with_a_nul_is_a_400_and_removes_no_key(acme_client, acme, tmp_path):
    key = hosted_key_add(supplier=acme, public_key=keygen(tmp_path / "k"))
    response = acme_client.post(
        "/settings/hosted-sftp/keys/remove/", {"fingerprint": "SHA256:\x00"}
    )
    assert response.status_code == 400
    assert "Fingerprint: Null characters are not allowed." in response.content.decode()
    assert list(HostedSftpKey.objects.values_list("pk", flat=True)) == [key.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [("format=%00", "format"), ("order=PO-%00", "order"), ("format=csv&order=%00", "order")],
)
def test_a_format_preview_parameter_with_a_nul_is_a_400_naming_it(acme_client, query, field):
    response = acme_client.get(f"/settings/formats/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert f"{field}: Null characters are not allowed." in page
    assert "\x00" not in page
    assert ApiToken.objects.count() == 0 and not HostedSftpKey.objects.exists()


def test_ordinary_values_still_answer(acme_client):
    assert acme_client.get("/settings/formats/?format=csv").status_code == 200
    assert acme_client.get("/settings/formats/?format=csv&order=PO-404").status_code == 404
    response = acme_client.post("/settings/api-tokens/", {"name": "ERP"})
    assert response.status_code == 200
    assert ApiToken.objects.get().name == "ERP"
