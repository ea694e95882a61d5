"""While the database is down, a portal page answers 503 with a plain page and Retry-After,
never a 500 (the APIs do the same in orders/api/errors.py; found by bench/chaos.py).

Two places catch the database's errors (`OperationalError`, `InterfaceError`):
- `DatabaseOutageMiddleware.process_exception`: raised by a view or while its template
  renders (the common case: the session's user, the page's queries);
- `server_error` (the project's handler500): raised anywhere else, e.g. in a middleware
  (saving the session). With DEBUG on, Django shows its debug page there instead.

The page needs nothing the outage took away: no base template, no context processors, no
request user, no database.
"""

from __future__ import annotations

import json
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_SECONDS = 5
# The page's own policy, set on the page itself: the project's (style-src 'self') blocked
# the page's inline style, so it showed unstyled, and a 503 that handler500 makes for an
# error in a middleware outer to the CSP middleware would not pass that middleware at all.
# The page loads nothing, runs nothing and posts nothing.
OUTAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
DATABASE_ERRORS = (OperationalError, InterfaceError)
# The APIs' answer, from DRF's exception handler (orders/api/errors.py) or from here.
API_MESSAGE = (
    "The database cannot be reached just now. Send the same request again in a few seconds "
    "(with the same reference or Idempotency-Key it is applied once)."
)


def database_unavailable(request=None) -> HttpResponse:
    """The 503: a plain page (HTML, or JSON for the APIs) and Retry-After."""
    if request is not None and request.path.startswith("/api/"):
        # The APIs' error shape (orders/api/errors.py answers the same from inside DRF).
        body = {"errors": {"detail": [API_MESSAGE]}}
        response = HttpResponse(json.dumps(body), content_type="application/json", status=503)
    else:
        response = HttpResponse(
            loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS}),
            status=503,
        )
        response["Content-Security-Policy"] = OUTAGE_CSP  # the CSP middleware keeps it
        response["X-Frame-Options"] = "DENY"
    response["X-Content-Type-Options"] = "nosniff"
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request)
        return None


def server_error(request, template_name="500.html") -> HttpResponse:
    """handler500: the 503 when the uncaught error is the database's, else Django's 500."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable(request)
    try:
        return django_server_error(request, template_name=template_name)
    except Exception:  # noqa: BLE001 - the 500 page itself must not fail
        return HttpResponseServerError("Server error", content_type="text/plain")
