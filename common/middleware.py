"""Refuse an admin request whose path, query or form fields hold a NUL character.

No text column can store NUL (PostgreSQL refuses it, and with it the whole query). The portal's
forms and the APIs refuse it field by field with their own messages (Django's form fields and
orders/inputs.py); the admin's search box and list filters are no form, so without this a NUL
in `?q=` would reach the database and answer 500.

Not widened to the portal: there a NUL is the form's error on its own page (ORDER HISTORY's
filters, the login and password-reset forms), and the few views that read a parameter without
a form check it with `common.text.text_problem`, answering 400 on their page with the field.
"""

from django.http import HttpResponseBadRequest

NUL = "\x00"
PREFIX = "/admin/"
# Parsed by the CSRF check of every POST anyway; file contents are not looked at.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _field_with_nul(querydict) -> str | None:
    for key, values in querydict.lists():
        if NUL in key or any(NUL in value for value in values if isinstance(value, str)):
            return key.replace(NUL, "\\0")
    return None


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(PREFIX):
            field = "path" if NUL in request.path else _field_with_nul(request.GET)
            if field is None and request.content_type in FORM_TYPES:
                field = _field_with_nul(request.POST)
            if field is not None:
                return HttpResponseBadRequest(
                    f"The field {field!r} holds a NUL character, which no field accepts.",
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)
