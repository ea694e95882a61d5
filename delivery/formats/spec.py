"""A format's spec: checked and compiled from what ops typed, with the reason when refused.

Columns are text, one a line, in file order: `Header = source | transform | ...`, where the
source is a catalogue field (`line.sku`) or a constant (`const:ACME`), and the transforms are
`date:%Y%m%d` (datetime fields), `upper`, `lower`, `pad:N` (fixed width, left-aligned with
spaces, cut at N) and `zpad:N` (fixed width, right-aligned with zeros). Without `= ...` the
line is a field and its header is the field's key. `spec_compile` returns the JSON kept in a
`FileFormatVersion`; `ValidationError` (keyed by the admin form's field names) otherwise.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from lxml import etree

from common.text import LONE_SURROGATE

from .catalogue import catalogue
from .models import FormatKind, Quoting, RowPer

TRANSFORMS_WITH_ARGUMENT = {"date", "pad", "zpad"}
TRANSFORMS = {"upper", "lower"} | TRANSFORMS_WITH_ARGUMENT
PLACEHOLDERS = {"number", "retailer_reference", "placed_at", "supplier", "ext"}
RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in range(10)
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WINDOWS_REFUSED = re.compile(r'[<>:"|?*]')
# The longest file name written, in bytes (most file systems allow 255; this leaves room).
FILE_NAME_MAX = 200
# ASCII digits only: str.isdigit() also takes '²' or '٣', which int() then refuses.
_WIDTH = re.compile(r"[0-9]{1,3}")
# A date pattern is tried on this time when checked, so rendering never meets a new error.
_SAMPLE_TIME = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _date_pattern_works(pattern: str) -> bool:
    try:
        _SAMPLE_TIME.strftime(pattern)
    except (ValueError, UnicodeError):
        return False
    return True


def _column(line: str, *, number: int, kind: str) -> dict:
    where = f"column {number} ({line.strip()!r})"
    if "=" in line and not line.strip().startswith("const:"):
        header, _, rest = line.partition("=")
        header = header.strip()
    else:
        header, rest = "", line
    source, *transforms = [part.strip() for part in rest.split("|")]
    if not source:
        raise ValidationError(f"{where}: no field after '='.")
    fields = catalogue()
    if source.startswith("const:"):
        field = None
        if not header:
            raise ValidationError(f"{where}: a constant needs a header (`Header = const:...`).")
    elif source not in fields:
        raise ValidationError(
            f"{where}: unknown field {source!r}; the catalogue is in docs/formats.md."
        )
    else:
        field = fields[source]
    header = header or source
    compiled = []
    for transform in transforms:
        name, _, argument = transform.partition(":")
        if name not in TRANSFORMS:
            raise ValidationError(
                f"{where}: unknown transformation {name!r}; use {', '.join(sorted(TRANSFORMS))}."
            )
        if name in TRANSFORMS_WITH_ARGUMENT and not argument:
            raise ValidationError(f"{where}: {name} needs a value, e.g. {name}:8.")
        if name not in TRANSFORMS_WITH_ARGUMENT and argument:
            raise ValidationError(f"{where}: {name} takes no value.")
        if name == "date":
            if field is None or field.kind != "datetime":
                raise ValidationError(f"{where}: date: applies to a date-time field only.")
            # It reads the field's ISO time: after `lower`, `pad` or another `date:` the text
            # is no time, and every render failed (a 500 on the portal's preview).
            if compiled:
                raise ValidationError(
                    f"{where}: date: comes first (it reads the field's time); "
                    "put the other transformations after it."
                )
            if (
                "%" not in argument
                or _CONTROL.search(argument)
                or not _date_pattern_works(argument)
            ):
                raise ValidationError(f"{where}: {argument!r} is not a date pattern (%Y%m%d).")
        if name in ("pad", "zpad"):
            if not _WIDTH.fullmatch(argument) or not 1 <= int(argument) <= 200:
                raise ValidationError(f"{where}: {name} takes a width of 1 to 200.")
        compiled.append([name, argument])
    if kind == FormatKind.XML:
        try:
            etree.Element(header.replace(" ", "_"))
        except ValueError:
            raise ValidationError(f"{where}: {header!r} is not a valid XML element name.")
    return {
        "header": header,
        "source": source,
        "per_line": bool(field and field.per_line),
        "kind": field.kind if field else "text",
        "transforms": compiled,
    }


def file_name_pattern_check(pattern: str) -> None:
    """A pattern must name each order's file uniquely ({number}) and safely."""
    if LONE_SURROGATE.search(pattern):
        raise ValidationError("may not hold a lone surrogate character.")
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError:
        raise ValidationError(
            "has an unbalanced { or }: write {{ or }} for a literal brace."
        ) from None
    literal = []
    for text, name, fmt, conversion in parts:
        literal.append(text)
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise ValidationError(
                f"unknown placeholder {{{name}}}; use {', '.join(sorted(PLACEHOLDERS))}."
            )
        if conversion:
            raise ValidationError(f"may not convert {{{name}!{conversion}}}; write {{{name}}}.")
        if fmt and name != "placed_at":
            raise ValidationError(f"{{{name}}} takes no format; only {{placed_at:%Y%m%d}} does.")
        if fmt and ("/" in fmt or "\\" in fmt or _CONTROL.search(fmt)):
            raise ValidationError("the date format may not hold / or \\.")
        if fmt and ("{" in fmt or "}" in fmt or not _date_pattern_works(fmt)):
            raise ValidationError(f"date format {fmt!r} is not a date pattern (%Y%m%d).")
    # Parsed, not searched: '{{number}}' is the literal text, the same for every order.
    if "number" not in {name for _, name, _, _ in parts}:
        raise ValidationError("must include {number}, so each order gets its own file.")
    text = "".join(literal)
    if "/" in text or "\\" in text:
        raise ValidationError("may not hold / or \\ (a file name, not a path).")
    # Each piece of fixed text: `{supplier}.{number}.{ext}` joins two single dots.
    if any(".." in piece for piece in literal):
        raise ValidationError("may not hold '..'.")
    if _CONTROL.search(text):
        raise ValidationError("may not hold control characters.")
    if pattern.startswith("."):
        raise ValidationError("may not start with '.' (hidden files, and the upload's own).")
    refused = sorted(set(_WINDOWS_REFUSED.findall(text)))
    if refused:
        raise ValidationError(
            f"may not hold {' '.join(refused)}: Windows refuses them in a file name."
        )
    if pattern.endswith((".", " ")):
        raise ValidationError("may not end with '.' or a space: Windows drops them.")
    stem = pattern.split(".")[0].strip().lower()
    if stem in RESERVED_NAMES:
        raise ValidationError(f"{stem!r} is a reserved file name on Windows.")
    # Values are cut to fit (custom.py `_shortened`); the fixed text, the order number and
    # the extension are not, so they alone must fit in a name.
    names = [name for _, name, _, _ in parts]
    fixed = len(text.encode("utf-8")) + 20 * names.count("number") + 10 * names.count("ext")
    if fixed > FILE_NAME_MAX:
        raise ValidationError(
            f"is too long: its fixed text, {{number}} and {{ext}} can take {fixed} bytes, "
            f"and a file name is at most {FILE_NAME_MAX}."
        )


def spec_compile(values: dict) -> dict:
    """The spec of a version from the admin form's values; ValidationError by field."""
    kind = values["kind"]
    errors: dict[str, list[str]] = {}
    columns = []
    if kind != FormatKind.X12_850 and LONE_SURROGATE.search(values.get("columns") or ""):
        errors["columns"] = ["the columns may not hold a lone surrogate character."]
    elif kind != FormatKind.X12_850:
        for number, line in enumerate(
            [ln for ln in (values.get("columns") or "").splitlines() if ln.strip()], start=1
        ):
            try:
                columns.append(_column(line, number=number, kind=kind))
            except ValidationError as exc:
                errors.setdefault("columns", []).extend(exc.messages)
        if not columns and "columns" not in errors:
            errors["columns"] = ["a format needs at least one column."]
        headers = [c["header"] for c in columns]
        duplicates = sorted({h for h in headers if headers.count(h) > 1})
        if duplicates and kind != FormatKind.DELIMITED:
            errors.setdefault("columns", []).append(
                f"the names {', '.join(duplicates)} are used twice."
            )
        if kind in (FormatKind.JSON, FormatKind.XML) and any(c["per_line"] for c in columns):
            # The line fields go under `lines`: an order field so named was overwritten by
            # them in JSON (its value silently gone) and a second <lines> in XML.
            named = [
                c["header"]
                for c in columns
                if not c["per_line"] and c["header"].replace(" ", "_") == "lines"
            ]
            if named:
                errors.setdefault("columns", []).append(
                    f"the order field {named[0]!r} is where the line fields go ('lines'); "
                    "give it another name."
                )
    spec: dict = {"columns": columns, "extension": values.get("extension") or "txt"}
    if kind == FormatKind.DELIMITED:
        delimiter = values.get("delimiter") or ""
        delimiter = "\t" if delimiter in ("\\t", "tab", "TAB") else delimiter
        problems = []
        if len(delimiter) != 1:
            problems.append("the delimiter is exactly one character (\\t for a tab).")
        elif delimiter in '"\r\n' or _CONTROL.search(delimiter.replace("\t", "")):
            problems.append("the delimiter may not be a quote or a line end.")
        elif delimiter == values.get("decimal_separator"):
            problems.append("the delimiter may not be the decimal separator.")
        elif values.get("quoting") == Quoting.NONE:
            # What the format itself writes into every file: a delimiter or a quote in it
            # failed every order's delivery ("this format never quotes"), never a single one.
            for column in columns:
                header = column["header"]
                fixed = [a for n, a in column["transforms"] if n == "date"]
                if column["source"].startswith("const:"):
                    fixed.append(column["source"][6:])
                if any(delimiter in text for text in fixed):
                    problems.append(
                        f"the delimiter {delimiter!r} is inside the pattern of column "
                        f"{header!r}, and cells are never quoted."
                    )
                if values.get("header_row") and delimiter in header:
                    problems.append(
                        f"the delimiter {delimiter!r} is inside the header {header!r}, and "
                        "cells are never quoted."
                    )
                if any('"' in text for text in fixed) or (
                    values.get("header_row") and '"' in header
                ):
                    errors.setdefault("quoting", []).append(
                        f'column {header!r} writes a quote ("), which a never-quoted file '
                        "cannot hold; quote where needed instead."
                    )
        if problems:
            errors["delimiter"] = problems
        if values.get("row_per") == RowPer.ORDER:
            per_line = [c["source"] for c in columns if c["per_line"]]
            if per_line:
                errors.setdefault("row_per", []).append(
                    f"one row per order cannot hold line fields: {', '.join(per_line)}."
                )
        spec |= {
            "delimiter": delimiter,
            "quoting": values.get("quoting") or Quoting.MINIMAL,
            "header_row": bool(values.get("header_row")),
            "row_per": values.get("row_per") or RowPer.LINE,
            "encoding": values.get("encoding") or "utf-8",
            "line_end": "\r\n" if values.get("line_end", "crlf") == "crlf" else "\n",
            "decimal_separator": values.get("decimal_separator") or ".",
        }
    else:
        spec["encoding"] = "utf-8"
    extension = spec["extension"]
    if not re.fullmatch(r"[A-Za-z0-9]{1,10}", extension):
        errors["extension"] = ["the extension is 1 to 10 letters or digits."]
    try:
        file_name_pattern_check(values.get("file_name_pattern") or "")
    except ValidationError as exc:
        errors["file_name_pattern"] = [f"The file name pattern {m}" for m in exc.messages]
    if errors:
        raise ValidationError(errors)
    return spec
