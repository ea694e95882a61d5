from common.cli import ProjectCommand, supplier_by_slug_or_error
from suppliers.selectors import api_tokens_for_supplier


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


class Command(ProjectCommand):
    help = "List a supplier's API tokens: prefix, name, scope, created, last used, revoked."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        supplier = supplier_by_slug_or_error(slug)
        tokens = list(api_tokens_for_supplier(supplier=supplier))
        if not tokens:
            self.stdout.write(f"{supplier.slug} has no API tokens.")
            return
        self.stdout.write("prefix\tname\tscope\tcreated\tlast_used\trevoked")
        for token in tokens:
            self.stdout.write(
                "\t".join(
                    [
                        token.prefix,
                        token.name or "-",
                        token.scope,
                        _when(token.created_at),
                        _when(token.last_used_at),
                        _when(token.revoked_at),
                    ]
                )
            )
