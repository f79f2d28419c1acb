"""Handing a stored message to the pipeline (apps/pipeline), by the names of its Celery tasks.

Ingestion sits below the pipeline and does not import it: it names the tasks the pipeline
implements (apps/pipeline/tasks.py registers them under these names). A Celery signature by
name runs the registered task, eagerly in the embedded default."""

import logging
from uuid import UUID

from celery import current_app
from django.conf import settings

logger = logging.getLogger(__name__)

PROCESS_TASK = "pipeline.process_message"
PROCESS_EARLY_TASK = "pipeline.process_message_early"


def enqueue(message_id: UUID | str, *, early: bool = False) -> None:
    """Queue the message for processing (the early lane's queue when `early`). A broker that is
    down is logged, never raised: the message is committed, and the heal sweep enqueues it."""
    name, queue = (
        (PROCESS_EARLY_TASK, settings.INGEST_EARLY_QUEUE)
        if early
        else (PROCESS_TASK, settings.CELERY_TASK_DEFAULT_QUEUE)
    )
    try:
        current_app.signature(name, args=(str(message_id),)).apply_async(queue=queue)
    except Exception:
        logger.warning("could not enqueue message; the requeue sweep will pick it up", exc_info=True)
