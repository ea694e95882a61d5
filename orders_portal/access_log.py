"""gunicorn's access log without secrets (`--logger-class`), and `make run`'s without the lines
of static files.

A password-reset link carries its token in the path (/accounts/reset/<uid>/<token>/): logged
as is, anyone who reads the log could set that user's password while the link is valid
(PASSWORD_RESET_TIMEOUT). The token is written as `[token]` wherever a line holds it (request
line, path, referer). Everything else is logged as gunicorn logs it.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

# Django's reset URL (django.contrib.auth.urls); once opened it redirects to the same path with
# "set-password" in the token's place, which is no secret.
_RESET_TOKEN = re.compile(r"(/reset/[^/?#\s]+/)(?!set-password/)[^/?#\s]+")


def _without_reset_token(value):
    if isinstance(value, str) and "/reset/" in value:
        return _RESET_TOKEN.sub(r"\1[token]", value)
    return value


class AccessLog(Logger):
    """gunicorn's logger, with password-reset tokens left out of every access line."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: _without_reset_token(value) for key, value in atoms.items()}


class AccessLogWithoutStatic(AccessLog):
    """`make run`'s: a portal page pulls its stylesheet and script; their lines would bury the
    requests that say something."""

    static_prefix = "/static/"

    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO", "").startswith(self.static_prefix):
            return
        super().access(resp, req, environ, request_time)
