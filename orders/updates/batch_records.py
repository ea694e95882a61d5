"""The cancellations and shipments of an update file's batch, written together (batch.py).

Under a batch each order's hold has `writes` set to one `RecordWrites`: records.py's
`record_write` hands it the record instead of writing it. The record gets its id at once,
from ids taken from its table's sequence when the batch locked its orders (so the event the
service records names it, as ever), and the line's quantity changes in memory; at the end of
the batch's transaction `write` sends every line's added units in one UPDATE, and each
table's records and their lines in one INSERT. The line constraint (cancelled + shipped <=
quantity) still checks every line: a violation fails the batch, which is rolled back and
applied order by order.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import DatabaseError, connection
from django.db.models import Model

from common.db import values_list
from common.inserts import rows_insert

from ..models import OrderLine

_LINE_FIELDS = ("quantity_cancelled", "quantity_shipped")


class RecordWrites:
    """Ids taken ahead for the batch's records, and the records waiting to be written."""

    def __init__(self, ids: dict[type[Model], list[int]]):
        self.ids = {model: iter(values) for model, values in ids.items()}
        self.records: dict[type[Model], list[Model]] = defaultdict(list)
        self.children: dict[type[Model], list[Model]] = defaultdict(list)
        # {line id: {field: units added}}
        self.added: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_LINE_FIELDS, 0))

    @classmethod
    def take(cls, counts: dict[type[Model], int]) -> RecordWrites:
        """As many ids from each record table's sequence as `counts` says (one statement)."""
        wanted = [(model, n) for model, n in counts.items() if n]
        if not wanted:
            return cls({})
        if connection.vendor != "postgresql":
            raise NotImplementedError("ids ahead of the rows need a sequence")
        select = ", ".join(
            "(SELECT array_agg(nextval(pg_get_serial_sequence(%s, 'id'))) "
            "FROM generate_series(1, %s))"
            for _ in wanted
        )
        params = [x for model, n in wanted for x in (model._meta.db_table, n)]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {select}", params)
            arrays = cursor.fetchone()
        return cls({model: sorted(ids) for (model, _), ids in zip(wanted, arrays, strict=True)})

    def record_write(
        self,
        *,
        record: Model,
        line_model: type[Model],
        fk: str,
        pairs: list[tuple[OrderLine, int]],
        field: str,
    ) -> Model:
        """records.py's `record_write`, written later: the record with its id, the lines'
        units added in memory."""
        record.pk = next(self.ids[type(record)], None)
        if record.pk is None:  # more records than the batch counted: apply order by order
            raise DatabaseError(f"no {type(record).__name__} id left")
        self.records[type(record)].append(record)
        self.children[line_model] += [
            line_model(**{fk: record}, line=line, quantity=units) for line, units in pairs
        ]
        for line, units in pairs:
            self.added[line.pk][field] += units
            setattr(line, field, getattr(line, field) + units)
        return record

    def write(self) -> None:
        """The lines' units (one UPDATE), then each table's records and their lines."""
        if self.added:
            table = OrderLine._meta.db_table
            values = values_list(("bigint", "integer", "integer"), len(self.added))
            sets = ", ".join(f"{f} = l.{f} + v.{f}" for f in _LINE_FIELDS)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} l SET {sets} FROM ({values}) "
                    f"AS v(id, {', '.join(_LINE_FIELDS)}) WHERE l.id = v.id",
                    [
                        x
                        for pk, added in self.added.items()
                        for x in (pk, *(added[f] for f in _LINE_FIELDS))
                    ],
                )
                if cursor.rowcount != len(self.added):
                    raise DatabaseError(f"{cursor.rowcount} of {len(self.added)} lines updated")
        for model, records in self.records.items():
            model.objects.bulk_create(records)
        for children in self.children.values():
            rows_insert(children)
