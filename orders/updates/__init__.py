"""Update files (issue 13): suppliers' acknowledgements, cancellations and shipments as CSV.

parse.py reads the format (contract.md "Update files"), apply.py applies row groups through
the order services (group_rows.py: what a group names, and its answers' words), rows.py
walks a file's stored rows a batch of orders at a time (and resumes), results.py writes the
result CSV, files.py keeps the UpdateFile records that make a file apply once per supplier,
its queueing and its recovery.
"""

from .apply import APPLIED, ERROR, UNCHANGED, update_rows_apply
from .files import (
    UpdateFileAlreadyApplied,
    UpdateFileBeingApplied,
    already_applied_message,
    update_file_apply,
    update_file_claim,
    update_file_preview,
    update_file_queue,
    update_file_queue_register,
    update_file_receive,
    update_file_receive_and_apply,
    update_file_receive_and_apply_lines,
    update_file_repeat_result,
    update_file_result_lines,
    update_file_result_text,
    update_file_run,
    update_files_stale,
)
from .parse import COLUMN_HELP, COLUMNS, UpdateFileError, UpdateRow, update_rows_read
from .results import update_result_csv, update_result_lines

__all__ = [
    "APPLIED",
    "COLUMN_HELP",
    "COLUMNS",
    "ERROR",
    "UNCHANGED",
    "UpdateFileAlreadyApplied",
    "UpdateFileBeingApplied",
    "UpdateFileError",
    "UpdateRow",
    "already_applied_message",
    "update_file_apply",
    "update_file_claim",
    "update_file_preview",
    "update_file_queue",
    "update_file_queue_register",
    "update_file_receive",
    "update_file_receive_and_apply",
    "update_file_receive_and_apply_lines",
    "update_file_repeat_result",
    "update_file_result_lines",
    "update_file_result_text",
    "update_file_run",
    "update_files_stale",
    "update_result_csv",
    "update_result_lines",
    "update_rows_apply",
    "update_rows_read",
]
