"""An SFTP connection's name lookup is part of its connect timeout.

getaddrinfo takes no timeout: a slow resolver held the settings page's "Fetch fingerprint"
(a web request) and a delivery run for as long as it took, then connected. The slow
resolver is `socket.getaddrinfo` replaced for one made-up name (testsupport/slow_dns.py says
why no real DNS server can stand in); the server it would name is a real listening socket on
127.0.0.1, which must see no connection.
"""

from __future__ import annotations

import socket
import time

import pytest

from delivery.channels.sftp.checks import sftp_fetch_host_key
from delivery.channels.sftp.errors import SftpError
from testsupport.slow_dns import SLOW_NAME
from testsupport.slow_dns import slow_resolver as slow_resolver  # noqa: F401  (the fixture)


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def connections_to(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_a_slow_lookup_ends_fetch_fingerprint_at_its_timeout_and_connects_nowhere(
    slow_resolver, listener, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the one guard setting; 127.0.0.1 here
    settings.SFTP_PROBE_TIMEOUT_SECONDS = 0.5
    resolver = slow_resolver("127.0.0.1")
    started = time.monotonic()
    with pytest.raises(SftpError) as caught:
        sftp_fetch_host_key(host=SLOW_NAME, port=listener.getsockname()[1])
    took = time.monotonic() - started
    assert resolver.asked.is_set()
    assert caught.value.kind == "connect"
    assert f"Timed out looking up {SLOW_NAME}" in caught.value.message
    assert took < 2.5, took
    resolver.release.set()  # the late answer goes nowhere
    assert connections_to(listener) == 0


def test_a_name_that_resolves_in_time_still_connects(slow_resolver, listener, settings):
    """The bound is on the lookup only: a prompt answer connects as before (the listener
    speaks no SSH, so the handshake then fails, after the connection was made)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.SFTP_PROBE_TIMEOUT_SECONDS = 1.0
    resolver = slow_resolver("127.0.0.1")
    resolver.release.set()  # answers at once
    with pytest.raises(SftpError) as caught:
        sftp_fetch_host_key(host=SLOW_NAME, port=listener.getsockname()[1])
    assert "Timed out looking up" not in caught.value.message
    assert connections_to(listener) == 1
