"""One reading of SSH keys (delivery/channels/sftp/keys.py) for the form, the services and the
connection: a key refused when saved is refused when connecting, with the same message, and
a key accepted when saved is the key the connection uses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from delivery.channels.sftp import SftpError, sftp_session, sftp_target_for, sftp_test_connection
from delivery.channels.sftp import session as sftp_session_module
from delivery.forms import SftpChannelForm
from delivery.services import destination_set_sftp
from delivery.tests.test_sftp import PINNED_ELSEWHERE, files_in, sftp_destination
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

ED25519_BLOB = PINNED_ELSEWHERE.split()[1]

BAD_HOST_KEYS = [
    "ssh-ed25519",
    "ssh-ed25519 !!!notbase64",
    "ssh-dss AAAAB3NzaC1kc3M=",
    f"ssh-rsa {ED25519_BLOB}",  # the data of another type
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq",  # cut short
]

BAD_PRIVATE_KEYS = [
    "not a key",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----",
]


def _form_error(**fields) -> str:
    form = SftpChannelForm({"file_format": "csv", **fields})
    assert not form.is_valid()
    [message] = form.errors[next(iter(fields))]
    return message


def _service_error(supplier, **overrides) -> tuple[str, str]:
    values = {
        "host": "sftp.example",
        "username": "u",
        "password": "pw",
        "path": "/in",
        "host_key": PINNED_ELSEWHERE,
    }
    values.update(overrides)
    with pytest.raises(ValidationError) as raised:
        destination_set_sftp(supplier=supplier, **values)
    [(field, [message])] = raised.value.message_dict.items()
    return field, message


@pytest.mark.parametrize("host_key", BAD_HOST_KEYS)
def test_a_bad_host_key_gets_one_answer_from_form_service_and_connection(
    acme, host_key, monkeypatch
):
    form_message = _form_error(host_key=host_key)
    field, service_message = _service_error(acme, host_key=host_key)

    def no_connection(*args, **kwargs):
        pytest.fail("the pinned key is read before connecting")

    monkeypatch.setattr(sftp_session_module, "tcp_connect", no_connection)
    destination = sftp_destination_unsaved(acme, host_key=host_key)
    with pytest.raises(SftpError) as raised:
        with sftp_session(sftp_target_for(destination)):
            pass
    assert field == "host_key" and raised.value.field == "host_key"
    assert form_message == service_message == raised.value.message


@pytest.mark.parametrize("private_key", BAD_PRIVATE_KEYS)
def test_a_bad_private_key_gets_one_answer_from_form_service_and_connection(
    acme, sftp_server, private_key
):
    form_message = _form_error(private_key=private_key)
    field, service_message = _service_error(acme, password=None, private_key=private_key)
    destination = sftp_destination(acme, sftp_server)
    destination.sftp_private_key = private_key  # as if stored by older code
    ok, connection_message = sftp_test_connection(destination=destination)
    assert field == "private_key" and not ok
    assert form_message == service_message == connection_message
    assert "Not a private key paramiko can read" in form_message
    assert files_in(sftp_server.upload_root) == []


def test_a_known_hosts_line_is_pinned_as_type_and_key(acme, sftp_server):
    line = f"[{sftp_server.host}]:{sftp_server.port} {sftp_server.host_key_line} root@box"
    form = SftpChannelForm({"file_format": "csv", "host_key": line})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["host_key"] == sftp_server.host_key_line
    destination = sftp_destination(acme, sftp_server, host_key=line)
    assert destination.sftp_host_key == sftp_server.host_key_line
    ok, message = sftp_test_connection(destination=destination)
    assert ok, message


def sftp_destination_unsaved(supplier, **fields):
    from delivery.models import Destination

    values = {
        "sftp_host": "127.0.0.1",
        "sftp_port": 22,
        "sftp_username": "u",
        "sftp_password": "pw",
        "sftp_path": "/in",
        "sftp_host_key": PINNED_ELSEWHERE,
    }
    values.update({f"sftp_{k}": v for k, v in fields.items()})
    return Destination(supplier=supplier, channel="sftp", **values)
