from django.core.exceptions import ValidationError

from common.cli import ProjectCommand, command_error, supplier_by_slug_or_error
from suppliers.services import supplier_user_create


class Command(ProjectCommand):
    secret_options = ("password",)
    help = "Create a portal login for a supplier."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--password",
            help='"-" reads it from stdin; omit it to let the user set one by password reset.',
        )

    def handle(self, *args, slug, username, email, password, **options):
        supplier = supplier_by_slug_or_error(slug)
        try:
            user = supplier_user_create(
                supplier=supplier, username=username, email=email, password=password
            )
        except ValidationError as exc:
            raise command_error(exc)
        how = "with the given password" if password else "without a password (use password reset)"
        self.stdout.write(f"Created user {user.username} for supplier {supplier.slug}, {how}.")
