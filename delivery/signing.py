"""Standard Webhooks secrets (https://www.standardwebhooks.com/): made, checked, decoded.

Messages are signed by the `standardwebhooks` library (delivery/channels/webhook.py).
"""

from __future__ import annotations

import base64
import binascii
import secrets

from django.core.exceptions import ValidationError

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def webhook_secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_`."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def webhook_secret_clean(*, value: str, field: str = "secret") -> str:
    value = (value or "").strip()
    if not value.startswith(SECRET_PREFIX):
        raise ValidationError({field: ["A webhook secret starts with whsec_."]})
    try:
        key = webhook_secret_key(value)
    except (binascii.Error, ValueError):
        raise ValidationError({field: ["The part after whsec_ must be base64."]})
    if len(key) < 16:
        raise ValidationError({field: ["The secret must hold at least 16 random bytes."]})
    return value
