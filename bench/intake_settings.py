"""Bench only: the product's settings with the bare baseline urlconf. Never used by the product."""

from orders_portal.settings import *  # noqa: F403

ROOT_URLCONF = "intake_urls"
