"""The APIs' JSON parser: DRF's, with a document nested too deeply being the client's error.

Python's json module raises RecursionError (not ValueError) for a document nested past the
interpreter's recursion limit, e.g. `[[[[...]]]]` a few thousand deep; DRF's parser catches
only ValueError, so such a body was a 500. It is a 400 naming the body.

`json_body` reads the common case, intake's plain `application/json` body, without DRF's
request parsing around the parser (parser selection, media type and charset parsing, a
decoding stream: several times the cost of decoding the document itself).
"""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant


def json_body(request):
    """`request.data` of a DRF request: a body sent as plain `application/json` decoded here,
    as DRF's parser would (UTF-8, NaN and Infinity refused when STRICT_JSON); any other
    content type, and any body this cannot decode, goes to `request.data`, so what DRF
    answers for it (415, a 400 naming the error) is unchanged."""
    django_request = request._request
    if django_request.META.get("CONTENT_TYPE") == "application/json":
        parse_constant = strict_constant if api_settings.STRICT_JSON else None
        try:
            return json.loads(django_request.body.decode("utf-8"), parse_constant=parse_constant)
        except (ValueError, RecursionError):
            pass  # DRF's own answer, below
    return request.data


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
