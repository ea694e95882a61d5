"""Failed hosted-SFTP logins, counted per user name and address in the cache.

The same limits as the portal's login (AXES_FAILURE_LIMIT failures, AXES_COOLOFF_TIME): past
the limit every try is refused without checking the credential, until the window ends.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username}\0{address}".encode()).hexdigest()[:32]
    return f"hosted-sftp-fail:{digest}"


def login_locked(username: str, address: str) -> bool:
    return (cache.get(_key(username, address)) or 0) >= settings.AXES_FAILURE_LIMIT


def login_failed(username: str, address: str) -> int:
    key = _key(username, address)
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if cache.add(key, 1, seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, seconds)
        return 1


def login_succeeded(username: str, address: str) -> None:
    cache.delete(_key(username, address))
