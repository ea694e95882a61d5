"""Small helpers shared by management commands: one-line errors, nothing half-written.

`supplier_by_slug_or_error` takes the Supplier model through the app registry rather than an
import, so this app stays below every other one (it imports none of them) while the commands
of suppliers and delivery share one lookup and one wording of "no such supplier".
"""

from django.apps import apps
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


def supplier_by_slug_or_error(slug: str, *, field: str = "slug"):
    """The supplier with this slug, or a CommandError naming the option that gave it.

    `field` is the option's name in the error ("slug" for most commands, "supplier" for
    `redeliver --supplier`).
    """
    supplier = apps.get_model("suppliers", "Supplier").objects.filter(slug=slug).first()
    if supplier is None:
        raise CommandError(f"{field}: no supplier '{slug}'.")
    return supplier
