"""Receiving and processing raw messages.

Receive: the body is committed before the 202, then the processing task is enqueued after
commit. If the broker is down the enqueue fails quietly: the message stays `received` and the
beat sweep (`messages_requeue_stalled`) enqueues it again.

Process: claim the message by compare-and-set (received → processing), parse and validate,
store the events in bulk and finish the message — the store and the finish in one transaction,
so a crash leaves nothing half done and a retry or a replay gives the same result."""

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F

from apps.accounts.services import audit_record
from apps.common.logging import log_context
from apps.common.time import now
from apps.events.services import events_store
from apps.events.validation import Rejection, ValidEvent
from apps.feeds.models import Feed

from .choices import MessageStatus
from .formats import FORMATS, UnreadableBody
from .models import RawMessage

logger = logging.getLogger(__name__)

UNFINISHED = (MessageStatus.RECEIVED, MessageStatus.PROCESSING)


def _enqueue(message_id: UUID) -> None:
    from .tasks import process_message  # tasks import services; keep the cycle lazy

    try:
        process_message.delay(str(message_id))
    except Exception:  # broker down: the message is safe, the sweep will enqueue it
        logger.warning("could not enqueue message; the requeue sweep will pick it up", exc_info=True)


def message_receive(*, feed: Feed, body: bytes, content_type: str) -> RawMessage:
    """Store the raw body durably. Raises UnreadableBody (after storing it as rejected)."""
    adapter = FORMATS[feed.format]
    received_at = now()
    try:
        count = adapter.count(body)
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
    with transaction.atomic():
        message = RawMessage.objects.create(
            feed=feed, body=body, content_type=content_type, received_at=received_at, received_count=count
        )
        transaction.on_commit(lambda: _enqueue(message.id))
    with log_context(message_id=message.id, feed=feed.slug):
        logger.info("message received", extra={"events": count})
    return message


def _claim(message_id: UUID | str, *, replay: bool) -> bool:
    """Compare-and-set into `processing`; the rowcount says whether this worker won."""
    allowed = [MessageStatus.RECEIVED]
    if replay:
        allowed += [MessageStatus.PROCESSED, MessageStatus.REJECTED, MessageStatus.FAILED]
    claimed = RawMessage.objects.filter(id=message_id, status__in=allowed).update(
        status=MessageStatus.PROCESSING, processing_started_at=now(), attempts=F("attempts") + 1
    )
    return claimed == 1


# Called with the ids of events stored from a message, inside its transaction. The next
# stages (correlation, projections, rules) register here in their own issue; a list of
# explicit callables keeps the flow readable without signals.
AFTER_STORE: list[Callable[[list[int]], object]] = []


def message_process(*, message_id: UUID | str, replay: bool = False) -> str | None:
    """Process one message. Returns its final status, or None when another worker has it."""
    if not _claim(message_id, replay=replay):
        return None
    message = RawMessage.objects.select_related("feed").get(id=message_id)
    with log_context(message_id=message.id, feed=message.feed.slug):
        try:
            status = _process_claimed(message)
        except Exception as exc:
            _release_after_failure(message, exc)
            raise
        logger.info("message %s", status)
        return status


def _process_claimed(message: RawMessage) -> str:
    adapter = FORMATS[message.feed.format]
    try:
        outcomes: list[ValidEvent | Rejection] = adapter.parse(bytes(message.body))
    except UnreadableBody as exc:
        _finish(message, MessageStatus.REJECTED, error=str(exc))
        return MessageStatus.REJECTED
    valid = [o for o in outcomes if isinstance(o, ValidEvent)]
    rejected = [o.as_dict() for o in outcomes if isinstance(o, Rejection)]
    with transaction.atomic():
        stored = events_store(
            feed_id=message.feed_id,
            system=message.feed.system,
            message_id=message.id,
            received_at=message.received_at,
            events=valid,
        )
        for stage in AFTER_STORE:
            stage(stored.new_event_ids + stored.restored_event_ids)
        usable = stored.accepted + stored.duplicates
        status = MessageStatus.PROCESSED if usable or not outcomes else MessageStatus.REJECTED
        _finish(
            message,
            status,
            accepted=stored.accepted,
            duplicates=stored.duplicates,
            rejections=rejected,
            error="" if usable or not rejected else "no event in this message was usable",
        )
    return status


def _finish(
    message: RawMessage,
    status: str,
    *,
    accepted: int = 0,
    duplicates: int = 0,
    rejections: list[dict[str, object]] | None = None,
    error: str = "",
) -> None:
    RawMessage.objects.filter(id=message.id, status=MessageStatus.PROCESSING).update(
        status=status,
        processed_at=now(),
        accepted=accepted,
        duplicates=duplicates,
        rejections=rejections or [],
        error=error,
    )


def _release_after_failure(message: RawMessage, exc: Exception) -> None:
    """Back to `received` for a retry, or `failed` (dead letter) after the last attempt."""
    message.refresh_from_db(fields=["attempts"])
    dead = message.attempts >= settings.INGEST_MAX_ATTEMPTS
    RawMessage.objects.filter(id=message.id, status=MessageStatus.PROCESSING).update(
        status=MessageStatus.FAILED if dead else MessageStatus.RECEIVED,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        processed_at=now() if dead else None,
    )
    logger.error("message processing failed (attempt %s)%s", message.attempts, ", dead letter" if dead else "")


def messages_requeue_stalled(*, at: datetime | None = None) -> int:
    """Beat job: enqueue messages nobody picked up; free those held by a dead worker."""
    current = at or now()
    RawMessage.objects.filter(
        status=MessageStatus.PROCESSING,
        processing_started_at__lt=current - settings.INGEST_PROCESSING_TIMEOUT,
    ).update(status=MessageStatus.RECEIVED)
    stalled = list(
        RawMessage.objects.filter(
            status=MessageStatus.RECEIVED, received_at__lt=current - settings.INGEST_REQUEUE_AFTER
        )
        .order_by("received_at")
        .values_list("id", flat=True)[:5000]
    )
    for message_id in stalled:
        _enqueue(message_id)
    return len(stalled)


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
        transaction.on_commit(lambda: _enqueue(message.id))
    return changed
