"""gunicorn's logger without the access lines of static files (`--logger-class`).

A portal page pulls its stylesheet and script; their lines would bury the requests that say
something. Everything else (errors, every other request) is logged as gunicorn logs it.
"""

from __future__ import annotations

from gunicorn.glogging import Logger


class AccessLogWithoutStatic(Logger):
    static_prefix = "/static/"

    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO", "").startswith(self.static_prefix):
            return
        super().access(resp, req, environ, request_time)
