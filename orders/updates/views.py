"""The portal's update-file pages: upload, preview, apply, result download, template, history.

Uploading stores the file (UpdateFile, pending) and shows its preview, which changes nothing;
the confirmation applies it: in the request up to UPDATE_FILE_INLINE_ROWS rows, else in a
Celery task, while the page shows how far it has got (progress.json) and then the result.
The same bytes uploaded again find the same record, so an applied file is shown as applied,
with its result, and cannot change anything twice.
"""

from __future__ import annotations

import csv
import io
from itertools import islice

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from suppliers.views import supplier_required

from ..models import UpdateFileSource, UpdateFileStatus
from ..selectors.updates import update_file_for_supplier, update_files_for_supplier
from .apply import ERROR
from .files import (
    UpdateFileAlreadyApplied,
    already_applied_message,
    update_file_claim,
    update_file_preview,
    update_file_queue,
    update_file_receive,
    update_file_result_lines,
    update_file_run,
)
from .parse import COLUMNS, MAX_FILE_BYTES, UpdateFileError, update_rows_read
from .rows import rows_shown

# Rows a file's page lists: the first this many errors and the first this many other rows
# (the result CSV always has every row).
PREVIEW_ROWS_SHOWN = 200


@supplier_required
@require_http_methods(["GET", "POST"])
def update_files(request):
    error = ""
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error, status = "file: choose a CSV file to upload.", 400
        elif upload.size > MAX_FILE_BYTES:
            megabytes = MAX_FILE_BYTES // 2**20
            error = f"file: larger than {megabytes} MB; split it. Nothing was changed."
            status = 413
        else:
            try:
                update_file = update_file_receive(
                    supplier=request.supplier,
                    name=upload.name,
                    content=upload.read(),
                    source=UpdateFileSource.PORTAL,
                    uploaded_by=request.user,
                )
            except UpdateFileError as exc:
                error, status = f"file: {exc} Nothing was changed.", 400
            else:
                if update_file.status != UpdateFileStatus.PENDING:
                    messages.info(request, already_applied_message(update_file))
                return redirect("orders:update-file", pk=update_file.pk)
    return render(
        request,
        "orders/updates.html",
        {
            "nav": "updates",
            "files": update_files_for_supplier(supplier=request.supplier),
            "columns": COLUMNS,
            "error": error,
        },
        status=status,
    )


def _rows_shown(
    update_file, outcomes: dict[int, tuple[str, str]], rows: int | None = None
) -> tuple[list[dict], bool, bool]:
    """The page's rows, of the file's first `rows` (all if None), `outcomes` holding every
    one of them: (the first PREVIEW_ROWS_SHOWN errors and other rows, more errors than
    that, more other rows than that)."""
    shown = []
    seen = {"error": 0, "other": 0}
    for row in islice(update_rows_read(bytes(update_file.content)), rows):
        result, message = outcomes.get(row.row) or (ERROR, "Not read.")
        kind = "error" if result == ERROR else "other"
        seen[kind] += 1
        if seen[kind] <= PREVIEW_ROWS_SHOWN:
            shown.append({"row": row, "result": result, "message": message})
    return shown, seen["error"] > PREVIEW_ROWS_SHOWN, seen["other"] > PREVIEW_ROWS_SHOWN


def _rows_kept_shown(update_file) -> tuple[list[dict], bool, bool]:
    """As `_rows_shown`, for a finished file, from its stored rows (two bounded queries)."""
    rows, errors_cut, others_cut = rows_shown(
        update_file=update_file, errors=PREVIEW_ROWS_SHOWN, others=PREVIEW_ROWS_SHOWN
    )
    shown = [{"row": row, "result": row.result, "message": row.message} for row in rows]
    return shown, errors_cut, others_cut


def _outcomes_from_result(update_file) -> dict[int, tuple[str, str]]:
    """The outcomes of a file applied before its rows were kept, from its stored result."""
    reader = csv.DictReader(io.StringIO(update_file.result))
    return {
        int(record["row"]): (record["result"], record["message"])
        for record in reader
        if record.get("row", "").isdigit()
    }


def _apply(request, update_file):
    """Claim the file; apply a small one here, queue a large one for a worker (the page then
    shows its progress). When nothing can queue it (no broker), it is applied here."""
    update_file = update_file_claim(update_file=update_file)
    if update_file.row_count > settings.UPDATE_FILE_INLINE_ROWS and update_file_queue(
        update_file=update_file
    ):
        messages.info(
            request,
            f"{update_file.name}: applying {update_file.row_count} rows; this page shows "
            "how far it has got, and the result when it is done.",
        )
        return update_file
    applied = update_file_run(update_file_id=update_file.pk, actor_user=request.user)
    if applied is None:  # a worker took it first
        return update_file
    messages.success(
        request,
        f"{applied.name}: {applied.applied_count} applied, "
        f"{applied.unchanged_count} unchanged, {applied.error_count} errors.",
    )
    return applied


@supplier_required
@require_http_methods(["GET", "POST"])
def update_file_detail(request, pk: int):
    update_file = update_file_for_supplier(supplier=request.supplier, pk=pk)
    if update_file is None:
        raise Http404("No such update file.")
    if request.method == "POST":
        try:
            update_file = _apply(request, update_file)
        except UpdateFileAlreadyApplied as exc:
            messages.info(request, str(exc))
        return redirect("orders:update-file", pk=update_file.pk)
    pending = update_file.status == UpdateFileStatus.PENDING
    finished = update_file.status in (UpdateFileStatus.APPLIED, UpdateFileStatus.FAILED)
    previewed = None
    outcomes: dict[int, tuple[str, str]] = {}
    rows, errors_cut, others_cut = [], False, False
    if pending:
        # Its first rows only, so that a page view costs the same for any size of file.
        previewed = min(update_file.row_count, settings.UPDATE_FILE_PREVIEW_ROWS)
        outcomes = update_file_preview(update_file=update_file, rows=previewed)
        if outcomes:
            rows, errors_cut, others_cut = _rows_shown(update_file, outcomes, rows=previewed)
    elif finished and update_file.result:  # applied before rows were kept
        outcomes = _outcomes_from_result(update_file)
        rows, errors_cut, others_cut = _rows_shown(update_file, outcomes)
    elif finished:
        rows, errors_cut, others_cut = _rows_kept_shown(update_file)
    # else being applied: no result yet, and no preview either (the page shows progress)
    counts = {"applied": 0, "unchanged": 0, "error": 0}
    for result, _ in outcomes.values():
        counts[result] = counts.get(result, 0) + 1
    return render(
        request,
        "orders/update_file.html",
        {
            "nav": "updates",
            "file": update_file,
            "pending": pending,
            "finished": finished,
            "rows": rows,
            "errors_cut": errors_cut,
            "others_cut": others_cut,
            "counts": counts,
            "total": len(outcomes) if pending else update_file.row_count,
            "partial": pending and update_file.row_count > (previewed or 0),
            "shown_limit": PREVIEW_ROWS_SHOWN,
        },
    )


@supplier_required
@require_GET
@never_cache
def update_file_result(request, pk: int):
    update_file = update_file_for_supplier(supplier=request.supplier, pk=pk)
    if update_file is None or update_file.status not in (
        UpdateFileStatus.APPLIED,
        UpdateFileStatus.FAILED,
    ):
        raise Http404("No result for this file.")
    stem = update_file.name.rsplit(".", 1)[0] or "updates"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:100]
    # Streamed from the file's rows, a chunk at a time, whatever the file's size.
    response = StreamingHttpResponse(
        update_file_result_lines(update_file=update_file), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{safe}.results.csv"'
    return response


@supplier_required
@require_GET
def update_file_template(request):
    response = HttpResponse(",".join(COLUMNS) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="order-updates-template.csv"'
    return response


@supplier_required
@require_GET
@never_cache
def update_file_progress(request, pk: int):
    """How far applying has got, for the page of the person waiting (static/portal/portal.js)."""
    update_file = update_file_for_supplier(supplier=request.supplier, pk=pk)
    if update_file is None:
        raise Http404("No such update file.")
    return JsonResponse(
        {
            "status": update_file.status,
            "done": update_file.progress_rows,
            "total": update_file.row_count,
        }
    )
