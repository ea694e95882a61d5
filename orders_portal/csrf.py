"""The page a refused form gets (CSRF_FAILURE_VIEW): what happened and what to do, in the
portal's layout, where Django's own page spoke of "CSRF verification" and, without DEBUG,
gave no hint.

The common case in a new deployment: the portal opened over plain http while production's
cookies travel over https only (SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE). The browser keeps
no cookie, so every form (signing in first) is refused, which looked like a broken login.
The page says so and links the same address over https.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.shortcuts import render


def csrf_failure(request, reason: str = ""):
    plain_http = settings.CSRF_COOKIE_SECURE and not request.is_secure()
    https_url = None
    if plain_http:
        try:
            host = request.get_host()
        except Exception:  # noqa: BLE001 - a host Django refuses: the page still answers
            host = None
        if host is not None:
            # The page the form was on (its Referer, on this host), which a GET opens; the
            # refused POST's own address may take POST only.
            referer = urlsplit(request.META.get("HTTP_REFERER", ""))
            page = request.get_full_path()
            if referer.netloc == host and referer.path.startswith("/"):
                page = referer.path + (f"?{referer.query}" if referer.query else "")
            https_url = f"https://{host}{page}"
    return render(
        request,
        "403_csrf.html",
        {
            "plain_http": plain_http,
            "https_url": https_url,
            "reason": reason if settings.DEBUG else "",
        },
        status=403,
    )
