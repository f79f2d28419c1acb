from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "apps.ingestion"
    label = "ingestion"

    def ready(self) -> None:
        # Registers the file intake's Celery tasks by their names (files.py enqueues the split by
        # name; in the embedded default the web process runs it eagerly).
        from . import tasks  # noqa: F401
