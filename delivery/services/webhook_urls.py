"""A webhook's URL, as it may be saved: http(s), a host that can be one, and (unless
WEBHOOK_ALLOW_PRIVATE_NETWORKS) only public addresses, checked by the network guard's rules.
Used by the supplier's and the retailer's webhooks, the portal, the admin and the commands."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from ..netguard import (
    address_refused,
    host_name_possible,
    ip_literal,
    literal_refused,
    url_host_as_sent,
)
from ..resolve import ResolveTimeout, within_budget


def webhook_url_clean(url: str) -> str:
    """An http(s) URL with a host whose every address we may connect to.

    The host is resolved (getaddrinfo only: nothing is connected to, and within
    WEBHOOK_TIMEOUT_SECONDS) and refused when any of its addresses is refused by netguard,
    unless WEBHOOK_ALLOW_PRIVATE_NETWORKS. A name that does not resolve now, or not in that
    time, is accepted: DNS may come later, and netguard checks the address actually
    connected to on every send either way.
    """
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts = None
    sent_host = url_host_as_sent(url) if parts is not None else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or not host_name_possible(parts.hostname)
        or not sent_host
        or parts.username
        or parts.password
        or any(c.isspace() for c in url)
    ):
        raise ValidationError({"url": [f"'{url}' is not a valid http(s) URL."]})
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        host = parts.hostname
        # The name the client will look up (`faß.de` is `xn--fa-hia.de` to it, `fass.de`
        # to getaddrinfo's own encoding).
        refused = _address_refused_for(host=sent_host, port=port or 443)
        if refused is not None:
            shown = host if host == str(refused) else f"{host} ({refused})"
            raise ValidationError(
                {
                    "url": [
                        f"The URL's host {shown} is not a public internet address; "
                        "webhooks are only sent to public addresses."
                    ]
                }
            )
    return url


def _address_refused_for(*, host: str, port: int):
    """The first address of `host` netguard refuses; None also when it does not resolve.
    An address written out (`[::1%25lo]`) is judged as it is, zone and all, never looked up."""
    literal = ip_literal(host)
    if literal is not None:
        return literal if literal_refused(literal) else None
    try:
        # Within the send's deadline: getaddrinfo has none, and a name whose DNS never
        # answered held the settings page's POST (a web worker) for as long as the resolver
        # took (found in review). Past it, as a name that does not resolve now.
        infos = within_budget(
            lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM),
            seconds=float(settings.WEBHOOK_TIMEOUT_SECONDS),
            what=host,
        )
    except (ResolveTimeout, socket.gaierror, UnicodeError, ValueError):
        return None
    for info in infos:
        try:
            ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        except ValueError:
            continue
        if address_refused(ip):
            return ip
    return None


def webhook_url_checked(url: str) -> str:
    """The URL a webhook may be saved with (webhook_url_clean, and at most 2000 characters)."""
    url = webhook_url_clean(url)
    if len(url) > 2000:
        raise ValidationError({"url": ["The URL is longer than 2000 characters."]})
    return url
