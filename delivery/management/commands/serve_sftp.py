"""`manage.py serve_sftp [--port 2222] [--bind 127.0.0.1]`: the hosted SFTP server (thin)."""

import signal

from django.conf import settings
from django.core.management.base import CommandError

from common.cli import ProjectCommand
from delivery.hosted.hostkey import host_key_load
from delivery.hosted.server import run_forever
from delivery.hosted.updates import update_queue


class Command(ProjectCommand):
    help = "Run the hosted SFTP server: each supplier logs in as its slug, chrooted to its folder."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.HOSTED_SFTP_PORT)
        parser.add_argument("--bind", default=settings.HOSTED_SFTP_BIND)

    def handle(self, *args, port, bind, **opts):
        if not 0 <= port <= 65535:
            raise CommandError(f"port: {port} is not a TCP port (0-65535).")
        host_key = host_key_load()
        # SIGTERM stops it as Ctrl-C does. `docker stop` sends SIGTERM to the container's
        # PID 1, the image's `sftp` command, and a PID 1 ignores any signal it does not
        # handle: without this the server was killed 10 s later instead.
        signal.signal(signal.SIGTERM, signal.default_int_handler)

        def ready(bound: int) -> None:
            self.stdout.write(
                f"Hosted SFTP on {bind}:{bound} (storage {settings.HOSTED_SFTP_ROOT}, "
                f"host key {host_key.get_fingerprint('sha256')})",
            )
            self.stdout.flush()

        try:
            run_forever(
                host=bind, port=port, host_key=host_key, on_upload_closed=update_queue, ready=ready
            )
        except OSError as exc:
            raise CommandError(f"port: cannot listen on {bind}:{port}: {exc.strerror}")
        except KeyboardInterrupt:
            pass
