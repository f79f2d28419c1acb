"""The pipeline's Celery tasks, under the names ingestion enqueues (apps/ingestion/queue.py)."""

from celery import shared_task
from celery.app.task import Task

from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.queue import PROCESS_EARLY_TASK, PROCESS_TASK

from .claims import messages_heal
from .early import message_process_early
from .runner import held_events_release, message_process
from .stages import ON_DEAD_LETTER


@shared_task(bind=True, name=PROCESS_TASK, max_retries=4, acks_late=True)
def process_message(self: Task, message_id: str) -> str | None:
    try:
        return message_process(message_id=message_id)
    except Exception as exc:
        # The runner has put the message back to `received` (or dead-lettered it).
        if RawMessage.objects.filter(id=message_id, status=MessageStatus.RECEIVED).exists():
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        return MessageStatus.FAILED


@shared_task(name=PROCESS_EARLY_TASK, acks_late=True)
def process_message_early(message_id: str) -> bool:
    """The early lane (its own queue, settings.INGEST_EARLY_QUEUE): see message_process_early."""
    return message_process_early(message_id=message_id)


@shared_task(name="pipeline.heal_messages")
def heal_messages() -> dict[str, int]:
    """Beat, every INGEST_HEAL_SECONDS: free dead workers' claims, enqueue what waits too long."""
    return messages_heal(on_dead_letter=ON_DEAD_LETTER)._asdict()


@shared_task(name="pipeline.release_held_events")
def release_held_events() -> int:
    """Beat, every EVENTS_RELEASE_SECONDS: trust the future-dated events whose time has come."""
    return held_events_release()
