"""Bearer-key authentication for the two APIs: retailer API keys and supplier tokens."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from orders.selectors import retailer_for_api_key
from suppliers.secrets import token_digest
from suppliers.selectors import api_token_authenticate
from suppliers.services import api_token_touch


def _bearer(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <key>'.")
    return value.strip()


class RetailerKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a retailer; request.auth is the Retailer."""

    def authenticate(self, request):
        key = _bearer(request)
        retailer = retailer_for_api_key(digest=token_digest(key))
        if retailer is None:
            raise exceptions.AuthenticationFailed("Invalid or inactive API key.")
        return (None, retailer)

    def authenticate_header(self, request):
        return 'Bearer realm="retailer"'


class SupplierTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a supplier API token; request.auth is the ApiToken (with its supplier)."""

    def authenticate(self, request):
        token = api_token_authenticate(plain=_bearer(request))
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        api_token_touch(token=token)
        return (None, token)

    def authenticate_header(self, request):
        return 'Bearer realm="supplier"'


class RetailerKeyScheme(OpenApiAuthenticationExtension):
    """Describes the retailer key in the OpenAPI document."""

    target_class = RetailerKeyAuthentication
    name = "retailerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}


class SupplierTokenScheme(OpenApiAuthenticationExtension):
    """Describes the supplier API token in the OpenAPI document."""

    target_class = SupplierTokenAuthentication
    name = "supplierToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
