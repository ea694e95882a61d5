"""Bench-only urlconf: the product's URLs plus a bare JSON view returning fixed bytes.

The bare view is the baseline for requests/s: the same Django stack and the same response
bytes as an API page, without authentication, queries or serialization.
"""

import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

from orders_portal.urls import urlpatterns as product_urlpatterns

_body: bytes | None = None


def bare(request):
    global _body
    if _body is None:
        _body = Path(os.environ["BENCH_API_BARE_FILE"]).read_bytes()
    return HttpResponse(_body, content_type="application/json")


urlpatterns = [path("bench/bare", bare), *product_urlpatterns]
