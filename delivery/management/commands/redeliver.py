from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware

from delivery.services import deliveries_redeliver
from suppliers.cli import command_error
from suppliers.models import Supplier


def _when(value: str | None, name: str):
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is not None:
            from datetime import datetime, time

            parsed = datetime.combine(day, time.min)
    if parsed is None:
        raise CommandError(f"{name}: '{value}' is not an ISO 8601 date or date-time.")
    return make_aware(parsed) if is_naive(parsed) else parsed


class Command(BaseCommand):
    help = "Queue deliveries again with the same identities (webhook-id, file name, Message-ID)."

    def add_arguments(self, parser):
        parser.add_argument("--supplier", help="Only this supplier's deliveries (slug).")
        parser.add_argument("--channel", help="email, webhook or sftp.")
        parser.add_argument("--since", help="Made at or after this ISO date-time.")
        parser.add_argument("--until", help="Made before this ISO date-time.")
        parser.add_argument("--failed-only", action="store_true", dest="failed_only")

    def handle(self, *args, supplier, channel, since, until, failed_only, **options):
        supplier_obj = None
        if supplier:
            supplier_obj = Supplier.objects.filter(slug=supplier).first()
            if supplier_obj is None:
                raise CommandError(f"supplier: no supplier '{supplier}'.")
        try:
            result = deliveries_redeliver(
                supplier=supplier_obj,
                channel=channel,
                since=_when(since, "since"),
                until=_when(until, "until"),
                failed_only=failed_only,
            )
        except ValidationError as exc:
            raise command_error(exc)
        self.stdout.write(f"Queued {result.queued} deliveries again (same identities).")
        if result.cooling:
            self.stdout.write(
                f"Left {result.cooling} alone: redelivered less than "
                f"{settings.DELIVERY_REDELIVER_COOLDOWN_SECONDS} s ago, or being sent now; "
                "nothing was changed for them."
            )
