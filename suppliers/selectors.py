"""Reads about suppliers."""

from __future__ import annotations

from .models import ApiToken, Product, Supplier, SupplierMembership
from .secrets import token_digest


def supplier_get_by_slug(*, slug: str) -> Supplier | None:
    return Supplier.objects.filter(slug=slug).first()


def supplier_for_user(*, user) -> Supplier | None:
    """The supplier a portal user belongs to, or None.

    No query when the membership came with the user (suppliers.backends.PortalModelBackend,
    which serves the portal's requests); else one.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    if SupplierMembership.user.field.remote_field.is_cached(user):
        membership = getattr(user, "supplier_membership", None)
        return membership.supplier if membership is not None else None
    return Supplier.objects.filter(memberships__user_id=user.pk).first()


def products_by_sku(*, skus: list[str]) -> dict[str, Product]:
    return {
        p.sku: p
        for p in Product.objects.select_related("supplier").filter(
            sku__in=set(skus), is_active=True
        )
    }


# One fixed statement: every supplier API request runs it, and building it through the
# ORM (select_related, two model instances) cost about three times the query itself.
_TOKEN_SQL = (
    "SELECT t.id, t.supplier_id, t.last_used_at, s.slug AS _supplier_slug, "
    "s.is_active AS _supplier_active "
    f"FROM {ApiToken._meta.db_table} t JOIN {Supplier._meta.db_table} s ON s.id = t.supplier_id "
    "WHERE t.token_hash = %s AND t.revoked_at IS NULL"
)


def api_token_authenticate(*, plain: str) -> ApiToken | None:
    """The active token with this value, with its supplier, or None.

    Only the fields authentication needs are loaded; the others load on access.
    """
    token = next(iter(ApiToken.objects.raw(_TOKEN_SQL, [token_digest(plain)])), None)
    if token is None or not token._supplier_active:
        return None
    token.supplier = Supplier.from_db(
        token._state.db,
        ["id", "slug", "is_active"],
        [token.supplier_id, token._supplier_slug, True],
    )
    return token


def api_tokens_for_supplier(*, supplier: Supplier):
    return ApiToken.objects.filter(supplier=supplier).order_by("revoked_at", "-created_at")
