from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "apps.feeds"
    label = "feeds"

    def ready(self) -> None:
        from . import schema  # noqa: F401 - registers the OpenAPI auth extension
