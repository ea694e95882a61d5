"""Small helpers shared by management commands: one-line errors, nothing half-written.

`supplier_by_slug_or_error` takes the Supplier model through the app registry rather than an
import, so this app stays below every other one (it imports none of them) while the commands
of suppliers and delivery share one lookup and one wording of "no such supplier".
"""

import sys

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from .text import text_problem


def validation_error_line(exc: ValidationError) -> str:
    """One line naming each field: 'order_emails: 'x' is not a valid email address.'"""
    if hasattr(exc, "error_dict"):
        parts = []
        for field, messages in exc.message_dict.items():
            text = " ".join(messages)
            parts.append(text if field == "__all__" else f"{field}: {text}")
        return "; ".join(parts)
    return " ".join(exc.messages)


def command_error(exc: ValidationError) -> CommandError:
    return CommandError(validation_error_line(exc))


def text_option(value: str | None, *, option: str, max_length: int | None = None) -> str | None:
    """`value` if a text column can store it whole, else a CommandError naming `option`.

    Checked before any query: a NUL would make the database refuse the query itself (a
    traceback), and a value over the column's length would otherwise be cut or refused late.
    None (an option not given) passes as None.
    """
    if value is None:
        return None
    problem = text_problem(value)
    if problem:
        raise CommandError(f"{option}: {problem}")
    if max_length is not None and len(value) > max_length:
        raise CommandError(f"{option}: at most {max_length} characters, this one has {len(value)}.")
    return value


def secret_from_stdin(stream, *, option: str) -> str:
    """The first line of `stream` (its line ending dropped), or a CommandError naming `option`."""
    try:
        line = stream.readline()
    except UnicodeDecodeError:
        raise CommandError(f"{option}: standard input is not UTF-8 text.") from None
    value = line.rstrip("\r\n")
    if not value:
        raise CommandError(f"{option}: '-' reads it from standard input, which gave an empty line.")
    return value


class ProjectCommand(BaseCommand):
    """Every project command's base: each text argument checked before the command runs.

    A NUL (or a lone surrogate, which an undecodable byte in argv becomes) in any argument
    would reach the database, which refuses the whole query: a traceback instead of a line
    naming the option. Checked here once, for every argument of every command, as
    `text_option` does (the option's name as typed, from its dest).
    """

    # Options that carry a secret. Given as "-", the value is read from standard input (its
    # first line), so that it shows neither in the process list nor in the shell's history,
    # as `docker login --password-stdin` does.
    secret_options: tuple[str, ...] = ()
    # call_command(..., stdin=...) gives such a command its standard input, as createsuperuser.
    stealth_options = ("stdin",)

    def execute(self, *args, **options):
        names = self._option_names()
        for dest in self.secret_options:
            if options.get(dest) == "-":
                options[dest] = secret_from_stdin(
                    options.get("stdin") or sys.stdin, option=names.get(dest, dest)
                )
        for dest, value in options.items():
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                if isinstance(item, str):
                    text_option(item, option=names.get(dest, dest))
        for item in args:
            if isinstance(item, str):
                text_option(item, option="argument")
        return super().execute(*args, **options)

    def _option_names(self) -> dict[str, str]:
        """Each argument's name as typed, by its dest: `file_format` is `format` (--format)."""
        parser = self.create_parser("manage.py", self.__module__.rsplit(".", 1)[-1])
        return {
            action.dest: max(action.option_strings, key=len).lstrip("-")
            if action.option_strings
            else action.dest
            for action in parser._actions
        }


def supplier_by_slug_or_error(slug: str, *, field: str = "slug"):
    """The supplier with this slug, or a CommandError naming the option that gave it.

    `field` is the option's name in the error ("slug" for most commands, "supplier" for
    `redeliver --supplier`).
    """
    text_option(slug, option=field)
    supplier = apps.get_model("suppliers", "Supplier").objects.filter(slug=slug).first()
    if supplier is None:
        raise CommandError(f"{field}: no supplier '{slug}'.")
    return supplier
