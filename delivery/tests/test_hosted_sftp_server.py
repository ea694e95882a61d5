"""The hosted SFTP server (serve_sftp) with real clients: OpenSSH's sftp and paramiko.

The server runs in a thread of the test process (testsupport/hosted_sftp.py) over a
temporary storage; the clients are real: /usr/bin/sftp as a subprocess, paramiko in-process.
"""

from __future__ import annotations

import io
import logging
import socket

import paramiko
import pytest
from django.core.management import call_command

from delivery.hosted.credentials import hosted_key_add, hosted_password_generate
from delivery.hosted.storage import supplier_folder
from testsupport.factories import make_supplier
from testsupport.hosted_sftp import (  # noqa: F401
    hosted_sftp_fixture,
    keygen,
    login_throttle_fresh,  # noqa: F401  (autouse)
    openssh_sftp,
    paramiko_client,
)
from testsupport.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

UPDATE = "order_number,action,sku,quantity\nPO-1,ship,SKU-1,1\n"


@pytest.fixture
def acme(tmp_path):
    supplier = make_supplier(slug="acme")
    public = keygen(tmp_path / "acme_key")
    hosted_key_add(supplier=supplier, public_key=public)
    folder = supplier_folder("acme")
    (folder / "orders" / "PO-10001.csv").write_text("order_number\nPO-10001\n")
    return supplier


def test_openssh_client_logs_in_with_its_key_lists_downloads_and_uploads(
    hosted_sftp, acme, tmp_path
):
    (tmp_path / "ship.csv").write_text(UPDATE)
    result = openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch="ls orders\nget orders/PO-10001.csv got.csv\nput ship.csv updates/ship.csv\n",
    )
    assert result.returncode == 0, result.stderr
    assert "PO-10001.csv" in result.stdout
    assert (tmp_path / "got.csv").read_text() == "order_number\nPO-10001\n"
    assert (supplier_folder("acme") / "updates" / "ship.csv").read_text() == UPDATE
    wait_until(lambda: ("acme", "ship.csv") in hosted_sftp.closed_uploads, timeout=10)


def test_an_update_file_uploaded_with_openssh_is_applied_moved_and_answered(
    hosted_sftp, acme, tmp_path
):
    from orders.models import Order
    from testsupport.factories import make_products, make_retailer, place_order

    make_products(supplier=acme, skus={"SKU-1": "5.00"})
    retailer, _ = make_retailer()
    [order] = place_order(retailer=retailer, lines=[{"sku": "SKU-1", "quantity": 1}])
    body = f"order_number,action,line,carrier,tracking_number\n{order.number},ship,1,UPS,1ZTEST1\n"
    (tmp_path / "ship.csv").write_text(body)
    updates = supplier_folder("acme") / "updates"
    result = openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch="put ship.csv updates/ship.csv\n",
    )
    assert result.returncode == 0, result.stderr
    wait_until(lambda: (updates / "results" / "ship.csv.results.csv").exists(), timeout=20)
    wait_until(lambda: (updates / "processed" / "ship.csv").exists(), timeout=10)
    assert not (updates / "ship.csv").exists()
    got = openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch="get updates/results/ship.csv.results.csv answer.csv\n",
    )
    assert got.returncode == 0, got.stderr
    answer = (tmp_path / "answer.csv").read_text()
    assert "applied" in answer, answer
    assert Order.objects.get(pk=order.pk).shipments.filter(tracking_number="1ZTEST1").exists()

    # The same file again is answered, not applied twice.
    (tmp_path / "ship2.csv").write_text(body)
    openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch="put ship2.csv updates/ship2.csv\n",
    )
    wait_until(lambda: (updates / "results" / "ship2.csv.results.csv").exists(), timeout=20)
    assert "already applied" in (updates / "results" / "ship2.csv.results.csv").read_text()
    assert Order.objects.get(pk=order.pk).shipments.count() == 1


def test_an_unreadable_update_goes_to_failed_with_a_reason(hosted_sftp, acme, tmp_path):
    password = hosted_password_generate(supplier=acme)
    client = paramiko_client(hosted_sftp, user="acme", password=password)
    try:
        with client.open_sftp().open("updates/bad.csv", "w") as out:
            out.write(b"\xff\xfe not utf-8 \x00")
    finally:
        client.close()
    updates = supplier_folder("acme") / "updates"
    wait_until(lambda: (updates / "failed" / "bad.csv").exists(), timeout=20)
    assert "error" in (updates / "results" / "bad.csv.results.csv").read_text()


def test_temporary_and_dot_names_are_left_alone(hosted_sftp, acme, tmp_path):
    password = hosted_password_generate(supplier=acme)
    client = paramiko_client(hosted_sftp, user="acme", password=password)
    try:
        sftp = client.open_sftp()
        for name in (".hidden.csv", "ship.csv.part", "notes.txt"):
            with sftp.open(f"updates/{name}", "w") as out:
                out.write(UPDATE)
    finally:
        client.close()
    updates = supplier_folder("acme") / "updates"
    assert sorted(p.name for p in updates.iterdir() if p.is_file()) == [
        ".hidden.csv",
        "notes.txt",
        "ship.csv.part",
    ]
    assert hosted_sftp.closed_uploads == []


def test_paths_outside_the_folder_stay_inside_and_links_are_refused(hosted_sftp, acme, tmp_path):
    other = make_supplier(slug="other")
    (supplier_folder("other") / "orders" / "PO-SECRET.csv").write_text("secret")
    result = openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch="ls /\nls ..\nls ../..\nls /../other/orders\nls "
        + str(supplier_folder("other"))
        + "\n",
    )
    # Every path names a place inside acme's own folder (or nothing): never other's files.
    assert "PO-SECRET" not in result.stdout + result.stderr
    assert "orders" in result.stdout
    for batch in (
        "get ../other/orders/PO-SECRET.csv x\n",
        "get /../../other/orders/PO-SECRET.csv x\n",
    ):
        got = openssh_sftp(
            hosted_sftp, user="acme", key=tmp_path / "acme_key", workdir=tmp_path, batch=batch
        )
        assert got.returncode != 0 and not (tmp_path / "x").exists()
    link = openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch=(
            f"symlink {supplier_folder('other')} orders/escape\n"
            "ln orders/PO-10001.csv orders/hard\n"
        ),
    )
    assert link.returncode != 0
    assert not (supplier_folder("acme") / "orders" / "escape").exists()
    assert not (supplier_folder("acme") / "orders" / "hard").exists()
    assert other.slug == "other"


def test_another_suppliers_key_cannot_log_in_as_acme(hosted_sftp, acme, tmp_path):
    other = make_supplier(slug="other")
    hosted_key_add(supplier=other, public_key=keygen(tmp_path / "other_key"))
    result = openssh_sftp(
        hosted_sftp, user="acme", key=tmp_path / "other_key", workdir=tmp_path, batch="ls orders\n"
    )
    assert result.returncode != 0
    assert "PO-10001" not in result.stdout
    # Logged in as itself, it sees its own (empty) folder only.
    own = openssh_sftp(
        hosted_sftp,
        user="other",
        key=tmp_path / "other_key",
        workdir=tmp_path,
        batch="ls orders\nput /etc/hostname ../../acme/updates/x.csv\n",
    )
    assert "PO-10001" not in own.stdout
    assert not (supplier_folder("acme") / "updates" / "x.csv").exists()


def test_paramiko_logs_in_with_the_generated_password_and_does_the_same(
    hosted_sftp, acme, tmp_path
):
    password = hosted_password_generate(supplier=acme)
    client = paramiko_client(hosted_sftp, user="acme", password=password)
    try:
        sftp = client.open_sftp()
        assert sftp.listdir("orders") == ["PO-10001.csv"]
        assert sftp.open("orders/PO-10001.csv").read() == b"order_number\nPO-10001\n"
        with sftp.open("updates/ship.csv", "w") as out:
            out.write(UPDATE)
        assert sorted(sftp.listdir("/")) == ["orders", "updates"]
        assert sorted(sftp.listdir("/../..")) == ["orders", "updates"]
        with pytest.raises(OSError):
            sftp.symlink("/", "orders/root")
    finally:
        client.close()
    wait_until(lambda: ("acme", "ship.csv") in hosted_sftp.closed_uploads, timeout=10)


def test_wrong_password_is_refused_throttled_and_logged_without_the_password(
    hosted_sftp, acme, caplog
):
    password = hosted_password_generate(supplier=acme)
    caplog.set_level(logging.INFO, logger="delivery.hosted.server")
    for _ in range(6):
        with pytest.raises(paramiko.AuthenticationException):
            paramiko_client(hosted_sftp, user="acme", password="wrong-Guess-123")
    # Locked: even the right password is refused until the window ends.
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(hosted_sftp, user="acme", password=password)
    assert "too many failures" in caplog.text
    assert "wrong-Guess-123" not in caplog.text and password not in caplog.text


def test_logins_go_on_and_are_still_throttled_while_the_cache_is_down(
    redis_as_the_cache, hosted_sftp, acme
):
    """Redis (where the login throttle counts) stopped: the right password still logs in, so
    a supplier's upload is not refused for the outage (bench/chaos.py saw every hosted upload
    fail until Redis was back), and wrong guesses are still stopped, counted by the server
    process itself."""
    password = hosted_password_generate(supplier=acme)
    redis_as_the_cache.stop()
    client = paramiko_client(hosted_sftp, user="acme", password=password)
    try:
        assert client.open_sftp().listdir("orders") == ["PO-10001.csv"]
    finally:
        client.close()
    for _ in range(6):
        with pytest.raises(paramiko.AuthenticationException):
            paramiko_client(hosted_sftp, user="acme", password="wrong-Guess-123")
    with pytest.raises(paramiko.AuthenticationException):  # locked, as with the cache up
        paramiko_client(hosted_sftp, user="acme", password=password)


def test_a_partial_upload_is_never_handed_on(hosted_sftp, acme):
    password = hosted_password_generate(supplier=acme)
    client = paramiko_client(hosted_sftp, user="acme", password=password)
    sftp = client.open_sftp()
    remote = sftp.open("updates/half.csv", "w")
    remote.write(UPDATE[:20])
    remote.flush()
    # Drop the TCP connection mid-file, without closing the file or the session.
    client.get_transport().sock.shutdown(socket.SHUT_RDWR)
    client.close()
    path = supplier_folder("acme") / "updates" / "half.csv"
    wait_until(lambda: path.exists(), timeout=10)
    # The server has noticed the drop once it has logged the session's end; give it a
    # condition to wait on: a fresh login works (the server is serving), then check the hook.
    again = paramiko_client(hosted_sftp, user="acme", password=password)
    again.close()
    assert ("acme", "half.csv") not in hosted_sftp.closed_uploads
    from orders.models import UpdateFile

    assert not UpdateFile.objects.exists()
    assert path.exists() and not (path.parent / "results" / "half.csv.results.csv").exists()


def test_sftp_keys_command_lists_adds_and_removes(acme, tmp_path):
    public = keygen(tmp_path / "second")
    (tmp_path / "second.pub").write_text(public)
    out = io.StringIO()
    call_command("sftp_keys", "acme", "--add", str(tmp_path / "second.pub"), stdout=out)
    fingerprint = out.getvalue().split()[2]
    assert fingerprint.startswith("SHA256:")
    out = io.StringIO()
    call_command("sftp_keys", "acme", "--remove", fingerprint, stdout=out)
    assert fingerprint not in out.getvalue().split("\n", 1)[1]


def test_sftp_keys_that_fails_part_way_changes_nothing(acme, tmp_path):
    from django.core.management.base import CommandError

    from delivery.models import HostedSftpKey

    before = list(HostedSftpKey.objects.filter(supplier=acme).values_list("fingerprint"))
    public = keygen(tmp_path / "third")
    (tmp_path / "third.pub").write_text(public)
    argv = ["acme", "--add", str(tmp_path / "third.pub"), "--remove", "SHA256:nosuchkey"]
    with pytest.raises(CommandError, match="^fingerprint"):
        call_command("sftp_keys", *argv, stdout=io.StringIO())
    # Before: the key was added, then the command failed on --remove and exited non-zero.
    assert list(HostedSftpKey.objects.filter(supplier=acme).values_list("fingerprint")) == before


def test_openssh_client_logs_in_with_the_generated_password(hosted_sftp, acme, tmp_path):
    password = hosted_password_generate(supplier=acme)
    (tmp_path / "ship.csv").write_text(UPDATE)
    result = openssh_sftp(
        hosted_sftp,
        user="acme",
        password=password,
        workdir=tmp_path,
        batch="ls orders\nget orders/PO-10001.csv got.csv\nput ship.csv updates/ship.csv\n",
    )
    assert result.returncode == 0, result.stderr
    assert "PO-10001.csv" in result.stdout
    assert (tmp_path / "got.csv").read_text() == "order_number\nPO-10001\n"
    wait_until(lambda: ("acme", "ship.csv") in hosted_sftp.closed_uploads, timeout=10)


def test_openssh_client_with_a_wrong_password_is_refused(hosted_sftp, acme, tmp_path):
    hosted_password_generate(supplier=acme)
    result = openssh_sftp(
        hosted_sftp, user="acme", password="not-it", workdir=tmp_path, batch="ls orders\n"
    )
    assert result.returncode != 0
    assert "PO-10001.csv" not in result.stdout


def test_an_upload_reopened_before_its_apply_is_queued_is_not_applied_cut_short(
    hosted_sftp, acme, tmp_path, monkeypatch
):
    """The closed upload's identity is taken when the client closes it. Taken later, when
    the queueing thread got to it, a client that had already opened the same name again
    (truncating it) and written part of a new file had that part marked as the upload
    closed, and applied (found in review). The queueing is held back here, by a gate in
    front of the server's own function, until the second upload has begun."""
    import threading

    from delivery.hosted import server as hosted_server
    from orders.models import UpdateFile

    gate, done = threading.Event(), threading.Event()
    real_queue = hosted_server._queue

    def gated(*args):
        gate.wait(timeout=30)
        try:
            real_queue(*args)
        finally:
            done.set()

    monkeypatch.setattr(hosted_server, "_queue", gated)
    full = UPDATE.encode() + b"PO-2,ship,SKU-2,12\n"
    partial = full[: len(full) - 2]  # "...,12" cut to "...,1"
    client = paramiko_client(hosted_sftp, user="acme", key=tmp_path / "acme_key")
    sftp = client.open_sftp()
    with sftp.open("updates/ship.csv", "wb") as out:
        out.write(full)
    again = sftp.open("updates/ship.csv", "wb")
    again.write(partial)
    again.flush()
    assert sftp.stat("updates/ship.csv").st_size == len(partial)  # the server has it

    gate.set()
    wait_until(done.is_set, timeout=20, message="the upload was not queued")
    assert not UpdateFile.objects.filter(content=partial).exists()
    assert not (supplier_folder("acme") / "updates" / "results" / "ship.csv.results.csv").exists()
    client.close()  # the second upload is never closed by its client: never applied either
    assert not UpdateFile.objects.exists()


def test_a_suppliers_file_modes_never_lock_our_workers_out(hosted_sftp, acme, tmp_path):
    """OpenSSH's sftp creates each upload with the local file's mode (and `put -p`, `chmod`
    set modes too): an update file kept write-only on the supplier's machine was created
    write-only here, which our workers (not root) could not read, and each apply failed
    again at every sweep (found in review). Modes and owners a client asks for are not
    taken: files are made as the server makes its own, times still kept. (The tests run as
    root, who reads any file, so the mode itself is what is checked.)"""
    import os
    import stat

    local = tmp_path / "ship.csv"
    local.write_text(UPDATE)
    local.chmod(0o200)
    (tmp_path / "keep.txt").write_text("x")
    os.utime(tmp_path / "keep.txt", (1_000_000_000, 1_000_000_000))
    result = openssh_sftp(
        hosted_sftp,
        user="acme",
        key=tmp_path / "acme_key",
        workdir=tmp_path,
        batch="put ship.csv orders/ship.csv\nput -p keep.txt orders/keep.txt\n"
        "chmod 000 orders/keep.txt\nmkdir orders/box\nchmod 000 orders/box\n",
    )
    assert result.returncode == 0, result.stderr
    orders = supplier_folder("acme") / "orders"
    for path in (orders / "ship.csv", orders / "keep.txt"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o600 == 0o600, f"{path.name} is {oct(mode)}"
    assert int((orders / "keep.txt").stat().st_mtime) == 1_000_000_000  # times are kept
    assert stat.S_IMODE((orders / "box").stat().st_mode) & 0o700 == 0o700


def test_failed_passwords_under_made_up_names_lock_the_address_out_of_passwords(
    hosted_sftp, acme, settings, caplog, tmp_path
):
    """Each password check is a slow hash in the server's one database thread, a made-up
    user name's as much as a real one's: a client trying a new name each time was never
    stopped (the per-user count never grew), and kept every login waiting on that thread.
    Past HOSTED_SFTP_ADDRESS_FAILURE_LIMIT failed passwords from one address, its passwords
    are refused unchecked, the right one too; its keys still log in."""
    settings.HOSTED_SFTP_ADDRESS_FAILURE_LIMIT = 3
    password = hosted_password_generate(supplier=acme)  # and its key (the fixture's)
    caplog.set_level(logging.INFO, logger="delivery.hosted.server")
    for n in range(3):
        with pytest.raises(paramiko.AuthenticationException):
            paramiko_client(hosted_sftp, user=f"made-up-{n}", password="wrong-Guess-123")
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(hosted_sftp, user="acme", password=password)
    assert "too many failed passwords from this address" in caplog.text
    assert password not in caplog.text
    client = paramiko_client(hosted_sftp, user="acme", key=tmp_path / "acme_key")
    try:
        assert client.open_sftp().listdir("orders") == ["PO-10001.csv"]
    finally:
        client.close()


def test_failed_passwords_below_the_address_limit_lock_nobody_else_out(hosted_sftp, acme, settings):
    """The calibration: under the limit, another user name's right password still works."""
    settings.HOSTED_SFTP_ADDRESS_FAILURE_LIMIT = 3
    password = hosted_password_generate(supplier=acme)
    for n in range(2):
        with pytest.raises(paramiko.AuthenticationException):
            paramiko_client(hosted_sftp, user=f"made-up-{n}", password="wrong-Guess-123")
    client = paramiko_client(hosted_sftp, user="acme", password=password)
    client.close()


def test_an_ipv6_client_counts_as_its_whole_slash_64(settings):
    """The address count as the server keeps it (the test server listens on 127.0.0.1 only,
    so no IPv6 client can reach it here): one client holds a whole /64, and a new address of
    it for each guess is still that client; another /64 is another client."""
    from delivery.hosted import throttle

    settings.HOSTED_SFTP_ADDRESS_FAILURE_LIMIT = 3
    for n in range(1, 4):
        throttle.login_failed(f"made-up-{n}", f"2001:db8:1:2::{n}")
    assert throttle.login_address_locked("2001:db8:1:2:ffff::9")
    assert not throttle.login_address_locked("2001:db8:1:3::1")
    for n in range(1, 4):
        throttle.login_failed(f"made-up-{n}", "::ffff:198.51.100.7")
    assert throttle.login_address_locked("198.51.100.7")


def test_a_user_name_with_a_nul_is_no_supplier_and_raises_nothing(hosted_sftp, acme, caplog):
    """PostgreSQL refuses a NUL in a query: the login's look-up raised in the server. asyncssh
    refuses such a name from a client first ("Prohibited character"), so the look-ups are
    called here as the server calls them; a real client is refused all the same."""
    from delivery.hosted.credentials import login_key_allowed, login_password_allowed

    hosted_password_generate(supplier=acme)
    assert login_password_allowed("acme\0", "wrong-Guess-123") is False
    assert login_key_allowed("acme\0", "ssh-ed25519", "AAAA") is False
    with pytest.raises(paramiko.AuthenticationException):
        paramiko_client(hosted_sftp, user="acme\0", password="wrong-Guess-123")
    assert "Traceback" not in caplog.text
