"""Which email addresses we send to: internet ones only.

Django's validator takes an address at an IP literal (po@[10.0.0.5]) or at localhost; our
mail relay would then hand the message (orders with their customers' details, a retailer's
cancellations and summaries) to a host of its own network chosen by whoever set the address,
where webhooks and SFTP are refused such addresses (found in review).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError


def internet_address_refusal(address: str) -> str:
    """Why `address` (valid by Django's validator) is not one we send to; "" when it is."""
    domain = address.rsplit("@", 1)[-1]
    if domain.startswith("[") or domain.lower().rstrip(".") == "localhost":
        return (
            f"'{address}' is not an internet mail address: give a domain name, "
            "not an IP address or localhost."
        )
    return ""


def validate_internet_email(value: str) -> None:
    """A model field's validator: `internet_address_refusal` as a ValidationError."""
    refusal = internet_address_refusal(value or "")
    if refusal:
        raise ValidationError(refusal, code="internal_address")
