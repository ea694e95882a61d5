"""The one way a portal form shows a service's ValidationError.

Services validate (conventions: no business rule in a form), so a page learns what was wrong
from the service's `ValidationError({key: [messages]})` after the form itself was valid. The
keys are the service's argument names; a form maps the ones that differ from its own field
names, and anything it has no field for is shown on the form as a whole.
"""

from __future__ import annotations


class ServiceErrorsMixin:
    """For a Django form: `add_service_errors(exc.message_dict)` puts each message on the
    matching field (service key -> `service_fields.get(key, key)`), or on the form."""

    # Service error key -> form field name; None shows that key's messages on the form.
    service_fields: dict[str, str | None] = {}

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            name = self.service_fields.get(key, key)
            target = name if name is not None and name in self.fields else None
            for message in messages:
                self.add_error(target, message)
