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


def api_token_authenticate(*, plain: str) -> ApiToken | None:
    """The active token with this value, with its supplier, or None."""
    token = (
        ApiToken.objects.select_related("supplier")
        .filter(token_hash=token_digest(plain), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.supplier.is_active:
        return None
    return token


def api_tokens_for_supplier(*, supplier: Supplier):
    return ApiToken.objects.filter(supplier=supplier).order_by("revoked_at", "-created_at")
