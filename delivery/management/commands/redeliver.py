from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware

from common.cli import ProjectCommand, command_error, supplier_by_slug_or_error
from delivery.services import deliveries_redeliver
from orders.inputs import InputError, time_in_range


def _when(value: str | None, name: str):
    """--since/--until as an aware time; a CommandError naming the option otherwise.

    parse_datetime and parse_date raise ValueError for a well-formed impossible date
    (2026-02-30) and return None for text that is not a date at all: both are refused.
    """
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is not None:
                parsed = datetime.combine(day, time.min)
    except ValueError:
        raise CommandError(
            f"{name}: '{value}' is not a real date or date-time "
            "(ISO 8601, e.g. 2026-02-28 or 2026-02-28T10:00:00Z)."
        ) from None
    if parsed is None:
        raise CommandError(f"{name}: '{value}' is not an ISO 8601 date or date-time.")
    try:
        aware = make_aware(parsed) if is_naive(parsed) else parsed
        return time_in_range(aware, raw=value)
    except (InputError, ValueError, OverflowError) as exc:
        message = str(exc) if isinstance(exc, InputError) else f"'{value}' is out of range."
        raise CommandError(f"{name}: {message}") from None


# Rows one run resets at most unless --limit says otherwise: a filter that matches more is
# refused whole, so a slip (a wrong --since) never floods every receiver at once.
REDELIVER_COMMAND_LIMIT = 10_000
# The most --limit takes: the database's LIMIT is a bigint, and a number past it (a typo, a
# pasted id) made the run a traceback ('bigint out of range') instead of a line naming it.
REDELIVER_COMMAND_LIMIT_MAX = 1_000_000_000


class Command(ProjectCommand):
    help = (
        "Queue deliveries again with the same identities (webhook-id, file name, Message-ID). "
        "The filters combine; without --failed-only or --cancelled-only every matching "
        "delivery that is not pending goes again, delivered ones included. With no filter at "
        "all it refuses unless --all is given; when more than --limit match (default "
        f"{REDELIVER_COMMAND_LIMIT:,}) it refuses and queues none. Deliveries redelivered "
        "within DELIVERY_REDELIVER_COOLDOWN_SECONDS, or whose channel is off, are left alone "
        "and counted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--supplier", metavar="SLUG", help="Only this supplier's deliveries.")
        parser.add_argument("--channel", metavar="CHANNEL", help="email, webhook or sftp.")
        parser.add_argument(
            "--since",
            metavar="ISO",
            help="Made at or after this ISO 8601 date or date-time (a date: its midnight).",
        )
        parser.add_argument("--until", metavar="ISO", help="Made before this date or date-time.")
        parser.add_argument(
            "--failed-only",
            action="store_true",
            dest="failed_only",
            help="Only deliveries that failed for good (every try used).",
        )
        parser.add_argument(
            "--cancelled-only",
            action="store_true",
            dest="cancelled_only",
            help="Only cancelled ones (a channel turned off cancels what it had not sent).",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="Allow a run with no filter: every delivery not pending, delivered ones "
            "included (still bound by --limit). Without a filter or --all, nothing is queued.",
        )
        parser.add_argument(
            "--limit",
            type=int,
            metavar="N",
            default=REDELIVER_COMMAND_LIMIT,
            help="When more than N deliveries match (their channel on), refuse the whole run "
            f"and queue none (default {REDELIVER_COMMAND_LIMIT:,}; at least 1). Narrow the "
            "filters, or raise it for a bigger run on purpose.",
        )

    def handle(
        self,
        *args,
        supplier,
        channel,
        since,
        until,
        failed_only,
        cancelled_only,
        everything,
        limit,
        **options,
    ):
        if limit < 1:
            raise CommandError(f"limit: must be at least 1, not {limit}.")
        if limit > REDELIVER_COMMAND_LIMIT_MAX:
            raise CommandError(
                f"limit: at most {REDELIVER_COMMAND_LIMIT_MAX:,}, not {limit}; nothing was queued."
            )
        filtered = supplier or channel or since or until or failed_only or cancelled_only
        if not filtered and not everything:
            raise CommandError(
                "all: say which deliveries (--supplier, --channel, --since, --until, "
                "--failed-only or --cancelled-only), or --all for every one; nothing was queued."
            )
        supplier_obj = supplier_by_slug_or_error(supplier, field="supplier") if supplier else None
        try:
            result = deliveries_redeliver(
                supplier=supplier_obj,
                channel=channel,
                since=_when(since, "since"),
                until=_when(until, "until"),
                failed_only=failed_only,
                cancelled_only=cancelled_only,
                limit=limit,
            )
        except ValidationError as exc:
            raise command_error(exc)
        self.stdout.write(f"Queued {result.queued} deliveries again (same identities).")
        if result.channel_off:
            self.stdout.write(
                f"Left {result.channel_off} alone: their channel is off (`set_channel SLUG "
                "CHANNEL` turns it on); nothing was changed for them."
            )
        if result.cooling:
            self.stdout.write(
                f"Left {result.cooling} alone: redelivered less than "
                f"{settings.DELIVERY_REDELIVER_COOLDOWN_SECONDS} s ago, or being sent now; "
                "nothing was changed for them."
            )
