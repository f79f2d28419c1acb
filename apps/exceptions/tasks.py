from celery import shared_task

from .services.system import system_sweep


@shared_task
def sweep_system_exceptions() -> int:
    """Beat, every minute: feed_silent, ingestion and unmatched_event cases opened and resolved.
    Overlapping runs are harmless (see system_sweep). Returns how many cases it opened."""
    return len(system_sweep().opened)
