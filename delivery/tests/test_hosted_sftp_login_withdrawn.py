"""A hosted SFTP login withdrawn (its key removed, its password replaced, its supplier made
inactive) ends the sessions already logged in with it, within
HOSTED_SFTP_LOGIN_RECHECK_SECONDS; other logins of the supplier go on.

The server runs in a thread of the test process (testsupport/hosted_sftp.py); the clients are
paramiko, which holds a session open between requests (OpenSSH's `sftp -b` would end first).
"""

from __future__ import annotations

import pytest

from delivery.hosted.credentials import (
    hosted_key_add,
    hosted_key_remove,
    hosted_password_generate,
)
from testsupport.factories import make_supplier
from testsupport.hosted_sftp import (  # noqa: F401
    hosted_sftp_fixture,
    keygen,
    login_throttle_fresh,  # noqa: F401  (autouse)
    paramiko_client,
)
from testsupport.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _ended(client) -> bool:
    return not client.get_transport().is_active()


def test_removing_a_key_ends_its_sessions_and_no_other(hosted_sftp, tmp_path, settings):
    """Before, "Key removed: it cannot log in any more" held for new logins only: a session
    opened with a leaked key went on reading the supplier's order files for as long as it
    stayed connected (found in review)."""
    settings.HOSTED_SFTP_LOGIN_RECHECK_SECONDS = 0.2
    acme = make_supplier(slug="acme")
    leaked = hosted_key_add(supplier=acme, public_key=keygen(tmp_path / "leaked"))
    hosted_key_add(supplier=acme, public_key=keygen(tmp_path / "kept"))
    thief = paramiko_client(hosted_sftp, user="acme", key=tmp_path / "leaked")
    owner = paramiko_client(hosted_sftp, user="acme", key=tmp_path / "kept")
    thief_sftp, owner_sftp = thief.open_sftp(), owner.open_sftp()
    assert "orders" in thief_sftp.listdir("/")

    hosted_key_remove(supplier=acme, fingerprint=leaked.fingerprint)
    wait_until(lambda: _ended(thief), timeout=15, message="the removed key's session goes on")
    with pytest.raises((OSError, EOFError)):
        thief_sftp.listdir("/orders")
    assert "orders" in owner_sftp.listdir("/")  # the other key's session is not touched
    assert not _ended(owner)
    thief.close()
    owner.close()


def test_a_new_password_ends_the_sessions_of_the_old_one(hosted_sftp, settings):
    settings.HOSTED_SFTP_LOGIN_RECHECK_SECONDS = 0.2
    acme = make_supplier(slug="acme")
    old = hosted_password_generate(supplier=acme)
    client = paramiko_client(hosted_sftp, user="acme", password=old)
    assert "orders" in client.open_sftp().listdir("/")

    new = hosted_password_generate(supplier=acme)
    wait_until(lambda: _ended(client), timeout=15, message="the old password's session goes on")
    client.close()
    again = paramiko_client(hosted_sftp, user="acme", password=new)
    assert "orders" in again.open_sftp().listdir("/")
    again.close()


def test_a_supplier_made_inactive_is_disconnected(hosted_sftp, tmp_path, settings):
    settings.HOSTED_SFTP_LOGIN_RECHECK_SECONDS = 0.2
    acme = make_supplier(slug="acme")
    hosted_key_add(supplier=acme, public_key=keygen(tmp_path / "acme_key"))
    client = paramiko_client(hosted_sftp, user="acme", key=tmp_path / "acme_key")
    client.open_sftp().listdir("/")
    acme.is_active = False
    acme.save(update_fields=["is_active"])
    wait_until(lambda: _ended(client), timeout=15, message="an inactive supplier stays connected")
    client.close()
