from common.cli import ProjectCommand, supplier_by_slug_or_error
from orders.documents import acknowledge_by, iso
from orders.selectors import orders_overdue, overdue_counts_by_supplier


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
        orders = list(orders_overdue(supplier=supplier))
        if not orders:
            self.stdout.write(f"{supplier.slug} has no overdue orders.")
            return
        self.stdout.write("number\tplaced_at\tacknowledge_by\treminded_at")
        for order in orders:
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
