from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Helpers every app may use; it imports none of the project's apps."""

    name = "common"
