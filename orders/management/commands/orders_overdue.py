from itertools import chain

from common.cli import ProjectCommand, supplier_by_slug_or_error
from orders.documents import acknowledge_by, iso
from orders.selectors import orders_overdue, overdue_counts_by_supplier

PRINTED = ("number", "placed_at", "acknowledge_by", "acknowledge_reminded_at")
OVERDUE_CHUNK = 2000


class Command(ProjectCommand):
    help = (
        "Orders past their acknowledgement deadline (ORDER_ACKNOWLEDGE_HOURS): a count per "
        "supplier, or with SLUG that supplier's overdue orders."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?")

    def handle(self, *args, slug=None, **options):
        if slug is None:
            counts = overdue_counts_by_supplier()
            if not counts:
                self.stdout.write("No overdue orders.")
                return
            self.stdout.write("supplier\toverdue")
            for supplier_slug, count in counts:
                self.stdout.write(f"{supplier_slug}\t{count}")
            return
        supplier = supplier_by_slug_or_error(slug)
        # Streamed, with the four columns printed: a supplier that never acknowledges has
        # tens of thousands, and each whole row (its stored API document with it) was held
        # at once before the first line was printed.
        orders = orders_overdue(supplier=supplier).only(*PRINTED).iterator(chunk_size=OVERDUE_CHUNK)
        first = next(orders, None)
        if first is None:
            self.stdout.write(f"{supplier.slug} has no overdue orders.")
            return
        self.stdout.write("number\tplaced_at\tacknowledge_by\treminded_at")
        for order in chain([first], orders):
            self.stdout.write(
                "\t".join(
                    [
                        order.number,
                        iso(order.placed_at),
                        iso(acknowledge_by(order)),
                        iso(order.acknowledge_reminded_at) or "-",
                    ]
                )
            )
