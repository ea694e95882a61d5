from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers orders' settings checks)
            retailer_memory,  # noqa: F401  (forgets changed retailers everywhere)
        )
        from .labels import labels_register_orders

        labels_register_orders()  # the words of its codes (common/labels.py)
