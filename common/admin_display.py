"""Stored JSON (an event's data, a summary's figures) as an admin reader wants it: labelled
fields, lists of records as tables, never the raw document."""

from __future__ import annotations

from datetime import datetime

from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


def when(value) -> str:
    """A datetime as the admin shows every other one (DATETIME_FORMAT, in TIME_ZONE)."""
    return formats.localize(timezone.template_localtime(value)) if value else "—"


def field_label(key: str) -> str:
    """ "placed_total" -> "Placed total"."""
    words = str(key).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _records(values: list) -> bool:
    return bool(values) and all(isinstance(v, dict) for v in values)


def readable(value, *, max_rows: int | None = None, more: str = "") -> SafeString:
    """HTML for a JSON value: a dict as labelled rows, a list of dicts as a table (one column
    per key), other lists comma-separated, an empty value as a dash. With `max_rows`, a table
    shows that many records and then says how many more there are (and `more`: where to
    find them), so a page of a big month's figures stays a page."""
    if isinstance(value, dict):
        if not value:
            return mark_safe("—")
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((field_label(k), readable(v, max_rows=max_rows, more=more)) for k, v in value.items()),
        )
        return format_html('<table class="readable-json">{}</table>', rows)
    if isinstance(value, list):
        if not value:
            return mark_safe("—")
        if _records(value):
            columns: list[str] = []
            for record in value:
                columns.extend(k for k in record if k not in columns)
            head = format_html_join(
                "", '<th scope="col">{}</th>', ((field_label(c),) for c in columns)
            )
            body = format_html_join(
                "",
                "<tr>{}</tr>",
                (
                    (
                        format_html_join(
                            "", "<td>{}</td>", ((readable(r.get(c, "")),) for c in columns)
                        ),
                    )
                    for r in (value if max_rows is None else value[:max_rows])
                ),
            )
            left = 0 if max_rows is None else len(value) - max_rows
            if left > 0:
                body = format_html(
                    '{}<tr><td colspan="{}">… and {} more{}</td></tr>',
                    body,
                    len(columns),
                    left,
                    f"; {more}" if more else "",
                )
            return format_html(
                '<table class="readable-json"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
                head,
                body,
            )
        return format_html_join(", ", "{}", ((readable(v),) for v in value))
    if value is None or value == "":
        return mark_safe("—")
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:  # a stored ISO time ("2026-07-31T23:30:00-04:00") as every other time reads
            return format_html("{}", when(datetime.fromisoformat(value)))
        except ValueError:
            pass
    return format_html("{}", value)
