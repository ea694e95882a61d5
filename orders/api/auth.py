"""Bearer-key authentication for the two APIs: retailer API keys and supplier tokens."""

from rest_framework import authentication, exceptions

from orders import retailer_memory
from orders.selectors import retailer_for_api_key
from suppliers import token_memory
from suppliers.secrets import token_digest
from suppliers.selectors import api_token_authenticate
from suppliers.services import api_token_touch

from .throttles import RetailerKeyThrottle, SupplierTokenThrottle


def _bearer(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <key>'.")
    return value.strip()


class RetailerKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates a retailer; request.auth is the Retailer.

    As for supplier tokens: a key this process read recently is taken from its memory when
    the epoch that came back with the rate-limit count says no retailer changed since
    (orders/retailer_memory.py); otherwise the retailer is read from the database.
    """

    def authenticate(self, request):
        digest = token_digest(_bearer(request))
        epoch = None
        if retailer_memory.enabled():
            remembered = retailer_memory.recall(digest)
            if remembered is not None:
                epoch = RetailerKeyThrottle.count_with_epoch(
                    request, ident=remembered.retailer_id, epoch_key=retailer_memory.EPOCH_KEY
                )
                if epoch == remembered.epoch:
                    return (None, remembered.retailer())
                retailer_memory.forget_all()  # something changed: read it again
            if epoch is None:
                epoch = retailer_memory.epoch_current()
        retailer = retailer_for_api_key(digest=digest)
        if retailer is None:
            raise exceptions.AuthenticationFailed("Invalid or inactive API key.")
        if epoch is not None:
            retailer_memory.remember(digest, retailer, epoch=epoch)
        return (None, retailer)

    def authenticate_header(self, request):
        return 'Bearer realm="retailer"'


class SupplierTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a supplier API token; request.auth is the ApiToken (with its supplier).

    A token this process read recently is taken from its memory when the shared epoch says
    nothing changed since (suppliers/token_memory.py); the epoch comes back from the same
    Redis call that counts the request in the token's rate window, which the throttle then
    uses (api/throttles.py). Otherwise the token is read from the database.
    """

    def authenticate(self, request):
        digest = token_digest(_bearer(request))
        epoch = None
        if token_memory.enabled():
            remembered = token_memory.recall(digest)
            if remembered is not None:
                epoch = SupplierTokenThrottle.count_with_epoch(
                    request, ident=remembered.token_id, epoch_key=token_memory.EPOCH_KEY
                )
                if epoch == remembered.epoch:
                    token = remembered.token()
                    self._touch(token, remembered=remembered)
                    return (None, token)
                token_memory.forget_all()  # something changed: read it again
            if epoch is None:
                epoch = token_memory.epoch_current()
        token = api_token_authenticate(digest=digest)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        remembered = None
        if epoch is not None:
            remembered = token_memory.remember(digest, token, epoch=epoch)
        self._touch(token, remembered=remembered)
        return (None, token)

    @staticmethod
    def _touch(token, *, remembered) -> None:
        api_token_touch(token=token)
        if remembered is not None:
            remembered.last_used_at = token.last_used_at

    def authenticate_header(self, request):
        return 'Bearer realm="supplier"'
