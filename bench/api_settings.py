"""Settings for bench/api.py only: the product's settings plus a bench urlconf (bare view)."""

from orders_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
