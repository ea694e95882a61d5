from django.apps import AppConfig


class SuppliersConfig(AppConfig):
    name = "suppliers"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers suppliers' settings checks)
            signals,  # noqa: F401
        )
