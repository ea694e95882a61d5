"""The one outgoing HTTP client: no redirects, timeouts, capped reads, no private addresses.

Built on requests-hardened, which resolves the name once, checks the address and connects to
that same address (no DNS-rebinding gap). Its filter misses some ranges (IPv4-compatible
IPv6, Teredo, reserved, anything not globally routable); `address_refused` adds them and runs
on the address actually connected to.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import threading
import time
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError
from urllib3.util.connection import allowed_gai_family

from .resolve import ResolveTimeout, within_budget

# Ranges refused on top of "not globally routable" (Python's is_global is False for loopback,
# private, link-local, CGNAT, unspecified, reserved, documentation and benchmarking ranges).
EXTRA_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # cloud metadata (also link-local)
        "100.64.0.0/10",  # CGNAT
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.0.0.0/24",  # IETF protocol assignments
        "::/96",  # IPv4-compatible IPv6 (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped IPv6 (checked as IPv4 too)
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
        "2001:20::/28",  # ORCHIDv2
        "5f00::/16",  # segment routing
        "3fff::/20",  # documentation
        # Site-local (deprecated by RFC 3879, still routed inside some networks): IPv6's
        # first private range, which is_global calls global (found in review).
        "fec0::/10",
    )
)


def private_networks_allowed() -> bool:
    """Whether outgoing connections (webhooks and SFTP alike) may go to non-public addresses.

    One setting for both channels; its name is the webhook's, kept so existing deployments
    keep their behaviour (README's configuration table)."""
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)


class AddressRefused(requests.RequestException):
    """The webhook address is not on the public internet."""


def address_refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when we must not connect to this address (private networks not allowed)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return True
    if ip.version == 6 and ip.sixtofour is not None:
        return True
    if ip.version == 6 and ip.teredo is not None:
        return True
    if (
        not ip.is_global
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
    ):
        return True
    return any(ip in net for net in EXTRA_REFUSED if net.version == ip.version)


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host spells out (`[fe80::1%25eth0]` as urlsplit gives it, its
    zone percent-encoded, or `fe80::1%eth0`), or None for a name; other forms of a number
    (`2130706433`, `127.1`) are names here, which the resolver reads."""
    try:
        return ipaddress.ip_address(unquote(host or "").strip("[]"))
    except ValueError:
        return None


def literal_refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """`address_refused`, and any address with a zone (`%eth0`, `%25lo` in a URL): a zone
    names a network interface of this machine, so the address is on one of its links. Such a
    literal is never looked up (the resolver refused `::1%25lo`, and the URL was saved and
    retried for three days as a lookup failure: found in review)."""
    return bool(getattr(ip, "scope_id", None)) or address_refused(ip)


_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.IGNORECASE)


def host_name_possible(host: str) -> bool:
    """Whether `host` is an IP literal or a name DNS could ever hold: labels of 1 to 63
    letters, digits, hyphens (underscores too, which some real names carry), 253 in all,
    after IDNA. A name that does not resolve yet is possible; `a..example`, a 64-letter
    label or `%00` never are (found in review: such a webhook was saved, turned on, and
    every order to it failed)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    name = name[:-1] if name.endswith(".") else name
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def url_host_as_sent(url: str) -> str | None:
    """The host this client would look up and connect to for `url` (requests encodes a
    name by IDNA 2008, where Python's codec, which `host_name_possible` and getaddrinfo use,
    is IDNA 2003), or None when the client refuses the URL outright. A name such as
    `☃.net` passed every other check, was saved, and every order to it failed with
    InvalidURL for three days (found in review)."""
    try:
        prepared = requests.Request("POST", url).prepare()
    except (requests.RequestException, ValueError):  # UnicodeError is a ValueError
        return None
    return urlsplit(prepared.url).hostname


# When the request this thread is sending began (DeadlineAdapter.send): the name's lookup,
# the connect and the answer all come out of one WEBHOOK_TIMEOUT_SECONDS from then.
_attempt = threading.local()


def _attempt_started() -> float:
    started = getattr(_attempt, "started", None)
    return time.monotonic() if started is None else started


def _budget_left(started: float) -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS) - (time.monotonic() - started)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class _DeadlineConnection:
    """A connection whose exchange ends `WEBHOOK_TIMEOUT_SECONDS` after its request began
    (the channel's `row_timeout_seconds`, which the batch leases count on), the name's lookup
    and the connect included.

    requests' timeouts bound each read, not the answer: a receiver that sent a header line
    (or a byte of its body) every few seconds held the worker, or the web request of "Send a
    test event", for as long as it liked (found in review). At the deadline the socket is
    shut down (through a duplicate, which TLS wrapping leaves open), so the read in progress
    ends; an answer whose status and headers had not all come by then is a timeout.
    """

    _deadline_timer: threading.Timer | None = None
    _deadline_socket: socket.socket | None = None
    _deadline_passed = False

    _deadline_fresh = False

    def _new_conn(self):
        started = _attempt_started()
        host, connect_timeout = self._dns_host, self.timeout
        if not _is_ip_literal(host):
            # Private networks allowed: urllib3 would look the name up itself, unbounded.
            # (Otherwise the adapter pinned the address already: StrictIPFilterAdapter.)
            try:
                infos = within_budget(
                    lambda: socket.getaddrinfo(
                        host, self.port, allowed_gai_family(), socket.SOCK_STREAM
                    ),
                    seconds=_budget_left(started),
                    what=host,
                )
            except ResolveTimeout as exc:
                raise ConnectTimeoutError(self, str(exc)) from None
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc
            self._dns_host = infos[0][4][0]
        if isinstance(connect_timeout, (int, float)):
            self.timeout = max(min(connect_timeout, _budget_left(started)), 0.001)
        try:
            sock = super()._new_conn()
        finally:
            self._dns_host, self.timeout = host, connect_timeout
        self._deadline_stop()
        self._deadline_lock = threading.Lock()  # the duplicate is never shut once closed
        self._deadline_socket = sock.dup()
        self._deadline_arm(started)
        self._deadline_fresh = True  # armed for the request it is made for
        return sock

    def _deadline_arm(self, started: float) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
        self._deadline_passed = False
        left = float(settings.WEBHOOK_TIMEOUT_SECONDS) - (time.monotonic() - started)
        timer = threading.Timer(max(left, 0.0), self._deadline_expire)
        timer.daemon = True
        timer.start()
        self._deadline_timer = timer

    def request(self, *args, **kwargs):
        """Each request on a kept-alive connection has its own whole deadline, from now: the
        connection's first one cut the later requests sent on it (http_session_shared keeps
        connections between deliveries), a webhook answered in time counted as timed out."""
        # A connection made for this request (before it, for TLS; within it, for plain HTTP)
        # was armed as it began to connect.
        if self.sock is not None and not self._deadline_fresh and self._deadline_socket:
            self._deadline_arm(_attempt_started())
        try:
            return super().request(*args, **kwargs)
        finally:
            self._deadline_fresh = False

    def _deadline_expire(self) -> None:
        with self._deadline_lock:
            if self._deadline_socket is None:
                return
            self._deadline_passed = True
            try:
                self._deadline_socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _deadline_stop(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        if self._deadline_socket is not None:
            with self._deadline_lock:
                self._deadline_socket.close()
                self._deadline_socket = None

    def getresponse(self):
        try:
            response = super().getresponse()
        except (OSError, http.client.HTTPException):
            if self._deadline_passed:
                raise TimeoutError("the answer did not come in time") from None
            raise
        if self._deadline_passed:
            response.close()
            raise TimeoutError("the answer did not come in time")
        return response

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._deadline_stop()


class _DeadlineHTTPConnection(_DeadlineConnection, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections that end at their deadline (_DeadlineConnection)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPConnectionPool,
            "https": _DeadlineHTTPSConnectionPool,
        }

    def send(self, request, *args, **kwargs):
        """Mark when this request began: its deadline counts from here."""
        _attempt.started = time.monotonic()
        try:
            return super().send(request, *args, **kwargs)
        finally:
            _attempt.started = None


class StrictIPFilterAdapter(DeadlineAdapter, IPFilterAdapter):
    """requests-hardened's adapter, with our stricter check on the pinned address."""

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        literal = ip_literal(urlsplit(request.url).hostname or "")
        if literal is not None and literal_refused(literal):
            raise AddressRefused(f"address {literal} is not public; refused")
        # requests-hardened resolves the name here (to pin the address), before any
        # connection exists: bounded by what is left of this request's deadline.
        try:
            host_params, pool_kwargs = within_budget(
                lambda: super(StrictIPFilterAdapter, self).build_connection_pool_key_attributes(
                    request, verify, cert
                ),
                seconds=_budget_left(_attempt_started()),
                what=urlsplit(request.url).hostname or "the host",
            )
        except ResolveTimeout as exc:
            raise requests.exceptions.ConnectTimeout(str(exc), request=request) from None
        except InvalidIPAddress as exc:
            raise AddressRefused(f"address {exc} is not public; refused") from None
        ip = ipaddress.ip_address(host_params["host"].strip("[]"))
        if address_refused(ip):
            raise AddressRefused(f"address {ip} is not public; refused")
        return host_params, pool_kwargs


def http_session() -> requests.Session:
    """A session for one delivery or one batch; settings are read now, not at import."""
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    allow_private = private_networks_allowed()
    session = HTTPSession(
        Config(
            ip_filter_enable=False,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(timeout, timeout),
            user_agent_override="orders-portal-webhooks/1",
        )
    )
    # No proxies from the environment: the address check must see the real destination
    # (and reading the environment on every request costs more than the request).
    session.trust_env = False
    # No cookies, kept or sent: one session carries every supplier's and retailer's webhooks
    # (http_session_shared), so a cookie one receiver set would go out with another's orders.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    if allow_private:
        session.mount("http://", DeadlineAdapter())
        session.mount("https://", DeadlineAdapter())
    else:
        session.mount("http://", StrictIPFilterAdapter(is_https_proto=False))
        session.mount("https://", StrictIPFilterAdapter(is_https_proto=True))
    return session


_local = threading.local()


def http_session_shared() -> requests.Session:
    """This thread's session, kept between deliveries so connections are reused (keep-alive).

    Made again when the settings it was made from change.
    """
    key = (settings.WEBHOOK_TIMEOUT_SECONDS, settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)
    cached = getattr(_local, "session", None)
    if cached is None or cached[0] != key:
        if cached is not None:
            cached[1].close()
        cached = (key, http_session())
        _local.session = cached
    return cached[1]
