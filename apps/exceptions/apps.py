from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "apps.exceptions"
    label = "exceptions"

    def ready(self) -> None:
        # Runs after correlation in AFTER_STORE (INSTALLED_APPS order): exceptions read the
        # timeline entries correlation has just written for the same events. Cases moved by late
        # binding first, so that an exception event of the same batch joins the moved case.
        from apps.ingestion.early import EARLY_STAGES, EARLY_TYPES
        from apps.ingestion.services import AFTER_BATCH, AFTER_STORE, ON_DEAD_LETTER

        from .services import exceptions_from_events
        from .services.partner import RELEVANT_TYPES, exceptions_before_correlation
        from .services.rebind import cases_rebind
        from .services.system import dead_letter_record, system_batch_processed

        for stage in (cases_rebind, exceptions_from_events):
            if stage not in AFTER_STORE:
                AFTER_STORE.append(stage)
        # The early lane: a small message's partner exceptions before correlation (docs/live.md).
        if exceptions_before_correlation not in EARLY_STAGES:
            EARLY_STAGES.append(exceptions_before_correlation)
        EARLY_TYPES.update(RELEVANT_TYPES)
        if system_batch_processed not in AFTER_BATCH:
            AFTER_BATCH.append(system_batch_processed)
        if dead_letter_record not in ON_DEAD_LETTER:
            ON_DEAD_LETTER.append(dead_letter_record)
