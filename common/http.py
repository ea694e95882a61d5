"""The client's address, as the one place that decides it (login lockout, password-reset limits).

Behind proxies REMOTE_ADDR is the nearest proxy's address, so every client would share it:
one attacker's failures would then lock everyone out. Each proxy appends the address it got
the request from to X-Forwarded-For, so with PROXY_COUNT proxies in front the client is the
PROXY_COUNT-th entry from the right; entries further left are whatever the client sent and
are never trusted. Without proxies (PROXY_COUNT 0) the header is ignored: anyone could set it.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def address_group(address: str) -> str:
    """Whose failures `address`'s are, for limits by address: the address itself, but for
    IPv6 its /64, which one client holds whole (a new address of it for each try is no new
    client); an IPv4-mapped address is its IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request) -> str:
    """The address the request came from, by the PROXY_COUNT setting ("" if none is known)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = getattr(settings, "PROXY_COUNT", 0)
    if count > 0:
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(hops) >= count:
            found = _address(hops[-count])
            if found is not None:
                return found
    # No proxy, or the header is not what our proxies write: the connection's own address.
    return _address(remote) or remote
