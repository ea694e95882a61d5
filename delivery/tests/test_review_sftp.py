"""Found in review: SFTP both ways (the hosted server, a supplier's own server)."""

from __future__ import annotations

import os
import subprocess
import threading

import paramiko
import pytest

from delivery.hosted.credentials import hosted_key_add, hosted_password_generate
from delivery.hosted.storage import supplier_folder
from delivery.models import HostedSftpKey
from testsupport.factories import make_supplier, make_supplier_user
from testsupport.hosted_sftp import (  # noqa: F401
    hosted_sftp_fixture,
    keygen,
    login_throttle_fresh,  # noqa: F401  (autouse)
    openssh_sftp,
    paramiko_client,
)
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

hosted_server = pytest.mark.django_db(transaction=True)


def paramiko_login(server, *, user: str, password: str):
    return paramiko_client(server, user=user, password=password)


@hosted_server
def test_offering_a_suppliers_public_key_does_not_reset_the_password_guess_count(
    hosted_sftp, settings, tmp_path
):
    """A public key is public (github.com/<user>.keys): offering it without its private key
    (OpenSSH with only the .pub) must not count as a login, or a guesser resets the throttle
    every AXES_FAILURE_LIMIT - 1 tries and guesses the password for ever."""
    acme = make_supplier(slug="acme")
    public = keygen(tmp_path / "acme_key")
    hosted_key_add(supplier=acme, public_key=public)
    password = hosted_password_generate(supplier=acme)
    (supplier_folder("acme") / "orders" / "PO-10001.csv").write_text("order_number\nPO-10001\n")
    # The guesser has the public key only.
    guesser = tmp_path / "guesser"
    guesser.mkdir()
    (guesser / "id.pub").write_text(public + "\n")
    for _ in range(3):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            with pytest.raises(paramiko.AuthenticationException):
                paramiko_login(hosted_sftp, user="acme", password="wrong-Guess-123")
        offered = openssh_sftp(
            hosted_sftp, user="acme", key=guesser / "id.pub", workdir=guesser, batch="ls orders\n"
        )
        assert offered.returncode != 0 and "PO-10001" not in offered.stdout
    # 3 x (limit - 1) wrong passwords from one address: locked, the right one refused too.
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_login(hosted_sftp, user="acme", password=password)


@pytest.mark.django_db
def test_a_public_key_whose_comment_holds_a_nul_is_a_400_naming_it_and_adds_no_key(
    client, acme, settings, tmp_path
):
    """asyncssh reads the comment of 'ssh-ed25519 AAAA... a<NUL>b' as it is; the database
    refuses to store it: the portal answered 500, `sftp_keys --add` a traceback."""
    settings.HOSTED_SFTP_HOST_KEY_FILE = str(tmp_path / "host_key")
    client.raise_request_exception = False
    client.force_login(make_supplier_user(supplier=acme, username="ann"))
    public = keygen(tmp_path / "k")
    response = client.post("/settings/hosted-sftp/keys/", {"public_key": public + "\x00x"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Null characters are not allowed." in page
    assert "\x00" not in page
    assert not HostedSftpKey.objects.exists()


@pytest.mark.django_db
def test_a_file_name_not_in_utf8_on_the_suppliers_server_does_not_stop_its_update_files(
    acme, retailer, sftp_server
):
    """A file named in Latin-1 ("März.csv" from an old Windows client) in the supplier's
    updates directory: paramiko's listing decodes names strictly, and the run's collection
    raised UnicodeDecodeError out of sftp_run at every run, so no update file on that server
    was ever taken again. The listing reads names as bytes: the others are applied."""
    from delivery.services import sftp_run
    from delivery.tests.test_sftp import place, sftp_destination
    from orders.models import Order

    destination = sftp_destination(acme, sftp_server)
    updates = sftp_server.make_dir("updates")
    [order] = place(retailer)
    latin = os.fsencode(str(updates)) + b"/M\xe4rz.csv"
    with open(latin, "wb") as out:
        out.write(b"order_number,action\n")
    (updates / "ship.csv").write_text(
        f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,1ZLAT1\n"
    )
    for path in (latin, updates / "ship.csv"):
        if os.geteuid() == 0:
            os.chown(path, sftp_server._uid, sftp_server._gid)

    sftp_run(destination_id=destination.pk)

    assert (updates / "processed" / "ship.csv").exists()
    assert "applied" in (updates / "results" / "ship.csv.results.csv").read_text()
    assert Order.objects.get(pk=order.pk).shipments.filter(tracking_number="1ZLAT1").exists()


@hosted_server
def test_a_supplier_whose_client_offers_other_keys_first_still_logs_in(hosted_sftp, tmp_path):
    """OpenSSH offers every key of the agent (or every -i) in turn; each one not on file was
    counted as a failed login, so a supplier with AXES_FAILURE_LIMIT other keys ahead of its
    own was refused, and then locked out with its right key alone for the whole window."""
    acme = make_supplier(slug="acme")
    hosted_key_add(supplier=acme, public_key=keygen(tmp_path / "acme_key"))
    (supplier_folder("acme") / "orders" / "PO-10001.csv").write_text("order_number\nPO-10001\n")
    others = [tmp_path / f"other_{i}" for i in range(6)]
    for path in others:
        keygen(path)
    from testsupport.executables import require_executable
    from testsupport.sshd import SFTP_CANDIDATES

    offered = []
    for path in [*others, tmp_path / "acme_key"]:
        offered += ["-i", str(path)]
    result = subprocess.run(
        [
            require_executable(SFTP_CANDIDATES, "openssh-client"),
            *offered,
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "BatchMode=yes",
            "-b",
            "-",
            "-P",
            str(hosted_sftp.port),
            "-o",
            f"UserKnownHostsFile={hosted_sftp.known_hosts(tmp_path)}",
            "-o",
            "StrictHostKeyChecking=yes",
            "acme@127.0.0.1",
        ],
        input="ls orders\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "PO-10001.csv" in result.stdout
    again = openssh_sftp(
        hosted_sftp, user="acme", key=tmp_path / "acme_key", workdir=tmp_path, batch="ls orders\n"
    )
    assert again.returncode == 0, again.stderr


@hosted_server
def test_an_update_file_named_in_latin1_on_the_hosted_server_is_applied_and_answered(
    hosted_sftp, retailer, tmp_path
):
    """The server read the uploaded name with errors="replace" ("M\\ufffdrz.csv"), a file
    that does not exist: the upload was never applied, never moved, never answered."""
    from orders.models import Order
    from testsupport.factories import make_products, place_order
    from testsupport.waiting import wait_until

    acme = make_supplier(slug="acme")
    make_products(supplier=acme, skus={"SKU-1": "5.00"})
    password = hosted_password_generate(supplier=acme)
    [order] = place_order(retailer=retailer, lines=[{"sku": "SKU-1", "quantity": 1}])
    body = f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,1ZLAT2\n"
    client = paramiko_login(hosted_sftp, user="acme", password=password)
    try:
        with client.open_sftp().open(b"updates/M\xe4rz.csv", "w") as out:
            out.write(body)
    finally:
        client.close()
    updates = os.fsencode(str(supplier_folder("acme") / "updates"))
    wait_until(
        lambda: os.path.exists(updates + b"/processed/M\xe4rz.csv"),
        timeout=20,
        message="the upload was not applied",
    )
    with open(updates + b"/results/M\xe4rz.csv.results.csv", "rb") as answer:
        assert b"applied" in answer.read()
    assert Order.objects.get(pk=order.pk).shipments.filter(tracking_number="1ZLAT2").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "updates_path"), [("/in", "/in/"), ("/srv/drop", "/srv/drop/."), ("updates", None)]
)
def test_set_channel_refuses_one_directory_for_order_files_and_update_files(
    acme, tmp_path, path, updates_path
):
    """Order files are CSV files too: with the updates directory the order directory (given
    so, or the default `updates` for `--path updates`), each run took the order files it had
    just uploaded as update files, found no `action` column and moved every one to failed/,
    out of the supplier's sight. Refused when saved, naming the option; nothing stored."""
    from django.core.management import CommandError, call_command

    from delivery.models import Destination

    host_key = keygen(tmp_path / "host").split()[:2]
    args = ["set_channel", "acme", "sftp", "--host", "sftp.acme.example", "--username", "drop"]
    args += ["--password", "pw-Secret-1", "--path", path, "--host-key", " ".join(host_key)]
    if updates_path is not None:
        args += ["--updates-path", updates_path]
    with pytest.raises(CommandError, match="^updates_path"):
        call_command(*args)
    assert not Destination.objects.filter(supplier=acme, channel="sftp").exists()


@hosted_server
def test_an_uploaded_name_with_a_newline_forges_no_log_line(hosted_sftp, caplog):
    """A supplier names the file it uploads; written into the log as it was, a newline in it
    started a line of the supplier's own ("... INFO hosted sftp: cole logged in"). The name
    is logged quoted, on the log line it belongs to."""
    import logging

    from testsupport.waiting import wait_until

    password = hosted_password_generate(supplier=make_supplier(slug="acme2"))
    caplog.set_level(logging.INFO, logger="delivery")
    client = paramiko_login(hosted_sftp, user="acme2", password=password)
    try:
        with client.open_sftp().open("updates/a\nINFO hosted sftp: forged.csv", "w") as out:
            out.write("order_number,action\n")
    finally:
        client.close()
    wait_until(
        lambda: any("uploaded updates/" in r.getMessage() for r in caplog.records),
        timeout=20,
        message="the upload was not logged",
    )
    # Our log lines (asyncio's own "Task was destroyed" report, of an earlier test's server
    # thread collected now, spans two lines and is none of ours).
    for record in caplog.records:
        if record.name.startswith("delivery"):
            assert "\n" not in record.getMessage(), record.getMessage()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_key_added_twice_at_once_is_the_forms_error_not_a_500(tmp_path):
    """ "Add key" clicked twice: both requests found the key absent, and the second one's
    insert hit the unique (supplier, fingerprint) index: an IntegrityError, a 500. The same
    race is made here for certain: another connection has inserted the key and not yet
    committed, so this one's check sees nothing and its insert waits on that row."""
    from django.core.exceptions import ValidationError
    from django.db import connections, transaction

    from delivery.hosted.credentials import public_key_parse

    acme = make_supplier(slug="acme")
    line = keygen(tmp_path / "k")
    key_type, key_base64, comment, fingerprint = public_key_parse(line)
    inserted, release, outcome = threading.Event(), threading.Event(), {}

    def first_click():
        try:
            with transaction.atomic():
                HostedSftpKey.objects.create(
                    supplier=acme,
                    key_type=key_type,
                    key_base64=key_base64,
                    comment=comment,
                    fingerprint=fingerprint,
                )
                inserted.set()
                release.wait(20)
        finally:
            connections.close_all()

    def second_click():
        try:
            hosted_key_add(supplier=acme, public_key=line)
            outcome["result"] = "added"
        except Exception as exc:  # noqa: BLE001 - what the page would get
            outcome["result"] = exc
        finally:
            connections.close_all()

    first = threading.Thread(target=first_click)
    first.start()
    assert inserted.wait(20)
    second = threading.Thread(target=second_click)
    second.start()

    from testsupport.waiting import a_session_waits_on_a_lock, wait_until

    wait_until(a_session_waits_on_a_lock, timeout=20, message="the second insert never waited")
    release.set()
    first.join(20)
    second.join(20)
    result = outcome["result"]
    assert isinstance(result, ValidationError), repr(result)
    assert "already added" in " ".join(result.message_dict["public_key"])
    assert HostedSftpKey.objects.filter(supplier=acme).count() == 1
