"""The SFTP file drop against a real OpenSSH server (sshd on 127.0.0.1, see testsupport/sshd.py)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import paramiko
import pytest

from delivery.channels.base import DeliveryFailed, SendResult
from delivery.channels.sftp import (
    SftpChannel,
    SftpError,
    sftp_fetch_host_key,
    sftp_session,
    sftp_target_for,
    sftp_test_connection,
)
from delivery.channels.sftp import session as sftp_session_module
from delivery.channels.sftp import upload as sftp_upload
from delivery.dispatcher import events_dispatch
from delivery.formats import FORMATS
from delivery.models import Delivery, Destination
from delivery.services import destination_set_sftp
from delivery.tests.test_formats import CONTRACT_HEADER
from orders.documents import order_document, orders_with_document_relations
from orders.models import Order, OrderEvent, OrderEventType
from testsupport.factories import place_order
from testsupport.sshd import (
    DirectoryWatch,
    SftpTestServer,
    sftp_server_fixture,  # noqa: F401  (the fixture)
)

# --- Fixtures and helpers ----------------------------------------------------------------

PINNED_ELSEWHERE = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEnq//vvP8NJOqSWG2BQN2kLn6rf95Ejk+NlU0MCgX2h"
)


@pytest.fixture
def watch():
    if not sys.platform.startswith("linux"):
        pytest.skip("inotify is Linux only")
    watches = []

    def start(path):
        w = DirectoryWatch(path)
        watches.append(w)
        return w

    yield start
    for w in watches:
        w.close()


def sftp_destination(supplier, server, **overrides) -> Destination:
    """The SFTP channel turned on through the service `set_channel` uses."""
    values = {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "private_key": server.private_key,
        "path": str(server.upload_root),
        "host_key": server.host_key_line,
    }
    values.update(overrides)
    return destination_set_sftp(supplier=supplier, **values)


def deliveries_for(destination, orders) -> list[Delivery]:
    """The dispatcher's SFTP rows for these orders (as the engine makes them)."""
    events_dispatch(
        event_ids=list(
            OrderEvent.objects.filter(order__in=orders, type=OrderEventType.CREATED).values_list(
                "pk", flat=True
            )
        )
    )
    rows = list(
        Delivery.objects.filter(destination=destination, event__order__in=orders)
        .select_related("destination", "event")
        .order_by("pk")
    )
    assert len(rows) == len(orders)
    return rows


def loaded(order) -> Order:
    return orders_with_document_relations(Order.objects.filter(pk=order.pk)).get()


def csv_bytes(order) -> bytes:
    return FORMATS["csv"].render(loaded(order))


def files_in(directory) -> list[str]:
    return sorted(os.listdir(directory))


def parse_csv(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def place(retailer, n=1, **kwargs) -> list[Order]:
    orders = []
    for _ in range(n):
        orders.extend(place_order(retailer=retailer, **kwargs))
    return orders


def wrong_host_key_line(server) -> str:
    other = SftpTestServer(sshd=server.sshd, ssh_keygen=server.ssh_keygen)
    try:
        other.prepare()
        return other.host_key_line
    finally:
        other.close()


# --- Files as the contract says ----------------------------------------------------------


def test_one_csv_file_per_order_with_the_contract_rows(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server)
    multi = place_order(
        retailer=retailer,
        lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-002", "quantity": 3}],
        customer={"name": "=2+5+cmd|' /C calc'!A0", "email": "x@example.com", "phone": "+1 555"},
    )
    single = place(retailer, 2)
    orders = multi + single
    deliveries = deliveries_for(destination, orders)

    results = SftpChannel().send_batch(deliveries)

    assert set(results) == {d.pk for d in deliveries}
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(sftp_server.upload_root) == sorted(f"{o.number}.csv" for o in orders)
    for order in orders:
        order = loaded(order)
        rows = parse_csv(sftp_server.upload_root / f"{order.number}.csv")
        assert rows[0] == CONTRACT_HEADER.split(",")
        assert len(rows) == 1 + order.lines.count()
        for row, line in zip(rows[1:], order.lines.all()):
            cells = dict(zip(rows[0], row))
            assert cells["order_number"] == order.number
            assert cells["line"] == str(line.line_no)
            assert cells["sku"] == line.sku
            assert cells["quantity"] == str(line.quantity)
            assert cells["unit_price"] == f"{line.unit_price:.2f}"
            assert cells["line_total"] == f"{line.line_total:.2f}"
            assert cells["currency"] == "GBP"
            assert cells["retailer"] == "shopco"
            assert cells["ship_postcode"] == "LS1 1AA"
    multi_rows = parse_csv(sftp_server.upload_root / f"{multi[0].number}.csv")
    assert [r[15] for r in multi_rows[1:]] == ["ACME-001", "ACME-002"]
    assert [r[17] for r in multi_rows[1:]] == ["2", "3"]
    assert multi_rows[1][4] == "'=2+5+cmd|' /C calc'!A0"
    assert multi_rows[1][6] == "+1 555"
    # The uploaded bytes are the renderer's bytes.
    assert (sftp_server.upload_root / f"{multi[0].number}.csv").read_bytes() == csv_bytes(multi[0])


def test_json_files_are_the_order_document(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server, file_format="json")
    orders = place(retailer, 2)
    results = SftpChannel().send_batch(deliveries_for(destination, orders))
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(sftp_server.upload_root) == sorted(f"{o.number}.json" for o in orders)
    for order in orders:
        body = json.loads((sftp_server.upload_root / f"{order.number}.json").read_text())
        assert body == order_document(loaded(order))


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa", "ed25519"])
def test_private_keys_of_each_type_log_in(acme, retailer, sftp_server, key_type):
    private_key = sftp_server.add_client_key(key_type)
    destination = sftp_destination(acme, sftp_server, private_key=private_key)
    orders = place(retailer)
    results = SftpChannel().send_batch(deliveries_for(destination, orders))
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(sftp_server.upload_root) == [f"{orders[0].number}.csv"]


# --- Host keys ---------------------------------------------------------------------------


def test_a_wrong_pinned_host_key_uploads_nothing(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server, host_key=wrong_host_key_line(sftp_server))
    deliveries = deliveries_for(destination, place(retailer, 2))

    results = SftpChannel().send_batch(deliveries)

    for delivery in deliveries:
        failure = results[delivery.pk]
        assert isinstance(failure, DeliveryFailed)
        assert "Host key mismatch" in str(failure)
        assert sftp_server.host_key_fingerprint in str(failure)
        assert failure.retryable  # a person re-pins the key; the same files then go out
    assert files_in(sftp_server.upload_root) == []
    # Not even an authentication attempt reached the impostor.
    log = sftp_server.log_text()
    assert "Accepted" not in log and "Failed" not in log


def test_a_pinned_key_of_another_type_is_refused(acme, retailer, sftp_server):
    other = sftp_server.base / "other_ecdsa"
    sftp_server.keygen("ecdsa", other)
    ecdsa_line = " ".join(other.with_name("other_ecdsa.pub").read_text().split()[:2])
    destination = sftp_destination(acme, sftp_server, host_key=ecdsa_line)
    deliveries = deliveries_for(destination, place(retailer))
    [failure] = SftpChannel().send_batch(deliveries).values()
    assert isinstance(failure, DeliveryFailed)
    assert "Host key mismatch" in str(failure) or "handshake" in str(failure)
    assert files_in(sftp_server.upload_root) == []


def test_fetch_host_key_shows_the_servers_key_and_fingerprint(sftp_server):
    key_type, b64, fingerprint = sftp_fetch_host_key(host=sftp_server.host, port=sftp_server.port)
    assert f"{key_type} {b64}" == sftp_server.host_key_line
    # The fingerprint OpenSSH itself prints for the server's public key file.
    printed = subprocess.run(
        [
            sftp_server.ssh_keygen,
            "-l",
            "-E",
            "sha256",
            "-f",
            sftp_server.base / "ssh_host_ed25519_key.pub",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[1]
    assert fingerprint == printed
    assert "Accepted" not in sftp_server.log_text()


def test_fetch_host_key_from_a_closed_port_is_a_clear_error(sftp_server):
    port = sftp_server.port
    sftp_server.stop()
    with pytest.raises(SftpError, match=f"Cannot connect to 127.0.0.1:{port}"):
        sftp_fetch_host_key(host="127.0.0.1", port=port)
    with pytest.raises(SftpError, match="port"):
        sftp_fetch_host_key(host="127.0.0.1", port=0)


# --- Down, slow, and back ----------------------------------------------------------------


def test_a_server_that_is_down_is_retried_and_a_later_run_delivers(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server)
    orders = place(retailer, 2)
    deliveries = deliveries_for(destination, orders)
    port = sftp_server.port
    sftp_server.stop()

    results = SftpChannel().send_batch(deliveries)
    assert set(results) == {delivery.pk for delivery in deliveries}  # a result for each row
    for failure in results.values():
        assert isinstance(failure, DeliveryFailed)
        assert failure.retryable
        assert f"Cannot connect to 127.0.0.1:{port}" in str(failure)
    assert files_in(sftp_server.upload_root) == []

    sftp_server.start(port=port)
    results = SftpChannel().send_batch(deliveries)
    assert set(results) == {delivery.pk for delivery in deliveries}
    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(sftp_server.upload_root) == sorted(f"{o.number}.csv" for o in orders)


def test_a_server_that_never_answers_times_out(acme, retailer, monkeypatch, settings):
    """A TCP peer that accepts but never speaks SSH: the run ends within the bound."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the peer is on 127.0.0.1
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    monkeypatch.setattr(sftp_session_module, "CONNECT_TIMEOUT", 1.0)
    destination = destination_set_sftp(
        supplier=acme,
        host="127.0.0.1",
        port=listener.getsockname()[1],
        username="x",
        password="y",
        path="/upload",
        host_key=PINNED_ELSEWHERE,
    )
    deliveries = deliveries_for(destination, place(retailer))
    started = time.monotonic()
    try:
        [failure] = SftpChannel().send_batch(deliveries).values()
    finally:
        listener.close()
        for conn, _ in accepted:
            conn.close()
    assert time.monotonic() - started < 10
    assert isinstance(failure, DeliveryFailed) and failure.retryable
    assert "127.0.0.1" in str(failure) and "handshake" in str(failure)
    assert accepted, "the connection was made (the address check let it through)"


def test_a_server_that_stops_answering_mid_run_is_a_bounded_retryable_failure(
    acme, retailer, sftp_server, monkeypatch
):
    """sshd frozen (SIGSTOP) after login: the write times out, the rest wait for the next run."""
    monkeypatch.setattr(sftp_session_module, "IO_TIMEOUT", 1.0)
    monkeypatch.setattr(sftp_upload, "PIPELINE_FILES", 2)  # windows of 2 files, 3 windows
    destination = sftp_destination(acme, sftp_server)
    orders = place(retailer, 6)
    deliveries = deliveries_for(destination, orders)
    prepare = sftp_session_module.SftpSession.prepare_directory

    def prepare_then_freeze(session):
        prepare(session)
        frozen.extend(sftp_server.session_pids())
        assert frozen, "no sshd session process found"
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)

    frozen: list[int] = []

    monkeypatch.setattr(sftp_session_module.SftpSession, "prepare_directory", prepare_then_freeze)
    started = time.monotonic()
    try:
        results = SftpChannel().send_batch(deliveries)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert time.monotonic() - started < 8
    failures = [results[d.pk] for d in deliveries]
    for first in failures[:2]:  # the window that was in flight
        assert isinstance(first, DeliveryFailed) and first.retryable
        assert "Connection to 127.0.0.1" in str(first) and "lost" in str(first)
        assert "stopped answering (no reply within 1 s)" in str(first)
    for failure in failures[2:]:  # never tried: no second wait for a silent server
        assert isinstance(failure, DeliveryFailed) and failure.retryable
        assert "connection was lost before this file" in str(failure)
    assert not any(name.endswith(".csv") for name in os.listdir(sftp_server.upload_root))


# --- Never partial, and retries replace --------------------------------------------------


def assert_only_complete_files_under_final_names(events, final_names, *, hard_link=False):
    """Final names appear only by rename of a temp file closed after writing; nothing ever
    writes to a final name (no modify, no close_write on it).

    hard_link: OpenSSH's plain SFTP rename is link() then unlink(), which inotify reports as
    a create of the final name; a link adds a name to an already complete file.
    """
    allowed = {"moved_to", "delete"} | ({"create"} if hard_link else set())
    closed = set()
    for event, name in events:
        if name in final_names:
            assert event in allowed, f"{event} on final name {name}: {events}"
        else:
            assert name.startswith(".") and name.endswith(".part"), name
            if event == "close_write":
                closed.add(name)
            if event in ("moved_from", "delete"):
                assert name in closed, f"{name} renamed before it was closed"
    arrived = [n for e, n in events if n in final_names and e in allowed - {"delete"}]
    assert sorted(arrived) == sorted(final_names)


def test_no_file_is_ever_seen_under_its_final_name_before_it_is_complete(
    acme, retailer, sftp_server, watch
):
    destination = sftp_destination(acme, sftp_server)
    many_lines = [{"sku": "ACME-001", "quantity": q} for q in range(1, 300)]
    orders = place(retailer, 1, lines=many_lines) + place(retailer, 30)
    deliveries = deliveries_for(destination, orders)
    final_names = {f"{o.number}.csv" for o in orders}
    watcher = watch(sftp_server.upload_root)

    # A reader polling the directory as a supplier's import job would.
    seen_incomplete = []
    expected = {f"{o.number}.csv": csv_bytes(o) for o in orders}
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            for name in os.listdir(sftp_server.upload_root):
                if name in expected:
                    try:
                        data = (sftp_server.upload_root / name).read_bytes()
                    except FileNotFoundError:
                        continue
                    if data != expected[name]:
                        seen_incomplete.append((name, len(data)))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        results = SftpChannel().send_batch(deliveries)
    finally:
        stop.set()
        thread.join(timeout=10)

    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert len(expected[f"{orders[0].number}.csv"]) > 32768  # several SFTP writes
    assert seen_incomplete == []
    assert_only_complete_files_under_final_names(watcher.events(), final_names)
    assert files_in(sftp_server.upload_root) == sorted(final_names)


def test_the_watch_catches_a_writer_that_writes_under_the_final_name(sftp_server, watch):
    """The check above can fail: a direct write to the final name is caught."""
    watcher = watch(sftp_server.upload_root)
    transport = paramiko.Transport((sftp_server.host, sftp_server.port))
    try:
        transport.connect(
            username=sftp_server.username,
            pkey=paramiko.Ed25519Key.from_private_key(io.StringIO(sftp_server.private_key)),
        )
        client = paramiko.SFTPClient.from_transport(transport)
        with client.open(str(sftp_server.upload_root / "PO-1.csv"), "wb") as remote:
            remote.write(b"x" * 100_000)
    finally:
        transport.close()
    with pytest.raises(AssertionError, match="on final name"):
        assert_only_complete_files_under_final_names(watcher.events(), {"PO-1.csv"})


def test_a_retry_replaces_the_file_atomically(acme, retailer, sftp_server, watch):
    destination = sftp_destination(acme, sftp_server)
    [order] = place(retailer)
    name = f"{order.number}.csv"
    deliveries = deliveries_for(destination, [order])
    SftpChannel().send_batch(deliveries)
    (sftp_server.upload_root / name).write_bytes(b"stale partial content")
    watcher = watch(sftp_server.upload_root)

    [result] = SftpChannel().send_batch(deliveries).values()

    assert isinstance(result, SendResult)
    assert files_in(sftp_server.upload_root) == [name]
    assert (sftp_server.upload_root / name).read_bytes() == csv_bytes(order)
    events = watcher.events()
    assert_only_complete_files_under_final_names(events, {name})
    # posix-rename replaces in one step: the final name never disappears.
    assert ("delete", name) not in events


def test_without_posix_rename_the_file_is_removed_then_renamed(
    acme, retailer, sftp_server, watch, monkeypatch
):
    monkeypatch.setattr(sftp_upload, "POSIX_RENAME", "no-such-extension@example.com")
    destination = sftp_destination(acme, sftp_server)
    [order] = place(retailer)
    name = f"{order.number}.csv"
    deliveries = deliveries_for(destination, [order])
    (sftp_server.upload_root / name).write_bytes(b"old")
    watcher = watch(sftp_server.upload_root)

    [result] = SftpChannel().send_batch(deliveries).values()

    assert isinstance(result, SendResult)
    assert (sftp_server.upload_root / name).read_bytes() == csv_bytes(order)
    events = watcher.events()
    assert_only_complete_files_under_final_names(events, {name}, hard_link=True)
    assert events.index(("delete", name)) < events.index(("create", name))


def test_the_server_offers_posix_rename(sftp_server, acme):
    destination = sftp_destination(acme, sftp_server)
    with sftp_session(sftp_target_for(destination)) as session:
        assert session.use_posix_rename


def test_one_bad_file_does_not_stop_the_others(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server)
    orders = place(retailer, 3)
    blocked = sftp_server.make_dir(f"{orders[1].number}.csv")  # a directory in the way
    deliveries = deliveries_for(destination, orders)

    results = SftpChannel().send_batch(deliveries)

    by_order = {d.event.order_id: results[d.pk] for d in deliveries}
    assert isinstance(by_order[orders[1].pk], DeliveryFailed)
    assert isinstance(by_order[orders[0].pk], SendResult)
    assert isinstance(by_order[orders[2].pk], SendResult)
    assert blocked.is_dir() and not any(blocked.iterdir())
    assert files_in(sftp_server.upload_root) == sorted(
        [f"{orders[0].number}.csv", f"{orders[1].number}.csv", f"{orders[2].number}.csv"]
    )  # the directory, and no temporary file left behind


def test_a_missing_directory_is_reported_and_nothing_written(acme, retailer, sftp_server):
    destination = sftp_destination(acme, sftp_server, path=str(sftp_server.upload_root / "missing"))
    [failure] = SftpChannel().send_batch(deliveries_for(destination, place(retailer))).values()
    assert isinstance(failure, DeliveryFailed)
    assert "No such file or directory" in str(failure) and "missing" in str(failure)
    assert files_in(sftp_server.upload_root) == []


def test_a_read_only_directory_fails_every_file_and_writes_nothing(acme, retailer, sftp_server):
    read_only = sftp_server.make_dir("readonly", writable=False)
    destination = sftp_destination(acme, sftp_server, path=str(read_only))
    deliveries = deliveries_for(destination, place(retailer, 2))
    results = SftpChannel().send_batch(deliveries)
    for delivery in deliveries:
        failure = results[delivery.pk]
        assert isinstance(failure, DeliveryFailed) and failure.retryable
        assert str(failure).startswith("Permission denied on the server:")
    assert list(read_only.iterdir()) == []


# --- Hosted mode (our own server: files written into the hosted storage) ------------------


def test_hosted_mode_writes_into_root_slash_slug_orders(acme, bolt, retailer, settings, tmp_path):
    hosted_root = tmp_path / "hosted"  # not there yet: made on first use
    settings.HOSTED_SFTP_ROOT = str(hosted_root)
    acme_destination = destination_set_sftp(supplier=acme, hosted=True)
    bolt_destination = destination_set_sftp(supplier=bolt, hosted=True)
    acme_orders = place(retailer, 2)
    bolt_orders = place(retailer, 1, lines=[{"sku": "BOLT-7", "quantity": 1}])

    results = SftpChannel().send_batch(
        deliveries_for(acme_destination, acme_orders)
        + deliveries_for(bolt_destination, bolt_orders)
    )

    assert all(isinstance(r, SendResult) for r in results.values()), results
    assert files_in(hosted_root) == ["acme", "bolt"]
    assert files_in(hosted_root / "acme" / "orders") == sorted(
        f"{o.number}.csv" for o in acme_orders
    )
    assert files_in(hosted_root / "bolt" / "orders") == [f"{bolt_orders[0].number}.csv"]


def test_hosted_storage_that_cannot_be_written_is_a_clear_failure(
    acme, retailer, settings, tmp_path
):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings.HOSTED_SFTP_ROOT = str(blocker)
    destination = destination_set_sftp(supplier=acme, hosted=True)
    [failure] = SftpChannel().send_batch(deliveries_for(destination, place(retailer))).values()
    assert isinstance(failure, DeliveryFailed)
    assert "hosted storage" in str(failure)
    assert blocker.read_text() == "not a folder"


# --- Test connection (settings page) -----------------------------------------------------


def test_test_connection_succeeds_and_leaves_no_probe(acme, sftp_server):
    destination = sftp_destination(acme, sftp_server)
    ok, message = sftp_test_connection(destination=destination)
    assert ok, message
    assert "writable" in message
    assert files_in(sftp_server.upload_root) == []


@pytest.mark.parametrize("credential", ["password", "key"])
def test_test_connection_reports_bad_credentials(acme, sftp_server, credential):
    if credential == "password":
        overrides = {"private_key": None, "password": "not-the-password"}
    else:
        stranger = SftpTestServer(sshd=sftp_server.sshd, ssh_keygen=sftp_server.ssh_keygen)
        try:
            stranger.prepare()
            overrides = {"private_key": stranger.private_key}
        finally:
            stranger.close()
    destination = sftp_destination(acme, sftp_server, **overrides)
    ok, message = sftp_test_connection(destination=destination)
    assert not ok
    assert message.startswith(f"Authentication as '{sftp_server.username}' on 127.0.0.1:")
    assert "check the username and the password or key" in message
    assert "not-the-password" not in message
    assert files_in(sftp_server.upload_root) == []


def test_test_connection_reports_a_wrong_host_key(acme, sftp_server):
    destination = sftp_destination(acme, sftp_server, host_key=wrong_host_key_line(sftp_server))
    ok, message = sftp_test_connection(destination=destination)
    assert not ok
    assert message.startswith("Host key mismatch for 127.0.0.1:")
    assert "Accepted" not in sftp_server.log_text()


def test_test_connection_reports_a_read_only_directory(acme, sftp_server):
    read_only = sftp_server.make_dir("readonly", writable=False)
    destination = sftp_destination(acme, sftp_server, path=str(read_only))
    ok, message = sftp_test_connection(destination=destination)
    assert not ok
    assert message == f"Permission denied on the server: writing in {read_only}."
    assert list(read_only.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("sftp_host_key", "ssh-ed25519", 'must look like "ssh-ed25519 AAAA..."'),
        ("sftp_host_key", "ssh-ed25519 !!!notbase64", "not valid base64"),
        ("sftp_host_key", "ssh-dss AAAAB3NzaC1kc3M=", "Unsupported host key type"),
        ("sftp_private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n", "cannot be read"),
    ],
)
def test_test_connection_reports_bad_settings(acme, sftp_server, field, value, expected):
    destination = sftp_destination(acme, sftp_server)
    setattr(destination, field, value)
    ok, message = sftp_test_connection(destination=destination)
    assert not ok
    assert expected in message
    assert files_in(sftp_server.upload_root) == []


# --- End to end: order placed -> dispatcher -> beat task -> file ---------------------------


def test_end_to_end_an_order_reaches_the_sftp_drop(
    acme, retailer, sftp_server, tasks_inline, django_capture_on_commit_callbacks
):
    from delivery import tasks

    destination = sftp_destination(acme, sftp_server)
    with django_capture_on_commit_callbacks(execute=True):
        [order] = place_order(
            retailer=retailer,
            lines=[{"sku": "ACME-001", "quantity": 2}, {"sku": "ACME-003", "quantity": 1}],
        )
    row = Delivery.objects.get(channel="sftp", event__order=order)
    assert row.status == "pending" and row.identity == f"{order.number}.csv"
    assert files_in(sftp_server.upload_root) == []  # files go out on the destination's run

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sftp_run_due() == [destination.pk]

    row.refresh_from_db()
    assert row.status == "delivered" and row.delivered_at is not None
    [attempt] = row.attempts.all()
    assert attempt.success and attempt.error == ""
    assert f"{order.number}.csv" in attempt.response_excerpt
    assert files_in(sftp_server.upload_root) == [f"{order.number}.csv"]
    assert (sftp_server.upload_root / f"{order.number}.csv").read_bytes() == csv_bytes(order)

    # Not due again until its interval has passed: nothing more is sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sftp_run_due() == []
    assert row.attempts.count() == 1


def test_end_to_end_a_down_server_is_retried_by_a_later_run(
    acme, retailer, sftp_server, tasks_inline, django_capture_on_commit_callbacks, settings
):
    from delivery import tasks

    settings.DELIVERY_RETRY_SCHEDULE = [0, 0, 0]  # retry as soon as a run comes round
    destination = sftp_destination(acme, sftp_server)
    with django_capture_on_commit_callbacks(execute=True):
        orders = place(retailer, 2)
    port = sftp_server.port
    sftp_server.stop()

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sftp_run_due() == [destination.pk]
    rows = list(Delivery.objects.filter(channel="sftp").order_by("pk"))
    for row in rows:
        assert row.status == "pending" and row.attempt_count == 1
        assert f"Cannot connect to 127.0.0.1:{port}" in row.last_error
        [attempt] = row.attempts.all()
        assert not attempt.success and "Cannot connect" in attempt.error
    assert files_in(sftp_server.upload_root) == []

    sftp_server.start(port=port)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sftp_run(destination.pk)
    for row in rows:
        row.refresh_from_db()
        assert row.status == "delivered" and row.attempts.count() == 2
    assert files_in(sftp_server.upload_root) == sorted(f"{o.number}.csv" for o in orders)


def test_end_to_end_a_wrong_host_key_keeps_the_order_pending_and_uploads_nothing(
    acme, retailer, sftp_server, tasks_inline, django_capture_on_commit_callbacks
):
    from delivery import tasks

    sftp_destination(acme, sftp_server, host_key=wrong_host_key_line(sftp_server))
    with django_capture_on_commit_callbacks(execute=True):
        place(retailer)
        tasks.sftp_run_due()
    row = Delivery.objects.get(channel="sftp")
    assert row.status == "pending" and row.last_error.startswith("Host key mismatch")
    assert row.attempts.get().success is False
    assert files_in(sftp_server.upload_root) == []
    assert "Accepted" not in sftp_server.log_text()


def test_end_to_end_set_channel_command_then_hosted_file_drop(
    acme, retailer, settings, tmp_path, tasks_inline, django_capture_on_commit_callbacks
):
    """`set_channel acme sftp --hosted` as ops types it, then an order lands in ROOT/acme/orders."""
    from django.core.management import call_command

    from delivery import tasks

    settings.HOSTED_SFTP_ROOT = str(tmp_path / "suppliers")
    hosted_root = tmp_path / "suppliers"
    out = io.StringIO()
    call_command("set_channel", "acme", "sftp", "--hosted", "--format", "json", stdout=out)
    assert "sftp on" in out.getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        [order] = place(retailer)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sftp_run_due()
    row = Delivery.objects.get(channel="sftp")
    assert row.status == "delivered", row.last_error
    assert files_in(hosted_root / "acme" / "orders") == [f"{order.number}.json"]
    body = json.loads((hosted_root / "acme" / "orders" / f"{order.number}.json").read_text())
    assert body == order_document(loaded(order))


class SlowLink:
    """A TCP relay in front of the test sshd that, once `slow` is set, passes the server's
    bytes on one at a time, a few milliseconds apart: every reply comes, none fast."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.slow = threading.Event()
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            self._pump(server, client, True)

    def _pump(self, source, sink, slowed: bool) -> None:
        with contextlib.suppress(OSError):
            while not self.stop.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if not (slowed and self.slow.is_set()):
                    sink.sendall(data)
                    continue
                for i in range(len(data)):
                    if self.stop.wait(0.004):
                        return
                    sink.sendall(data[i : i + 1])
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.close()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def test_a_server_answering_slowly_cannot_hold_a_run_past_its_lease(
    acme, retailer, sftp_server, monkeypatch
):
    """Every reply in time, none fast (the server's bytes come a few milliseconds apart):
    the per request timeouts never fired, and a run went on for as long as the server
    liked, holding a worker the other channels share, and past its lease the next run
    connected too (found in review). A run now stops at its lease: what it did not send
    waits for the next run, and nothing is half-written under a final name."""
    from django.conf import settings

    from delivery.channels.sftp import channel as sftp_channel_module

    monkeypatch.setattr(sftp_session_module, "IO_TIMEOUT", 10.0)
    monkeypatch.setattr(sftp_upload, "PIPELINE_FILES", 2)
    # The lease: DELIVERY_CLAIM_SECONDS + a little a file (16 files: 1 + 16 x 0.02 s).
    monkeypatch.setattr(sftp_channel_module, "SFTP_LEASE_SECONDS_PER_FILE", 0.02)
    monkeypatch.setattr(settings, "DELIVERY_CLAIM_SECONDS", 1)
    link = SlowLink(sftp_server.port)
    destination = sftp_destination(acme, sftp_server, port=link.port)
    deliveries = deliveries_for(destination, place(retailer, 16))
    prepare = sftp_session_module.SftpSession.prepare_directory

    def prepare_then_slow(session):
        prepare(session)
        link.slow.set()

    monkeypatch.setattr(sftp_session_module.SftpSession, "prepare_directory", prepare_then_slow)
    try:
        results = SftpChannel().send_batch(deliveries)
    finally:
        link.close()
    failures = [r for r in results.values() if isinstance(r, DeliveryFailed)]
    sent = [r for r in results.values() if isinstance(r, SendResult)]
    assert failures, "every file was sent: the run went on past its lease"
    assert all(f.retryable and "time ran out" in str(f) for f in failures), failures
    landed = sorted(n for n in os.listdir(sftp_server.upload_root) if not n.startswith("."))
    assert len(landed) >= len(sent)  # each reported sent is there, whole (renamed into place)
