from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from common.cli import ProjectCommand, command_error, supplier_by_slug_or_error
from suppliers.services import products_import, products_parse_csv


class Command(ProjectCommand):
    help = "Upsert a supplier's catalogue from CSV rows sku,name,price[,currency]; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file")

    def handle(self, *args, slug, file, **options):
        supplier = supplier_by_slug_or_error(slug)
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"file: cannot read {file}: {exc}")
        try:
            rows = products_parse_csv(text=text)
            if not rows:
                raise CommandError(f"file: {file} holds no product rows.")
            created, updated = products_import(supplier=supplier, rows=rows)
        except ValidationError as exc:
            raise command_error(exc)
        self.stdout.write(f"{supplier.slug}: {created} products created, {updated} updated.")
