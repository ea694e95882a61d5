import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from common.cli import ProjectCommand, validation_error_line
from orders.models import Retailer
from orders.services import order_place_from_retailer, order_set_status, retailer_create
from suppliers.models import Supplier
from suppliers.services import (
    ProductRow,
    api_token_create,
    products_import,
    supplier_create,
    supplier_user_create,
)

DEMO_USER = "demo"
# The development login, printed by make run and written in the README. With DEBUG off (the
# production shape) it would be a published password on a real site: the login gets a random
# one there instead, printed once like the keys.
DEMO_PASSWORD = "orders-demo-2026"  # noqa: S105 - a demo login, printed by make run

SUPPLIERS = [
    (
        "acme",
        "Acme Home Goods",
        "orders@acme.example",
        [
            ("ACME-001", "Enamel mug, blue", "9.50"),
            ("ACME-002", "Linen tea towel", "7.25"),
            ("ACME-003", "Oak chopping board", "24.00"),
        ],
    ),
    (
        "bolt",
        "Bolt Hardware",
        "po@bolt.example",
        [
            ("BOLT-7", "Brass hook, pack of 4", "5.80"),
            ("BOLT-9", "Steel shelf bracket", "3.10"),
        ],
    ),
]

CUSTOMERS = [
    ("Ann Lee", "ann@example.com", "+44 20 7946 0000", "1 High St", "Leeds", "LS1 1AA"),
    ("Ben Okafor", "ben@example.com", "+44 161 496 0000", "22 Mill Lane", "Manchester", "M1 2AB"),
    ("Cara Jones", "cara@example.com", "", "5 Quay Rd", "Bristol", "BS1 4DJ"),
]


class Command(ProjectCommand):
    help = "Create the demo suppliers, retailer, products, a portal login and a few orders (once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into an empty database (no supplier, no retailer); `make run` uses it.",
        )

    def handle(self, *args, if_empty=False, **options):
        if Supplier.objects.filter(slug="acme").exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        if if_empty and (Supplier.objects.exists() or Retailer.objects.exists()):
            self.stdout.write("The database holds real data; demo data not loaded.")
            return
        # One transaction: a failure half-way leaves no partial demo to block a re-run.
        password = DEMO_PASSWORD if settings.DEBUG else secrets.token_urlsafe(12)
        try:
            with transaction.atomic():
                key, plain, count = self._seed(password=password)
        except ValidationError as exc:
            raise CommandError(f"demo data not loaded: {validation_error_line(exc)}")
        self.stdout.write(
            f"Demo data: suppliers acme and bolt, retailer shopco, {count} orders.\n"
            f"  Portal login: {DEMO_USER} / {password}"
            + ("" if settings.DEBUG else " (shown once: it is stored hashed)")
            + "\n"
            f"  Retailer API key (shopco): {key}\n"
            f"  Supplier API token (acme): {plain}"
        )

    def _seed(self, *, password: str) -> tuple[str, str, int]:
        for slug, name, email, products in SUPPLIERS:
            supplier = supplier_create(slug=slug, name=name, order_emails=email)
            products_import(
                supplier=supplier,
                rows=[
                    ProductRow(sku=s, name=n, price=Decimal(p), currency="GBP")
                    for s, n, p in products
                ],
            )
        acme = Supplier.objects.get(slug="acme")
        supplier_user_create(
            supplier=acme, username=DEMO_USER, email="demo@acme.example", password=password
        )
        retailer, key = retailer_create(
            slug="shopco",
            name="Shop Co",
            email="buyers@shopco.example",
            commission_rate=Decimal("0.10"),
        )
        token, plain = api_token_create(supplier=acme, name="demo")
        orders = []
        for index, (cname, cemail, cphone, line1, city, postcode) in enumerate(CUSTOMERS * 3):
            result = order_place_from_retailer(
                retailer=retailer,
                payload={
                    "reference": f"DEMO-{1001 + index}",
                    "customer": {"name": cname, "email": cemail, "phone": cphone},
                    "shipping_address": {
                        "name": cname,
                        "line1": line1,
                        "city": city,
                        "postcode": postcode,
                        "country": "GB",
                    },
                    "lines": [
                        {"sku": "ACME-001", "quantity": 1 + index % 3},
                        {"sku": "BOLT-7" if index % 2 else "ACME-003", "quantity": 1},
                    ],
                },
            )
            orders.extend(result.orders)
        acme_orders = [o for o in orders if o.supplier.slug == "acme"]
        order_set_status(order=acme_orders[0], status="processing", actor="ops:seed")
        order_set_status(order=acme_orders[1], status="processing", actor="ops:seed")
        order_set_status(
            order=acme_orders[1],
            status="shipped",
            actor="ops:seed",
            carrier="Royal Mail",
            tracking_number="RM123456789GB",
        )
        return key, plain, len(orders)
