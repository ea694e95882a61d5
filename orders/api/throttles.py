"""Per-credential rate limits (429 with Retry-After), counted in the shared cache."""

from rest_framework.throttling import SimpleRateThrottle


class _CredentialThrottle(SimpleRateThrottle):
    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class RetailerKeyThrottle(_CredentialThrottle):
    scope = "retailer_key"


class SupplierTokenThrottle(_CredentialThrottle):
    scope = "supplier_token"
