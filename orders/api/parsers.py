"""The APIs' JSON parser: DRF's, with a document nested too deeply being the client's error.

Python's json module raises RecursionError (not ValueError) for a document nested past the
interpreter's recursion limit, e.g. `[[[[...]]]]` a few thousand deep; DRF's parser catches
only ValueError, so such a body was a 500. It is a 400 naming the body.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
