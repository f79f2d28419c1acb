"""The intake: receiving raw messages, and putting finished ones back for a replay.

Receive only stores durably and enqueues: the body is committed before the 202, then the
pipeline's task is enqueued after commit (queue.enqueue). If the broker is down the enqueue
fails quietly: the message stays `received` and the pipeline's heal sweep enqueues it again.
Processing is the pipeline's (apps/pipeline: its stages in order in stages.py)."""

import logging

from django.conf import settings
from django.db import transaction

from apps.accounts.services import audit_record
from apps.common.logging import log_context
from apps.common.time import now
from apps.events.taxonomy import EARLY_LANE_TYPES
from apps.feeds.models import Feed

from . import queue
from .choices import MessageStatus
from .feed_formats import feed_context
from .formats import FORMATS, UnreadableBody
from .models import RawMessage

logger = logging.getLogger(__name__)

UNFINISHED = (MessageStatus.RECEIVED, MessageStatus.PROCESSING)


def takes_early_lane(feed: Feed, body: bytes, events: int) -> bool:
    """A message of at most INGEST_EARLY_MAX_EVENTS events (a webhook, a partner's single
    exception) that announces an exception or clearing event type goes first to the early lane
    (its own queue and worker: apps/pipeline/early.py), which opens its exceptions before
    correlation and then queues it for the regular lane. Other small messages would only make
    the lane's queue longer."""
    if not 0 < events <= settings.INGEST_EARLY_MAX_EVENTS:
        return False
    types = FORMATS[feed.format].announced_types(body, feed_context(feed))
    return types is None or not types.isdisjoint(EARLY_LANE_TYPES)


def message_receive(*, feed: Feed, body: bytes, content_type: str, enqueue: bool = True) -> RawMessage:
    """Store the raw body durably. Raises UnreadableBody (after storing it as rejected).
    `enqueue=False` leaves it for a caller that processes in-process (bulk loads)."""
    adapter = FORMATS[feed.format]
    received_at = now()
    try:
        count = adapter.count(body, feed_context(feed))
    except UnreadableBody as exc:
        message = RawMessage.objects.create(
            feed=feed,
            body=body,
            content_type=content_type,
            received_at=received_at,
            status=MessageStatus.REJECTED,
            processed_at=received_at,
            error=str(exc),
        )
        with log_context(message_id=message.id, feed=feed.slug):
            logger.info("message rejected at the door: %s", exc)
        raise
    early = enqueue and takes_early_lane(feed, body, count)
    with transaction.atomic():
        message = RawMessage.objects.create(
            feed=feed,
            body=body,
            content_type=content_type,
            received_at=received_at,
            received_count=count,
            early_pending=early,
        )
        if enqueue:
            transaction.on_commit(lambda: queue.enqueue(message.id, early=early))
    with log_context(message_id=message.id, feed=feed.slug):
        logger.info("message received", extra={"events": count})
    return message


def message_mark_for_replay(*, message: RawMessage, actor: object) -> bool:
    """From the admin/API: put a finished message back in the queue (audited)."""
    changed = (
        RawMessage.objects.filter(
            id=message.id, status__in=[MessageStatus.PROCESSED, MessageStatus.REJECTED, MessageStatus.FAILED]
        ).update(status=MessageStatus.RECEIVED, attempts=0)
        == 1
    )
    if changed:
        audit_record(actor=actor, action="message.replayed", target=f"message:{message.id}")
        transaction.on_commit(lambda: queue.enqueue(message.id))
    return changed
