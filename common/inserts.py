"""Multi-row INSERT ... RETURNING of new model instances, for intake's hot path.

`bulk_create` builds and compiles its query objects on every call: about 0.4 ms for three
order lines, which made up a third of an intake. This writes the same statement from the
model's `_meta` (built once per model and row count) and converts each value with the
field's own `pre_save` and `get_db_prep_save`, as `bulk_create`'s compiler does (skipping
the calls that are the identity: see `_PLAIN_TYPES`).
It skips what intake never needs: signals (bulk_create sends none either), batching,
conflict handling, and multi-table inheritance.

The instances themselves are built by common/instances.py.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

from common.db import execute_prepared

# Internal types whose preparation is the identity for a value of these exact Python types
# (CharField's is str(), an integer field's int(), a boolean's bool()); any other value
# still goes through the field's own get_db_prep_save.
_PLAIN_TYPES = {
    "CharField": (str,),
    "TextField": (str,),
    "SlugField": (str,),
    "EmailField": (str,),
    "IntegerField": (int,),
    "BigIntegerField": (int,),
    "PositiveIntegerField": (int,),
    "PositiveSmallIntegerField": (int,),
    "SmallIntegerField": (int,),
    "BooleanField": (bool,),
}


@cache
def _fields(model: type[Model]) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


@cache
def insert_fields(model: type[Model], exclude: tuple[str, ...] = ()) -> tuple:
    """The fields an INSERT of `model` writes, in column order, less those named."""
    return tuple(f for f in _fields(model) if f.name not in exclude)


def _finite_decimal(value) -> bool:
    return type(value) is Decimal and value.is_finite()


def _aware_datetime(value) -> bool:
    return type(value) is datetime and value.tzinfo is not None


# Values whose preparation is the identity only on some checks of the value itself: a
# DecimalField's is to_python (Decimal(value), refusing NaN and infinities) and the backend's
# adapt_decimalfield_value (the value itself on every backend Django ships); a DateTimeField's,
# with USE_TZ, is the value itself for an aware datetime on PostgreSQL (SQLite's adapter
# makes it naive text).
_PLAIN_CHECKS = {
    "DecimalField": (_finite_decimal, None),
    "DateTimeField": (_aware_datetime, "postgresql"),
}


@cache
def _plans(model: type[Model], exclude: tuple[str, ...] = (), vendor: str = "") -> tuple:
    """Per field: (field, attname, needs pre_save, Python types passed as they are, a check
    of a value passed as it is, or None)."""
    plans = []
    for field in insert_fields(model, exclude):
        target = field.target_field if field.is_relation else field
        internal = target.get_internal_type()
        plain = _PLAIN_TYPES.get(internal, ())
        if internal in ("AutoField", "BigAutoField", "SmallAutoField"):
            plain = (int,)
        check, only_on = _PLAIN_CHECKS.get(internal, (None, None))
        if only_on is not None and (only_on != vendor or not settings.USE_TZ):
            check = None
        auto = bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
        nullable = (type(None),) if field.null else ()
        plans.append((field, field.attname, auto, plain + nullable, check))
    return tuple(plans)


@lru_cache(maxsize=512)
def _sql(model: type[Model], rows: int, vendor: str) -> str:
    qn = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = _fields(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {qn(model._meta.pk.column)}"
    )


def insert_params(objs: list[Model], *, exclude: tuple[str, ...] = (), per_row: bool = False):
    """The INSERT parameters of these new instances of one model (`insert_fields` order):
    one flat list, or one list per instance."""
    if not objs:
        return []
    # The wrapper itself, not the `connection` proxy: each field's preparation reads
    # `connection.ops`/`.features`, and through the proxy every read is a context-local lookup.
    connection = connections[DEFAULT_DB_ALIAS]
    plans = _plans(type(objs[0]), exclude, connection.vendor)
    rows = []
    params: list = []
    for obj in objs:
        if per_row:
            params = []
            rows.append(params)
        for field, attname, auto, plain, check in plans:
            value = field.pre_save(obj, True) if auto else getattr(obj, attname)
            if type(value) in plain or (check is not None and check(value)):
                params.append(value)
            else:
                params.append(field.get_db_prep_save(value, connection))
    return rows if per_row else params


def rows_insert(objs: list[Model]) -> None:
    """INSERT these new instances of one model in one statement and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[DEFAULT_DB_ALIAS]
    params = insert_params(objs)
    with connection.cursor() as cursor:
        execute_prepared(cursor, _sql(model, len(objs), connection.vendor), params)
        # Rows come back in VALUES order on PostgreSQL and SQLite (bulk_create relies on it).
        pks = cursor.fetchall()
    for obj, (pk,) in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
