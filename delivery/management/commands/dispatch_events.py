import logging
import math
import signal
import threading

from django.conf import settings
from django.core.management.base import CommandError

from common.cli import ProjectCommand
from delivery.dispatcher import events_dispatch_pending
from delivery.listener import events_listen

MAX_WAIT_SECONDS = 60


class Command(ProjectCommand):
    help = (
        "Run the dispatcher: turn committed order events into deliveries as they commit "
        "(woken by PostgreSQL's NOTIFY; on SQLite it polls). Runs until SIGTERM or Ctrl-C. "
        "Needed when DELIVERY_DISPATCH=listener, the default on PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Dispatch what is pending now, print how many events, and exit.",
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=1.0,
            help="Seconds between looks when no notification arrives (default 1, at most 60).",
        )

    def handle(self, *args, once, wait, **options):
        # The listener looks for a stop between waits, so a long wait is a slow SIGTERM (inf
        # never stopped); nan compared false everywhere and made a busy loop.
        if not math.isfinite(wait) or not 0 < wait <= MAX_WAIT_SECONDS:
            raise CommandError(
                f"--wait: give a number of seconds above 0 and at most {MAX_WAIT_SECONDS}, e.g. 1."
            )
        if once:
            count = events_dispatch_pending()
            self.stdout.write(f"Dispatched {count} pending event(s).")
            return
        if settings.DELIVERY_DISPATCH != "listener":
            self.stderr.write(
                "Note: DELIVERY_DISPATCH is 'inline', so web requests dispatch their own "
                "events; this process only picks up what they left."
            )
        logging.getLogger("delivery.listener").setLevel(logging.INFO)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        events_listen(
            stop=stop, wait=wait, ready=lambda: self.stdout.write("dispatch_events: ready")
        )
        self.stdout.write("dispatch_events: stopped")
