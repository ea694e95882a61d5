"""An update file's stored rows (UpdateFileRow): applying a file a batch of orders at a time.

`rows_stage` stores the parsed rows once (one transaction: all or none), streaming from the
file's bytes. `rows_apply` walks the rows not answered yet an order at a time (by order
number, a batch of orders per step), builds each order's groups from them and applies them
through batch.py's `batch_apply` (many orders a transaction, the same services as the
preview). The orders' outcomes are written in their transaction, with their changes; the
other outcomes (rows with errors, an order the supplier does not have, an order that was
busy) after it. So applying holds one batch of rows, whatever the size of the file, and a
resumed apply (after a worker died) starts where the last one stopped and applies no row
twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice

from django.db import connection, transaction
from django.db.models import Case, Count, Value, When

from common.db import values_list

from ..models import UpdateFile, UpdateFileRow
from .apply import BATCH_GROUPS, ERROR, _AlreadyAnswered, update_groups
from .batch import batch_apply
from .parse import COLUMNS, UpdateRow, update_rows_read

STAGE_BATCH = 2000
_ROW_FIELDS = ("row", *COLUMNS, "error")  # the staged row: the file's columns, numbered


def rows_stage(*, update_file: UpdateFile) -> int:
    """Store the file's parsed rows unless they are stored already; the count of rows.

    A row that belongs to no change (an error without an order number or a known action)
    is answered at once.
    """
    if UpdateFileRow.objects.filter(update_file=update_file).exists():
        return UpdateFileRow.objects.filter(update_file=update_file).count()
    count = 0
    rows = update_rows_read(bytes(update_file.content))
    with transaction.atomic():
        while batch := list(islice(rows, STAGE_BATCH)):
            _, loose = update_groups(batch)
            UpdateFileRow.objects.bulk_create(
                UpdateFileRow(
                    update_file=update_file,
                    row=row.row,
                    order_number=row.order_number[:40],
                    action=row.action[:16],
                    line=row.line,
                    quantity=row.quantity,
                    reason=row.reason[:32],
                    note=row.note,
                    carrier=row.carrier[:100],
                    tracking_number=row.tracking_number[:100],
                    error=row.error,
                    result=loose[row.row][0] if row.row in loose else "",
                    message=loose[row.row][1] if row.row in loose else "",
                )
                for row in batch
            )
            count += len(batch)
    return count


def _answer(update_file: UpdateFile, outcomes: dict[int, tuple[str, str]]) -> int:
    """Write the outcomes of rows not answered yet (one UPDATE); how many it wrote."""
    if not outcomes:
        return 0
    if connection.vendor == "postgresql":  # one UPDATE from a VALUES list
        table = UpdateFileRow._meta.db_table
        values = values_list(("integer", "varchar", "text"), len(outcomes))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} r SET result = v.result, message = v.message "
                f'FROM ({values}) AS v("row", result, message) '
                'WHERE r.update_file_id = %s AND r."row" = v."row" AND r.result = \'\'',
                [x for row, outcome in outcomes.items() for x in (row, *outcome)]
                + [update_file.pk],
            )
            return cursor.rowcount
    rows = list(outcomes)
    results = {outcome[0] for outcome in outcomes.values()}
    messages = {outcome[1] for outcome in outcomes.values()}
    result = (
        Value(next(iter(results)))
        if len(results) == 1
        else Case(*[When(row=row, then=Value(outcomes[row][0])) for row in rows])
    )
    message = (
        Value(next(iter(messages)))
        if len(messages) == 1
        else Case(*[When(row=row, then=Value(outcomes[row][1])) for row in rows])
    )
    return UpdateFileRow.objects.filter(update_file=update_file, row__in=rows, result="").update(
        result=result, message=message
    )


def _recorder(update_file: UpdateFile) -> Callable[[dict[int, tuple[str, str]]], None]:
    def record(outcomes: dict[int, tuple[str, str]]) -> None:
        # In the order's transaction: if another applier answered these rows first (it holds
        # the order's lock until it commits), roll this order's changes back.
        if _answer(update_file, outcomes) != len(outcomes):
            raise _AlreadyAnswered

    return record


def rows_answered(*, update_file: UpdateFile) -> int:
    return UpdateFileRow.objects.filter(update_file=update_file).exclude(result="").count()


def _pending_batches(update_file: UpdateFile) -> Iterator[list[UpdateRow]]:
    """The rows not answered yet, a batch of whole orders at a time (by order number)."""
    pending = UpdateFileRow.objects.filter(update_file=update_file, result="")
    after = ""
    while True:
        numbers = list(
            pending.filter(order_number__gt=after)
            .order_by("order_number")
            .values_list("order_number", flat=True)
            .distinct()[:BATCH_GROUPS]
        )
        if not numbers:
            return
        after = numbers[-1]
        yield [
            UpdateRow(*values)
            for values in pending.filter(order_number__in=numbers)
            .order_by("row")
            .values_list(*_ROW_FIELDS)
        ]


def rows_apply(
    *,
    update_file: UpdateFile,
    actor_user,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Apply every row not answered yet; `progress(rows answered in this run)` per batch."""
    record = _recorder(update_file)
    done = 0
    for batch in _pending_batches(update_file):
        groups, _ = update_groups(batch)
        recorded, loose = batch_apply(
            supplier=update_file.supplier,
            batch=list(groups.items()),
            file_name=update_file.name,
            actor_user=actor_user,
            record=record,
        )
        done += len(recorded) + _answer(update_file, loose)
        if progress is not None:
            progress(done)


def rows_counts(*, update_file: UpdateFile) -> dict[str, int]:
    """{result: rows} of the file's answered rows."""
    return dict(
        UpdateFileRow.objects.filter(update_file=update_file)
        .exclude(result="")
        .values_list("result")
        .annotate(n=Count("id"))
        .values_list("result", "n")
    )


def rows_outcomes(*, update_file: UpdateFile) -> Iterator[tuple[int, str, str]]:
    """(row, result, message) of every stored row, by row number, read in chunks."""
    return (
        UpdateFileRow.objects.filter(update_file=update_file)
        .order_by("row")
        .values_list("row", "result", "message")
        .iterator(chunk_size=STAGE_BATCH)
    )


def rows_shown(
    *, update_file: UpdateFile, errors: int, others: int
) -> tuple[list[UpdateFileRow], bool, bool]:
    """The rows a file's page lists, by row number: its first `errors` errors and first
    `others` other rows, with (more errors than that, more other rows than that). Read from
    the stored rows, never the file: bounded whatever the file's size (found in review: every
    error was listed, and a file of 30,000 rows that all failed made a 13 MB page, 13 s and
    92 MB to build, growing with the file)."""
    rows = UpdateFileRow.objects.filter(update_file=update_file).order_by("row")
    fields = ("row", "order_number", "action", "line", "quantity", "result", "message")
    wrong = list(rows.filter(result=ERROR).only(*fields)[: errors + 1])
    rest = list(rows.exclude(result=ERROR).only(*fields)[: others + 1])
    shown = sorted(wrong[:errors] + rest[:others], key=lambda row: row.row)
    return shown, len(wrong) > errors, len(rest) > others


def rows_unanswered_fail(*, update_file: UpdateFile, message: str) -> int:
    """Answer every row not answered yet with `message` (a file given up on)."""
    return UpdateFileRow.objects.filter(update_file=update_file, result="").update(
        result=ERROR, message=message
    )
