from django.apps import AppConfig


class StatementsConfig(AppConfig):
    """Retailers' monthly summaries and the commission rules behind them.

    Above orders and delivery: it reads orders and sends through delivery; neither imports it.
    """

    name = "statements"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers statements' settings checks)
            emails,  # noqa: F401  (registers the monthly summary email renderer with delivery)
            receivers,  # noqa: F401  (marks a summary sent when delivery says it was delivered)
        )
