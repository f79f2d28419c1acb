from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "apps.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        # Registers the Celery tasks by their names (ingestion enqueues by name, and in the
        # embedded default the web process runs them eagerly). No stage is registered here: the
        # stages are the tuple in stages.py.
        from . import tasks  # noqa: F401
