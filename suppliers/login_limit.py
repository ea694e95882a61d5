"""Failed logins per client address, whatever the user name (the portal's and the admin's).

django-axes locks one user name from one address (AXES_LOCKOUT_PARAMETERS). Every login
checks a password, a slow hash, for a user name not on file as much as for one that is: a
client trying a new made-up name each time was never locked out, and kept the web workers
hashing (found in review). Past LOGIN_ADDRESS_FAILURE_LIMIT failures from one address (an
IPv6 client by its /64) within AXES_COOLOFF_TIME, that address's logins are refused before
any password is checked, with a page that says so (HTTP 429), until the window ends. A
login that succeeds does not clear the count: one's own login between guesses would.

Counted in the shared cache; while its server cannot be reached, not counted (axes still
limits each user name).
"""

from __future__ import annotations

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.shortcuts import render

from common.cache import outage_log, unavailable_errors
from common.http import address_group, client_address


def _key(request) -> str:
    group = address_group(client_address(request))
    return "login-fail-address:" + hashlib.sha256(group.encode()).hexdigest()[:32]


def _cache():
    return caches[DEFAULT_CACHE_ALIAS]  # the backend itself (the `cache` proxy is not one)


def login_address_locked(request) -> bool:
    cache = _cache()
    try:
        count = cache.get(_key(request))
    except unavailable_errors(cache) as exc:
        outage_log(exc)
        return False
    return (count or 0) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT


def login_address_failed(request) -> None:
    cache, key = _cache(), _key(request)
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    try:
        if not cache.add(key, 1, seconds):
            try:
                cache.incr(key)
            except ValueError:  # expired between the two calls
                cache.set(key, 1, seconds)
    except unavailable_errors(cache) as exc:
        outage_log(exc)


def _locked_page(request):
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(
        request,
        "registration/address_locked.html",
        {
            "address": client_address(request),
            "failure_limit": settings.LOGIN_ADDRESS_FAILURE_LIMIT,
            "cooloff_minutes": minutes,
        },
        status=429,
    )


def login_limited(view):
    """A login view whose POSTs are refused unchecked from an address past the limit, and
    whose failed POSTs (the form shown again, not a redirect) count toward it."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        if login_address_locked(request):
            return _locked_page(request)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not request.user.is_authenticated:
            login_address_failed(request)
        return response

    return limited
