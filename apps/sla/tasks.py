from celery import shared_task

from .services import sla_sweep


@shared_task
def sweep_slas() -> int:
    """Beat, every minute. Overlapping runs are harmless: each breach is a compare-and-set."""
    return len(sla_sweep().opened)
