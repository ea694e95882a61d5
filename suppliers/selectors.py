"""Reads about suppliers."""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from common.db import execute_prepared, values_from_db
from common.instances import instance_from_db

from . import catalogue_memory
from .models import ApiToken, Product, Supplier, SupplierMembership
from .secrets import token_digest


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


_PRODUCT_FIELDS = ("id", "supplier_id", "sku", "name", "price", "currency", "is_active")
_SUPPLIER_FIELDS = ("id", "slug", "name", "is_active")
_PRODUCT_SUPPLIER = Product._meta.get_field("supplier")


@lru_cache(maxsize=64)
def products_sql(count: int) -> str:
    """The catalogue read of `count` SKUs (one parameter each)."""
    return _products_sql().replace("%s", ", ".join(["%s"] * count))


def _products_sql() -> str:
    product, supplier = Product._meta.db_table, Supplier._meta.db_table
    qn = connection.ops.quote_name
    columns = [f"p.{qn(c)}" for c in _PRODUCT_FIELDS] + [f"s.{qn(c)}" for c in _SUPPLIER_FIELDS]
    return (
        f"SELECT {', '.join(columns)} FROM {qn(product)} p "
        f"JOIN {qn(supplier)} s ON s.{qn('id')} = p.{qn('supplier_id')} "
        f"WHERE p.{qn('sku')} IN (%s) AND p.{qn('is_active')}"
    )


@lru_cache(maxsize=1)
def _product_columns() -> tuple[tuple, tuple]:
    # Tuples, built once: values_from_db remembers its conversion plan for a tuple only.
    return (
        tuple(Product._meta.get_field(name) for name in _PRODUCT_FIELDS),
        tuple(Supplier._meta.get_field(name) for name in _SUPPLIER_FIELDS),
    )


def products_by_sku(*, skus: list[str]) -> dict[str, Product]:
    """Active products by SKU, each with its supplier (id, slug, name, is_active) loaded.

    Intake's hot read: one plain query and light instances (other fields deferred), because
    the ORM's query building and `select_related` cost 0.5 ms of a 2 ms intake. With the
    catalogue memory on (suppliers/catalogue_memory.py) the rows read are remembered.
    """
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        execute_prepared(cursor, products_sql(len(wanted)), wanted)
        rows = cursor.fetchall()
    if catalogue_memory.enabled():
        catalogue_memory.remember(rows, sku_index=_PRODUCT_FIELDS.index("sku"))
    return _products_from_rows(rows)


def products_remembered(*, skus: list[str]) -> dict[str, Product] | None:
    """`products_by_sku` from the process's memory, without a query, if it remembers every
    one of these SKUs; else None. What it returns may be out of date: intake's write checks
    it (suppliers/catalogue_memory.py)."""
    if not catalogue_memory.enabled():
        return None
    rows = catalogue_memory.recall(list(dict.fromkeys(skus)))
    return None if rows is None else _products_from_rows(rows)


def _products_from_rows(rows) -> dict[str, Product]:
    db = connection.alias
    suppliers: dict[int, Supplier] = {}
    found: dict[str, Product] = {}
    n = len(_PRODUCT_FIELDS)
    product_fields, supplier_fields = _product_columns()
    for row in rows:
        values = values_from_db(product_fields, row[:n])
        product = instance_from_db(Product, db, _PRODUCT_FIELDS, values)
        supplier = suppliers.get(row[n])
        if supplier is None:
            s_values = values_from_db(supplier_fields, row[n:])
            supplier = suppliers[row[n]] = instance_from_db(
                Supplier, db, _SUPPLIER_FIELDS, s_values
            )
        # supplier_id came with the row: only the cache is set, as the descriptor would.
        _PRODUCT_SUPPLIER.set_cached_value(product, supplier)
        found[product.sku] = product
    return found


# One fixed statement: every supplier API request runs it, and building it through the
# ORM (select_related, two model instances) cost about three times the query itself.
_TOKEN_SQL = (
    "SELECT t.id, t.supplier_id, t.last_used_at, s.slug AS _supplier_slug, "
    "s.is_active AS _supplier_active, t.scope, t.name "
    f"FROM {ApiToken._meta.db_table} t JOIN {Supplier._meta.db_table} s ON s.id = t.supplier_id "
    "WHERE t.token_hash = %s AND t.revoked_at IS NULL"
)


_TOKEN_COLUMNS = [
    ApiToken._meta.get_field("id"),
    ApiToken._meta.get_field("supplier"),
    ApiToken._meta.get_field("last_used_at"),
    Supplier._meta.get_field("slug"),
    Supplier._meta.get_field("is_active"),
    ApiToken._meta.get_field("scope"),
    ApiToken._meta.get_field("name"),
]


def api_token_authenticate(*, plain: str = "", digest: str = "") -> ApiToken | None:
    """The active token with this value (or this value's digest), with its supplier, or None.

    Only the fields authentication needs are loaded; the others load on access. A plain
    cursor: `ApiToken.objects.raw` cost as much again as the query, on every request.
    """
    with connection.cursor() as cursor:
        execute_prepared(cursor, _TOKEN_SQL, [digest or token_digest(plain)])
        row = cursor.fetchone()
    if row is None or not row[4]:
        return None
    token_id, supplier_id, last_used_at, supplier_slug, _, scope, name = values_from_db(
        _TOKEN_COLUMNS, row
    )
    return api_token_loaded(
        token_id=token_id,
        supplier_id=supplier_id,
        last_used_at=last_used_at,
        supplier_slug=supplier_slug,
        scope=scope,
        name=name,
    )


def api_token_loaded(
    *, token_id, supplier_id, last_used_at, supplier_slug, scope, name
) -> ApiToken:
    """An active token with its active supplier, holding only what authentication needs
    (and its scope and name, which the update API checks and records)."""
    db = connection.alias
    # from_db takes the values in the model's field order (id, supplier, name, scope, ...).
    token = ApiToken.from_db(
        db,
        ["id", "supplier_id", "name", "scope", "last_used_at"],
        [token_id, supplier_id, name, scope, last_used_at],
    )
    token.supplier = Supplier.from_db(
        db, ["id", "slug", "is_active"], [supplier_id, supplier_slug, True]
    )
    return token


def api_tokens_for_supplier(*, supplier: Supplier):
    return ApiToken.objects.filter(supplier=supplier).order_by("revoked_at", "-created_at")
