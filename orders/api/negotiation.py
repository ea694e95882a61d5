"""Content negotiation for JSON-only APIs: the one parser and renderer, whatever is asked.

The two APIs (orders/api/views.py) speak JSON alone (settings: JSONRenderer, JSONParser),
so weighing the client's Accept header against one renderer decides nothing but whether to
answer 406; like Stripe's and Shopify's APIs, these answer JSON instead. The body parser
still refuses a non-JSON Content-Type (415) when the view reads `request.data`. DRF
documents this class's shape.
"""

from rest_framework.negotiation import BaseContentNegotiation


class JSONOnlyContentNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        for parser in parsers:
            if request.content_type.split(";")[0].strip() == parser.media_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
