from django.apps import AppConfig


class CorrelationConfig(AppConfig):
    name = "apps.correlation"
    label = "correlation"

    def ready(self) -> None:
        # The ingestion pipeline calls the next stage explicitly through its AFTER_STORE list;
        # registering here keeps ingestion free of an import of correlation (one-way deps).
        from apps.ingestion import services as ingestion

        from .services import events_correlate

        ingestion.STORE_PRESUMED_MATCHED = True  # events_correlate corrects it (services.py)
        AFTER_STORE = ingestion.AFTER_STORE

        if events_correlate not in AFTER_STORE:
            AFTER_STORE.append(events_correlate)
