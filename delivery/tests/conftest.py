"""Fixtures shared by the delivery tests."""

import socket

import pytest

from suppliers.services import supplier_create
from testsupport.factories import make_products


@pytest.fixture
def cole(db):
    """A supplier onboarded as ops would (email channel on), with one product, COLE-1."""
    supplier = supplier_create(slug="cole", name="Cole Candles", order_emails="po@cole.example")
    make_products(supplier=supplier, skus={"COLE-1": "12.00"})
    return supplier


@pytest.fixture(autouse=True)
def update_files_settle_at_once(settings):
    """Update files on a supplier's own server are taken as soon as they are listed: these
    tests drop a file and run at once, with no upload going on. The settle (a file changed
    within SFTP_UPDATE_SETTLE_SECONDS is left for the next run) has its own test, which sets
    it (test_sftp_updates_own_server.py), and the chaos soak runs with it."""
    settings.SFTP_UPDATE_SETTLE_SECONDS = 0


@pytest.fixture(autouse=True)
def names_resolve_on_this_machine_only(monkeypatch):
    """No test sends a packet off this machine, DNS included (this machine's resolver is on a
    private address). Saving a webhook resolves its host, so here a name other than localhost
    does not resolve (as an unknown name would not); literal addresses in every form
    getaddrinfo takes (127.1, 0x7f000001, ::1) and localhost resolve as usual, without DNS.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
        name = (host.decode() if isinstance(host, bytes) else host or "").lower().rstrip(".")
        if not name or name == "localhost" or name.endswith(".localhost"):
            return real(host, port, family, type, proto, flags)
        try:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def no_connections(monkeypatch):
    """Fails the test if anything opens a connection: checking an address must only resolve."""

    def refuse(self, address, *args, **kwargs):
        pytest.fail(f"a connection to {address!r} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def connections_to_loopback_only(monkeypatch):
    """Fails the test if anything connects beyond 127.0.0.1/::1 (a refusal must come first)."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1"):
            pytest.fail(f"a connection to {address!r} was attempted")

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
