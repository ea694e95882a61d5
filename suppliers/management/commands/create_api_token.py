from common.cli import ProjectCommand, supplier_by_slug_or_error, text_option
from suppliers.models import ApiToken
from suppliers.services import api_token_create


class Command(ProjectCommand):
    help = (
        "Create a supplier API token; it is printed once and stored hashed. It reads only, "
        "unless --update (the update API: acknowledge, cancel, ship)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--update", action="store_true", help="Also allow the update endpoints."
        )

    def handle(self, *args, slug, name, update, **options):
        supplier = supplier_by_slug_or_error(slug)
        # Refused, not cut: the name is how the supplier tells its tokens apart.
        name = text_option(
            name.strip(), option="name", max_length=ApiToken._meta.get_field("name").max_length
        )
        token, plain = api_token_create(supplier=supplier, name=name, can_update=update)
        self.stderr.write(
            f"API token for {supplier.slug}, scope {token.scope} (shown once, store it now):"
        )
        self.stdout.write(plain)
