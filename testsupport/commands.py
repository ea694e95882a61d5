"""Run a management command in-process, as tests check what an operator sees."""

import pytest


def command_run(*args) -> tuple[str, str]:
    """Call a management command by name; return (stdout, stderr)."""
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def command_refused(*args) -> str:
    """Run a command that must refuse; return its one-line reason."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as info:
        command_run(*args)
    message = str(info.value)
    assert message and "\n" not in message, message
    return message
