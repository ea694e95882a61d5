"""Failed hosted-SFTP logins, counted per user name and address in the cache.

The same limits as the portal's login (AXES_FAILURE_LIMIT failures, AXES_COOLOFF_TIME): past
the limit every try is refused without checking the credential, until the window ends.

Failed passwords are also counted per address, whatever the user name
(HOSTED_SFTP_ADDRESS_FAILURE_LIMIT in the same window; an IPv6 address by its /64): past it
that address's passwords are refused unchecked (its keys are still checked: they cost a
query, not a hash). Each password
check costs a slow hash in the server's one database thread, a name not on file as much as
one that is, so a client trying a new made-up user name each time was never stopped, and
kept that thread, which every login waits on, busy hashing (found in review). A completed
login does not clear this count: a supplier's own login between guesses would.

While the shared cache's server cannot be reached (Redis restarting), the failures are counted
in this process's own memory instead, so logins go on (before, every hosted SFTP login was
refused until Redis was back: bench/chaos.py's uploads failed for the whole outage) and a
guesser is still stopped after AXES_FAILURE_LIMIT tries against this server process.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache

from common.cache import outage_log, unavailable_errors
from common.http import address_group

_local = LocMemCache("hosted-sftp-logins", {"MAX_ENTRIES": 10_000})


def _counted(operation):
    """`operation(cache)` on the shared cache, or on this process's memory while it is down."""
    shared = caches[DEFAULT_CACHE_ALIAS]  # the backend itself (the `cache` proxy is not one)
    try:
        return operation(shared)
    except unavailable_errors(shared) as exc:
        outage_log(exc)
        return operation(_local)


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username}\0{address}".encode()).hexdigest()[:32]
    return f"hosted-sftp-fail:{digest}"


def _address_key(address: str) -> str:
    digest = hashlib.sha256(address_group(address).encode()).hexdigest()[:32]
    return f"hosted-sftp-fail-address:{digest}"


def login_locked(username: str, address: str) -> bool:
    count = _counted(lambda store: store.get(_key(username, address)))
    return (count or 0) >= settings.AXES_FAILURE_LIMIT


def login_address_locked(address: str) -> bool:
    """Whether this address's passwords are refused unchecked (any user name)."""
    count = _counted(lambda store: store.get(_address_key(address)))
    return (count or 0) >= settings.HOSTED_SFTP_ADDRESS_FAILURE_LIMIT


def _count_one(key: str) -> int:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())

    def count(store) -> int:
        if store.add(key, 1, seconds):
            return 1
        try:
            return store.incr(key)
        except ValueError:  # expired between the two calls
            store.set(key, 1, seconds)
            return 1

    return _counted(count)


def login_failed(username: str, address: str) -> int:
    """Count a failed password of `username` from `address`, and of the address; return the
    user and address's count. (A key not on file is no failure: server.py.)"""
    _count_one(_address_key(address))
    return _count_one(_key(username, address))


def login_succeeded(username: str, address: str) -> None:
    _counted(lambda store: store.delete(_key(username, address)))
