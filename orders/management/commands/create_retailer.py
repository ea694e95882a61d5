from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from common.cli import ProjectCommand, command_error
from orders.services import retailer_create


class Command(ProjectCommand):
    help = "Create a retailer and print its API key once (only a digest is stored)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--commission-rate", default="0.10", help="0 to 1; default 0.10.")

    def handle(self, *args, slug, name, email, commission_rate, **options):
        try:
            rate = Decimal(commission_rate)
            if not rate.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise CommandError(f"commission_rate: '{commission_rate}' is not a number.")
        try:
            retailer, key = retailer_create(slug=slug, name=name, email=email, commission_rate=rate)
        except ValidationError as exc:
            raise command_error(exc)
        self.stderr.write(
            f"Created retailer {retailer.slug} (commission {retailer.commission_rate}). "
            "API key (shown once, store it now):"
        )
        self.stdout.write(key)
