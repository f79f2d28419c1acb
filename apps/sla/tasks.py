from celery import shared_task

from .services import SWEEP_WORKERS, sla_sweep


@shared_task
def sweep_slas() -> int:
    """Beat, every minute. Overlapping runs share the work: each round claims its rows with
    SKIP LOCKED."""
    return len(sla_sweep(workers=SWEEP_WORKERS).opened)
