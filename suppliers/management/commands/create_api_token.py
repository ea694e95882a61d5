from django.core.management.base import BaseCommand

from common.cli import supplier_by_slug_or_error
from suppliers.services import api_token_create


class Command(BaseCommand):
    help = "Create a supplier API token; it is printed once and stored hashed."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug, name, **options):
        supplier = supplier_by_slug_or_error(slug)
        token, plain = api_token_create(supplier=supplier, name=name)
        self.stderr.write(f"API token for {supplier.slug} (shown once, store it now):")
        self.stdout.write(plain)
