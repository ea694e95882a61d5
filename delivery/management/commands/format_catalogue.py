"""Print the file formats' field catalogue as Markdown (the table in docs/formats.md)."""

from common.cli import ProjectCommand
from delivery.formats.catalogue import catalogue_markdown


class Command(ProjectCommand):
    help = "Print the field catalogue of custom file formats (docs/formats.md) as Markdown."

    def handle(self, *args, **options):
        self.stdout.write(catalogue_markdown())
