"""SFTP connections pass the same address check as webhooks (delivery.netguard).

"Fetch fingerprint", "Test connection" and every delivery resolve the host once and refuse
non-public addresses before connecting, unless private networks are allowed
(WEBHOOK_ALLOW_PRIVATE_NETWORKS); hosted destinations never connect (they are written
locally). Fetch and test are limited per supplier and bounded by a short timeout.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest
from django.core.cache import cache

from delivery.channels.base import DeliveryFailed
from delivery.channels.sftp import SftpChannel, SftpError, sftp_fetch_host_key
from delivery.channels.sftp import session as sftp_session_module
from delivery.models import Delivery
from delivery.services import destination_set_sftp
from delivery.tests.test_sftp import (
    PINNED_ELSEWHERE,
    deliveries_for,
    place,
    sftp_destination,
)
from testsupport.factories import make_supplier_user
from testsupport.sshd import sftp_server_fixture  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

REFUSED_HOSTS = ["127.0.0.1", "[::1]", "0x7f000001", "10.0.0.1", "169.254.169.254"]
REFUSED = "which is not a public address"


@pytest.fixture
def no_connect(monkeypatch):
    """Fail the test if the SFTP session connects anywhere, or if anything in this process
    connects to a non-loopback private address.

    Why a patch and not a real server: this sandbox must never send traffic to private ranges
    (10.0.0.0/8, 169.254.0.0/16 ...), not even in a test that expects the connection to be
    refused, because a bug in the guard would otherwise reach a real network. Loopback cases
    also get a real listening socket (see `loopback_listener`) that must see nothing."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(address):
        if isinstance(address, tuple):
            try:
                ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
            except ValueError:
                return
            if not ip.is_loopback:
                pytest.fail(f"a connection to {address} was attempted", pytrace=False)

    def connect(sock, address):
        check(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(address)
        return real_connect_ex(sock, address)

    def session_connect(family, sockaddr, timeout):
        pytest.fail(f"the SFTP session connected to {sockaddr}", pytrace=False)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(sftp_session_module, "tcp_connect", session_connect)


class Listener:
    """Listening sockets on 127.0.0.1 and ::1 (one port number); `touched()` says whether
    anything connected."""

    def __init__(self) -> None:
        self.v4 = socket.socket(socket.AF_INET)
        self.v4.bind(("127.0.0.1", 0))
        self.port = self.v4.getsockname()[1]
        self.v4.listen()
        self.v6 = None
        try:
            v6 = socket.socket(socket.AF_INET6)
            v6.bind(("::1", self.port))
            v6.listen()
            self.v6 = v6
        except OSError:  # no IPv6 loopback here: the patched connect still guards
            pass

    def touched(self) -> bool:
        for sock in (self.v4, self.v6):
            if sock is None:
                continue
            sock.setblocking(False)
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                continue
            conn.close()
            return True
        return False

    def close(self) -> None:
        for sock in (self.v4, self.v6):
            if sock is not None:
                sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def cole_client(client, cole):
    client.force_login(make_supplier_user(supplier=cole, username="cora"))
    cache.delete(f"sftp-probe:{cole.pk}")
    return client


def _refused_destination(supplier, host, port):
    return destination_set_sftp(
        supplier=supplier,
        host=host,
        port=port,
        username="u",
        password="pw",
        path="/in",
        host_key=PINNED_ELSEWHERE,
    )


# --- Refused before any connection -------------------------------------------------------


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_fetch_fingerprint_refuses_non_public_addresses(
    cole_client, cole, host, listener, no_connect
):
    response = cole_client.post(
        "/settings/sftp/",
        {"host": host, "port": listener.port, "file_format": "csv", "action": "fetch"},
    )
    assert response.status_code == 400
    assert REFUSED in response.content.decode()
    assert not listener.touched()


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_test_connection_refuses_non_public_addresses(
    cole_client, cole, host, listener, no_connect
):
    _refused_destination(cole, host, listener.port)
    response = cole_client.post("/settings/sftp/test/", follow=True)
    body = response.content.decode()
    assert "Connection test failed" in body and REFUSED in body
    assert not listener.touched()


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254"])
def test_a_delivery_to_a_refused_address_fails_without_connecting(
    cole, retailer, host, listener, no_connect, tasks_inline, django_capture_on_commit_callbacks
):
    from delivery import tasks

    destination = _refused_destination(cole, host, listener.port)
    with django_capture_on_commit_callbacks(execute=True):
        place(retailer, lines=[{"sku": "COLE-1", "quantity": 1}])
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sftp_run_due() == [destination.pk]
    row = Delivery.objects.get(channel="sftp")
    assert row.status == "pending" and REFUSED in row.last_error
    [attempt] = row.attempts.all()
    assert not attempt.success and REFUSED in attempt.error
    assert not listener.touched()


def test_every_address_of_a_name_is_checked(monkeypatch, no_connect):
    """A name with one public and one private address is refused (no picking the good one
    now and getting the other on a later resolution)."""

    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(SftpError, match="10.1.2.3, which is not a public address"):
        sftp_fetch_host_key(host="files.example", port=22)


def test_the_address_checked_is_the_address_connected_to(monkeypatch, settings, sftp_server):
    """The name is resolved once: the connection goes to the sockaddr that was checked."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    resolutions, connected = [], []
    real_getaddrinfo, real_connect = socket.getaddrinfo, sftp_session_module.tcp_connect

    def getaddrinfo(host, port, *args, **kwargs):
        resolutions.append(host)
        return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)

    def tcp_connect(family, sockaddr, timeout):
        connected.append(sockaddr)
        return real_connect(family, sockaddr, timeout)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(sftp_session_module, "tcp_connect", tcp_connect)
    key_type, _, _ = sftp_fetch_host_key(host="sftp.cole.example", port=sftp_server.port)
    assert key_type == sftp_server.host_key_line.split()[0]
    assert resolutions == ["sftp.cole.example"]
    assert connected == [("127.0.0.1", sftp_server.port)]


# --- Allowed when the setting says so; the hosted server is excepted ---------------------


def test_with_private_networks_allowed_fetch_and_test_work(
    cole_client, cole, sftp_server, settings
):
    form = {"host": "127.0.0.1", "port": sftp_server.port, "file_format": "csv", "action": "fetch"}
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    assert REFUSED in cole_client.post("/settings/sftp/", form).content.decode()

    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    response = cole_client.post("/settings/sftp/", form)
    assert response.status_code == 200
    assert sftp_server.host_key_fingerprint in response.content.decode()
    sftp_destination(cole, sftp_server)
    body = cole_client.post("/settings/sftp/test/", follow=True).content.decode()
    assert "the host key matches" in body and "is writable" in body


def test_an_own_server_on_a_loopback_address_is_refused(acme, retailer, sftp_server, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    # A supplier's own destination on 127.0.0.1 is refused (hosted ones never connect).
    own = sftp_destination(acme, sftp_server)
    [failure] = SftpChannel().send_batch(deliveries_for(own, place(retailer))).values()
    assert isinstance(failure, DeliveryFailed) and REFUSED in str(failure)


# --- Bounded and limited -----------------------------------------------------------------


def test_fetch_from_a_silent_server_ends_within_the_probe_timeout(cole_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.SFTP_PROBE_TIMEOUT_SECONDS = 1.0
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        response = cole_client.post(
            "/settings/sftp/",
            {
                "host": "127.0.0.1",
                "port": silent.getsockname()[1],
                "file_format": "csv",
                "action": "fetch",
            },
        )
    finally:
        thread.join(timeout=5)
        silent.close()
        for conn, _ in accepted:
            conn.close()
    assert time.monotonic() - started < 5
    assert response.status_code == 400
    assert "handshake" in response.content.decode()


def test_fetch_and_test_are_limited_per_supplier(cole_client, cole, settings, no_connect):
    settings.SFTP_PROBES_PER_MINUTE = 3
    form = {"host": "10.0.0.1", "port": 22, "file_format": "csv", "action": "fetch"}
    for _ in range(3):
        response = cole_client.post("/settings/sftp/", form)
        assert response.status_code == 400 and REFUSED in response.content.decode()
    response = cole_client.post("/settings/sftp/", form)
    assert response.status_code == 429
    body = response.content.decode()
    assert "At most 3 fingerprint fetches and connection tests a minute" in body
    assert REFUSED not in body  # not even resolved

    _refused_destination(cole, "10.0.0.1", 22)
    body = cole_client.post("/settings/sftp/test/", follow=True).content.decode()
    assert "Connection test not run: At most 3" in body
