from celery import shared_task
from celery.app.task import Task

from .choices import MessageStatus
from .early import message_process_early
from .models import RawMessage
from .services import message_process, messages_requeue_stalled


@shared_task(bind=True, max_retries=4, acks_late=True)
def process_message(self: Task, message_id: str) -> str | None:
    try:
        return message_process(message_id=message_id)
    except Exception as exc:
        # The service has put the message back to `received` (or dead-lettered it).
        if RawMessage.objects.filter(id=message_id, status=MessageStatus.RECEIVED).exists():
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        return MessageStatus.FAILED


@shared_task(acks_late=True)
def process_message_early(message_id: str) -> bool:
    """The early lane (its own queue, settings.INGEST_EARLY_QUEUE): see message_process_early."""
    return message_process_early(message_id=message_id)


@shared_task
def requeue_stalled_messages() -> int:
    return messages_requeue_stalled()
