from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Helpers every app may use; it imports none of the project's apps."""

    name = "common"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the settings checks common owns)
