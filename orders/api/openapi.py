"""OpenAPI pieces drf-spectacular cannot infer: the bearer schemes and the API's long texts."""

from django.conf import settings
from django.utils.functional import lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class _BearerScheme(OpenApiAuthenticationExtension):
    """Both APIs take a bearer key; only the scheme's name, class and text differ. With no
    target class this base matches nothing itself."""

    description = ""

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": self.description}


class SupplierTokenScheme(_BearerScheme):
    target_class = "orders.api.auth.SupplierTokenAuthentication"
    name = "supplierToken"
    description = (
        "A supplier API token (`sup_...`), from the portal's API tokens "
        "page or `manage.py create_api_token SLUG`. Revoked tokens fail at once with 401."
    )


class RetailerKeyScheme(_BearerScheme):
    target_class = "orders.api.auth.RetailerKeyAuthentication"
    name = "retailerKey"
    description = "A retailer API key (`rtl_...`), printed once by `manage.py create_retailer`."


def _list_description() -> str:
    settle = settings.SUPPLIER_API_SETTLE_SECONDS
    bound = settings.ORDERS_TRANSACTION_TIMEOUT_SECONDS
    return f"""\
Your orders created in the half-open window `[created_after, created_before)`, oldest first
(by `created_at`, then order number). Follow `next` until it is `null`.

**No gaps, no repeats.** An order is listed only once its `created_at` is at least
**{settle:g} seconds** (the settle time) in the past. Every order write commits within
{2 * bound:g} s of its timestamp or is rolled back and never appears (enforced by the app and
by the database), so by then no order with an earlier `created_at` can still appear. A window
whose end
is more than {settle:g} s in the past therefore never changes membership: a poller that walks
consecutive windows `[t0, t1)`, `[t1, t2)`, ... sees every order exactly once.

The `Settled-Before` response header says up to when this answer is complete: the window
actually served is `[created_after, min(created_before, Settled-Before))`. Start your next
window there. `created_before` is optional and defaults to `Settled-Before`. Every page of
one walk (following `next`) has the same `Settled-Before` and the same set of orders, even
while new orders arrive.

**Changes.** `updated_after` lists orders whose `updated_at` is in
`[updated_after, Settled-Before)` (status changes, cancellations, shipments), with the same
settle rule: pass the previous answer's `Settled-Before` as the next `updated_after` and no
change is missed. `created_after` is required unless `updated_after` is given.

Times are ISO 8601 with an offset (`Z` or `%2B01:00`; a bare `+` in a URL is a space).
Unknown or repeated parameters are refused with 400, naming the parameter."""


list_description = lazy(_list_description, str)()
