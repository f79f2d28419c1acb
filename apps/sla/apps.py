from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "apps.sla"
    label = "sla"

    def ready(self) -> None:
        # After correlation and exceptions in AFTER_STORE (INSTALLED_APPS order): SLA evaluation
        # reads the timelines correlation has just brought up to date.
        from apps.ingestion.services import AFTER_STORE

        from .services import slas_from_orders

        if slas_from_orders not in AFTER_STORE:
            AFTER_STORE.append(slas_from_orders)
