from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers orders' settings checks)
        from .labels import labels_register_orders

        labels_register_orders()  # the words of its codes (common/labels.py)
