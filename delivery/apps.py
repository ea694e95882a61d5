from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"

    def ready(self) -> None:
        from . import (
            receivers,  # noqa: F401  (connects to orders' committed-events signal)
            summaries,  # noqa: F401  (the summary email renderer; marks summaries sent)
        )
