"""Small helpers shared by management commands: one-line errors, nothing half-written."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def validation_error_line(exc: ValidationError) -> str:
    """One line naming each field: 'order_emails: 'x' is not a valid email address.'"""
    if hasattr(exc, "error_dict"):
        parts = []
        for field, messages in exc.message_dict.items():
            text = " ".join(messages)
            parts.append(text if field == "__all__" else f"{field}: {text}")
        return "; ".join(parts)
    return " ".join(exc.messages)


def command_error(exc: ValidationError) -> CommandError:
    return CommandError(validation_error_line(exc))
