from django.core.exceptions import ValidationError

from common.cli import ProjectCommand, command_error
from suppliers.services import supplier_create


class Command(ProjectCommand):
    help = "Create a supplier; its email channel is on from the start."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--order-email", required=True, help="One address, or several comma-separated."
        )

    def handle(self, *args, slug, name, order_email, **options):
        try:
            supplier = supplier_create(slug=slug, name=name, order_emails=order_email)
        except ValidationError as exc:
            raise command_error(exc)
        self.stdout.write(
            f"Created supplier {supplier.slug} ({supplier.name}); order emails go to "
            f"{', '.join(supplier.order_email_list)}."
        )
