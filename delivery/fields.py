"""A text field stored encrypted at rest (Fernet), for SFTP passwords and keys and webhook secrets.

FIELD_ENCRYPTION_KEY may hold several comma-separated keys: the first encrypts, all decrypt,
so keys can be rotated.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY is not a valid Fernet key: {exc}")


def encrypt(value: str) -> str:
    return _PREFIX + _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(_PREFIX):
        raise ValueError("stored secret is not encrypted")
    try:
        return (
            _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(value[len(_PREFIX) :].encode()).decode()
        )
    except InvalidToken:
        raise ImproperlyConfigured("a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY")


class EncryptedTextField(models.TextField):
    """Holds plain text in Python and Fernet ciphertext in the database; empty stays empty."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
