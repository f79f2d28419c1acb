from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "apps.exceptions"
    label = "exceptions"

    def ready(self) -> None:
        # Runs after correlation in AFTER_STORE (INSTALLED_APPS order): exceptions read the
        # timeline entries correlation has just written for the same events.
        from apps.ingestion.services import AFTER_STORE

        from .services import exceptions_from_events

        if exceptions_from_events not in AFTER_STORE:
            AFTER_STORE.append(exceptions_from_events)
