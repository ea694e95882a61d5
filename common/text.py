"""What a text column cannot store: one rule for every app (the APIs, the order forms, the
portal's settings pages, the commands; `orders.inputs` hands it on).

PostgreSQL refuses a NUL in text (and with it the whole query: a 500 or a traceback), and a lone
surrogate cannot be encoded for it.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL, a lone surrogate), or None if it can."""
    if "\x00" in value:
        return "Null characters are not allowed."
    if LONE_SURROGATE.search(value):
        return "Lone surrogate characters are not allowed."
    return None


def one_line_problem(value: str) -> str | None:
    """Why `value` cannot be a one-line name (what `text_problem` refuses, and line breaks,
    tabs or other control characters), or None if it can."""
    problem = text_problem(value)
    if problem:
        return problem
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value):
        return "Use one line: no line breaks, tabs or other control characters."
    return None


def validate_one_line(value: str) -> None:
    """Model field validator: a name shown in email subjects, headers, files and pages."""
    problem = one_line_problem(value)
    if problem:
        raise ValidationError(problem, code="one_line")
