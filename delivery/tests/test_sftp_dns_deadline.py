"""An SFTP connection's name lookup is part of its connect timeout.

getaddrinfo takes no timeout: a slow resolver held the settings page's "Fetch fingerprint"
(a web request) and a delivery run for as long as it took, then connected. The slow
resolver is `socket.getaddrinfo` replaced for one made-up name (testsupport/slow_dns.py says
why no real DNS server can stand in); the server it would name is a real listening socket on
127.0.0.1, which must see no connection.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from delivery.channels.sftp.checks import sftp_fetch_host_key
from delivery.channels.sftp.errors import SftpError
from delivery.resolve import RESOLVE_THREADS_MAX
from testsupport.slow_dns import SLOW_NAME
from testsupport.slow_dns import slow_resolver as slow_resolver  # noqa: F401  (the fixture)
from testsupport.waiting import wait_until


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


def _lookups_waiting() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "netguard-resolve")


def test_a_hung_resolver_holds_a_few_threads_and_later_lookups_time_out_at_once(
    slow_resolver, listener, settings
):
    """Each lookup past its budget left its thread waiting on the resolver: under an outage
    every run or probe made one more. Now at most RESOLVE_THREADS_MAX wait; the lookups
    after them fail at once with the same timeout, and start no thread."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.SFTP_PROBE_TIMEOUT_SECONDS = 0.1
    wait_until(lambda: _lookups_waiting() == 0, message="an earlier lookup still waits")
    before = threading.active_count()
    resolver = slow_resolver("127.0.0.1")  # hung: answers only when released
    port = listener.getsockname()[1]
    for attempt in range(3 * RESOLVE_THREADS_MAX):
        if attempt == RESOLVE_THREADS_MAX:
            settings.SFTP_PROBE_TIMEOUT_SECONDS = 5.0  # a lookup that waited would show
        started = time.monotonic()
        with pytest.raises(SftpError) as caught:
            sftp_fetch_host_key(host=SLOW_NAME, port=port)
        took = time.monotonic() - started
        assert caught.value.kind == "connect"
        assert f"Timed out looking up {SLOW_NAME}" in caught.value.message
        assert threading.active_count() - before <= RESOLVE_THREADS_MAX
        if attempt >= RESOLVE_THREADS_MAX:
            assert took < 1.0, took  # at once, not after its 5 s
    assert _lookups_waiting() == RESOLVE_THREADS_MAX
    assert connections_to(listener) == 0

    resolver.release.set()  # the resolver is back: the waiting lookups end, lookups work
    wait_until(lambda: _lookups_waiting() == 0, message="the hung lookups did not end")
    assert threading.active_count() <= before
    settings.SFTP_PROBE_TIMEOUT_SECONDS = 0.5
    with pytest.raises(SftpError) as caught:  # the listener speaks no SSH
        sftp_fetch_host_key(host=SLOW_NAME, port=port)
    assert "Timed out looking up" not in caught.value.message
    assert connections_to(listener) == 1
