"""Bench only: the product's settings with the stack-only urlconf (intake_stack_urls.py)."""

from orders_portal.settings import *  # noqa: F403

ROOT_URLCONF = "intake_stack_urls"
