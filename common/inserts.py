"""Multi-row INSERT ... RETURNING of new model instances, for intake's hot path.

`bulk_create` builds and compiles its query objects on every call: about 0.4 ms for three
order lines, which made up a third of an intake. This writes the same statement from the
model's `_meta` (built once per model and row count) and converts each value with the
field's own `pre_save` and `get_db_prep_save`, as `bulk_create`'s compiler does (skipping
the calls that are the identity: see `_PLAIN_TYPES`).
It skips what intake never needs: signals (bulk_create sends none either), batching,
conflict handling, and multi-table inheritance.

`instance_new` builds the new instances themselves, as `Model(**values)` would, in a third of
its time (see there).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

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


@cache
def _init_plan(model: type[Model]) -> tuple:
    """(attnames in Model.__init__'s positional order, and per field: (name, attname, the
    field if it is a foreign key else None, the field, its default if that is one fixed
    value else `_CALL`: the field's get_default() per instance, as for a callable default))."""
    fields = model._meta.concrete_fields
    plan = []
    for f in fields:
        fixed = not f.has_db_default() and not (f.has_default() and callable(f.default))
        default = f.get_default() if fixed else _CALL
        plan.append((f.name, f.attname, f if f.many_to_one else None, f, default))
    return tuple(f.attname for f in fields), tuple(plan)


_CALL = object()


def instance_new(model: type[Model], /, **values) -> Model:
    """`model(**values)`, built the cheaper way: every field's value worked out from a plan
    made once per model (defaults that are one fixed value taken from it), set as
    Model.__init__ sets positional values (as `from_db` does), foreign keys given as
    instances then cached as their descriptor would (its databases included). Model.__init__
    with keywords looks each field up by name, calls its get_default and sets a relation
    through its descriptor's checks: for intake's six new rows that was about 0.1 ms a
    request. With a receiver of pre_init or post_init connected, `model(*values)` sends
    them as before.

    `values` are keyed by field name (a relation's value an instance or None) or attname;
    a field not given gets its default, as with keywords."""
    attnames, plan = _init_plan(model)
    args = []
    related = []
    used = 0
    for name, attname, foreign, field, default in plan:
        if name in values:
            value = values[name]
            used += 1
            if foreign is not None:
                related.append((foreign, value))
                value = None if value is None else getattr(value, foreign.target_field.attname)
        elif attname in values:
            value = values[attname]
            used += 1
        else:
            value = field.get_default() if default is _CALL else default
        args.append(value)
    if used != len(values):
        unknown = sorted(set(values) - {n for p in plan for n in p[:2]})
        raise TypeError(f"{model.__name__} has no field named {', '.join(unknown)}")
    if pre_init.receivers or post_init.receivers:
        obj = model(*args)
    else:
        # What Model.__init__ does with positional values: a fresh state, each value set
        # on its attname (the descriptors there only clear a relation's cache: none yet).
        obj = model.__new__(model)
        obj._state = ModelState()
        obj.__dict__.update(zip(attnames, args))
    for field, value in related:
        field.set_cached_value(obj, value)
        if value is not None:  # the databases the descriptor would settle on
            if obj._state.db is None:
                obj._state.db = router.db_for_write(model, instance=value)
            if value._state.db is None:
                value._state.db = router.db_for_write(type(value), instance=obj)
    return obj


def relation_set(obj: Model, field, value: Model) -> None:
    """`obj.<field> = value` for a foreign key and an instance of its model, without the
    descriptor's type and router checks (`instance_new` made both): the id on its attname,
    the instance in the cache."""
    setattr(obj, field.attname, getattr(value, field.target_field.attname))
    field.set_cached_value(obj, value)


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
