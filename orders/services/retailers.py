"""Retailers: created with an API key stored only as a digest."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import IntegrityError, transaction

from suppliers.secrets import token_digest, token_generate

from ..models import Retailer


def retailer_create(
    *, slug: str, name: str, email: str, commission_rate: Decimal = Decimal("0.10")
) -> tuple[Retailer, str]:
    """Create a retailer; return it and its API key, which is stored only as a digest."""
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValidationError({"slug": ["Use letters, numbers, hyphens and underscores."]})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [f"'{email}' is not a valid email address."]})
    if not (Decimal("0") <= commission_rate <= Decimal("1")):
        raise ValidationError({"commission_rate": ["Give a rate between 0 and 1, e.g. 0.10."]})
    taken = ValidationError({"slug": [f"A retailer '{slug}' already exists."]})
    if Retailer.objects.filter(slug=slug).exists():
        raise taken
    key = token_generate(prefix="rtl")
    retailer = Retailer(
        slug=slug,
        name=name.strip(),
        email=email,
        commission_rate=commission_rate,
        api_key_prefix=key[:12],
        api_key_hash=token_digest(key),
    )
    retailer.full_clean()
    try:
        with transaction.atomic():
            retailer.save()
    except IntegrityError:  # made by another run between the check and this insert
        raise taken from None
    return retailer, key
