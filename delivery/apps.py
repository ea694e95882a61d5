from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers delivery's settings checks)
            receivers,  # noqa: F401  (connects to orders' committed-events signal)
        )
        from .labels import labels_register_delivery
        from .queue import update_file_queue_hook_register
        from .readers import readers_register

        labels_register_delivery()  # the words of its codes (common/labels.py)
        readers_register()  # orders' portal pages read deliveries through these
        update_file_queue_hook_register()  # the portal's large update files go to a worker
