"""A slow resolver for one made-up name: `socket.getaddrinfo` replaced in-process.

getaddrinfo asks the system resolver of /etc/resolv.conf (and nsswitch), which a test cannot
point at a DNS server of its own on 127.0.0.1 without root, so a real slow DNS server cannot
be put in its path. The stand-in blocks on an event (no sleep) far longer than any deadline
under test, then answers; every other name goes to the real resolver.
"""

from __future__ import annotations

import socket
import threading

import pytest

SLOW_NAME = "slow-dns.example"


class SlowResolver:
    """getaddrinfo that holds SLOW_NAME for `hold` seconds (or until released), then says
    it is `address`."""

    def __init__(self, *, address: str, hold: float = 8.0):
        self.address, self.hold = address, hold
        self.release = threading.Event()
        self.asked = threading.Event()
        self.real = socket.getaddrinfo

    def __call__(self, host, port, *args, **kwargs):
        if host != SLOW_NAME:
            return self.real(host, port, *args, **kwargs)
        self.asked.set()
        self.release.wait(self.hold)
        return self.real(self.address, port, *args, **kwargs)


@pytest.fixture
def slow_resolver(monkeypatch):
    """`slow_resolver("127.0.0.1")` installs one; every one is released at the test's end."""
    resolvers = []

    def install(address: str) -> SlowResolver:
        resolver = SlowResolver(address=address)
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        resolvers.append(resolver)
        return resolver

    yield install
    for resolver in resolvers:
        resolver.release.set()
