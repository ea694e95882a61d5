from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to orders' committed-events signal)
