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
from typing import NamedTuple
from uuid import UUID

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from apps.accounts.services import audit_record
from apps.common.logging import log_context
from apps.common.lookups import array_param
from apps.common.time import now
from apps.events.services import StoreRequest, events_store_batch
from apps.events.validation import Rejection, ValidEvent
from apps.feeds.models import Feed

from .choices import MessageStatus
from .early import takes_early_lane
from .formats import FORMATS, UnreadableBody
from .models import RawMessage

logger = logging.getLogger(__name__)

UNFINISHED = (MessageStatus.RECEIVED, MessageStatus.PROCESSING)


def _enqueue(message_id: UUID, *, early: bool = False) -> None:
    from .tasks import process_message, process_message_early  # tasks import services; lazy

    try:
        if early:
            process_message_early.apply_async((str(message_id),), queue=settings.INGEST_EARLY_QUEUE)
        else:
            process_message.delay(str(message_id))
    except Exception:  # broker down: the message is safe, the sweep will enqueue it
        logger.warning("could not enqueue message; the requeue sweep will pick it up", exc_info=True)


def message_receive(*, feed: Feed, body: bytes, content_type: str, enqueue: bool = True) -> RawMessage:
    """Store the raw body durably. Raises UnreadableBody (after storing it as rejected).
    `enqueue=False` leaves it for a caller that processes in-process (bulk loads)."""
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
            transaction.on_commit(lambda: _enqueue(message.id, early=early))
    with log_context(message_id=message.id, feed=feed.slug):
        logger.info("message received", extra={"events": count})
    return message


def _claim(message_id: UUID | str, *, replay: bool) -> bool:
    """Compare-and-set into `processing`; the rowcount says whether this worker won."""
    allowed = [MessageStatus.RECEIVED]
    if replay:
        allowed += [MessageStatus.PROCESSED, MessageStatus.REJECTED, MessageStatus.FAILED]
    claimed = RawMessage.objects.filter(id=message_id, status__in=allowed).update(
        status=MessageStatus.PROCESSING, processing_started_at=now(), attempts=F("attempts") + 1, early_pending=False
    )
    return claimed == 1


# Called with the ids of events stored from a message, inside its transaction. The next
# stages (correlation, projections, rules) register here in their own issue; a list of
# explicit callables keeps the flow readable without signals.
AFTER_STORE: list[Callable[[list[int]], object]] = []
# The `matched` flag new events are stored with. Correlation (an AFTER_STORE stage) sets it
# when it registers: it puts back to unmatched, in the same transaction, the few new events that
# land on no timeline, which costs one small UPDATE where marking every placed event matched
# rewrote every new row and its seven index entries (docs/benchmarks.md).
STORE_PRESUMED_MATCHED = False
# Called with every message of a processed batch, in its transaction, after AFTER_STORE: a
# feed that speaks clears its feed_silent case, a replayed dead letter its ingestion case.
AFTER_BATCH: list[Callable[[list[RawMessage]], object]] = []
# Called with a message that has just become a dead letter, in the transaction that marks it.
ON_DEAD_LETTER: list[Callable[[RawMessage], object]] = []


def message_process(*, message_id: UUID | str, replay: bool = False) -> str | None:
    """Process one message. Returns its final status, or None when another worker has it.

    Under load the worker also claims other waiting messages (oldest first, at most
    INGEST_BATCH_MESSAGES messages and INGEST_BATCH_EVENTS events in all) and processes them in
    the same transaction: correlation then runs once for the whole batch, so an order touched by
    many messages is refreshed once. Their own queued tasks find them claimed and do nothing. A
    retry processes its message alone, so one poisoned message cannot drag others to the dead-letter queue."""
    if not _claim(message_id, replay=replay):
        return None
    primary = RawMessage.objects.select_related("feed").get(id=message_id)
    extra = (
        []
        if replay or primary.attempts > 1
        else _claim_waiting(
            settings.INGEST_BATCH_MESSAGES - 1, max_events=settings.INGEST_BATCH_EVENTS - primary.received_count
        )
    )
    batch = [primary, *RawMessage.objects.select_related("feed").filter(id__in=extra).order_by("received_at")]
    with log_context(message_id=primary.id, feed=primary.feed.slug):
        try:
            statuses = _process_claimed(batch)
        except Exception as exc:
            _release_after_failure(primary, exc)
            for other in batch[1:]:
                _release_untried(other)
            raise
        logger.info("message %s", statuses[primary.id], extra={"batch": len(batch)})
        return statuses[primary.id]


def _claim_waiting(limit: int, *, max_events: int) -> list[UUID]:
    """The oldest waiting messages, at most `limit` of them and `max_events` events in all: a
    batch's transaction time grows with its events, and a small message that arrives behind it
    (a live probe, an urgent update) waits for that transaction to end."""
    if limit <= 0 or max_events <= 0 or connection.vendor != "postgresql":
        return []  # SQLite serialises writers anyway: nothing to gain
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH waiting AS (SELECT id, received_at, received_count FROM ingestion_rawmessage "
            "WHERE status = %s AND attempts = 0 AND NOT early_pending "
            "ORDER BY received_at LIMIT %s FOR UPDATE SKIP LOCKED), "
            "fitting AS (SELECT id, SUM(received_count) OVER (ORDER BY received_at, id) AS events FROM waiting) "
            "UPDATE ingestion_rawmessage SET status = %s, processing_started_at = %s, attempts = attempts + 1 "
            "WHERE id IN (SELECT id FROM fitting WHERE events <= %s) RETURNING id",
            [MessageStatus.RECEIVED, limit, MessageStatus.PROCESSING, now(), max_events],
        )
        return [row[0] for row in cursor.fetchall()]


def _process_claimed(batch: list[RawMessage]) -> dict[UUID, str]:
    statuses: dict[UUID, str] = {}
    parsed: list[tuple[RawMessage, list[ValidEvent | Rejection]]] = []
    for message in batch:
        try:
            parsed.append((message, FORMATS[message.feed.format].parse(bytes(message.body))))
        except UnreadableBody as exc:
            _finish(message, MessageStatus.REJECTED, error=str(exc))
            statuses[message.id] = MessageStatus.REJECTED
    with transaction.atomic():
        valid_by_message = [[o for o in outcomes if isinstance(o, ValidEvent)] for _, outcomes in parsed]
        stored_all = events_store_batch(
            [
                StoreRequest(message.feed_id, message.feed.system, message.id, message.received_at, valid)
                for (message, _), valid in zip(parsed, valid_by_message, strict=True)
            ],
            matched=STORE_PRESUMED_MATCHED,
        )
        stored_ids: list[int] = []
        finished: list[Finish] = []
        for (message, outcomes), stored in zip(parsed, stored_all, strict=True):
            rejected = [o.as_dict() for o in outcomes if isinstance(o, Rejection)]
            stored_ids += stored.new_event_ids + stored.restored_event_ids
            usable = stored.accepted + stored.duplicates
            status = MessageStatus.PROCESSED if usable or not outcomes else MessageStatus.REJECTED
            statuses[message.id] = status
            finished.append(
                Finish(
                    message,
                    status,
                    accepted=stored.accepted,
                    duplicates=stored.duplicates,
                    rejections=rejected,
                    error="" if usable or not rejected else "no event in this message was usable",
                )
            )
        _finish_all(finished)
        for stage in AFTER_STORE:
            stage(stored_ids)
        for hook in AFTER_BATCH:
            hook(batch)
    return statuses


class Finish(NamedTuple):
    message: RawMessage
    status: str
    accepted: int
    duplicates: int
    rejections: list[dict[str, object]]
    error: str


def _finish_all(finished: list[Finish]) -> None:
    """Every message of a batch to its final status in one compare-and-set UPDATE (PostgreSQL):
    one statement per batch instead of one per message."""
    if connection.vendor != "postgresql" or len(finished) < 2:
        for f in finished:
            _finish(
                f.message,
                f.status,
                accepted=f.accepted,
                duplicates=f.duplicates,
                rejections=f.rejections,
                error=f.error,
            )
        return
    columns = (
        [str(f.message.id) for f in finished],
        [str(f.status) for f in finished],  # str(): a TextChoices member is not a plain str
        [orjson.dumps(f.rejections).decode() for f in finished],
        [str(f.error) for f in finished],
    )
    ids, statuses, rejections, errors = (array_param(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ingestion_rawmessage AS m SET status = v.status, processed_at = %s, accepted = v.accepted, "
            "duplicates = v.duplicates, rejections = v.rejections::jsonb, error = v.error "
            "FROM unnest(%s::uuid[], %s::text[], %s::int[], %s::int[], %s::text[], %s::text[]) "
            "AS v(id, status, accepted, duplicates, rejections, error) "
            "WHERE m.id = v.id AND m.status = %s",
            [
                now(),
                ids,
                statuses,
                [f.accepted for f in finished],
                [f.duplicates for f in finished],
                rejections,
                errors,
                str(MessageStatus.PROCESSING),
            ],
        )


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
    message.error = f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        released = RawMessage.objects.filter(id=message.id, status=MessageStatus.PROCESSING).update(
            status=MessageStatus.FAILED if dead else MessageStatus.RECEIVED,
            error=message.error,
            processed_at=now() if dead else None,
        )
        if dead and released:
            for hook in ON_DEAD_LETTER:
                hook(message)
    logger.error("message processing failed (attempt %s)%s", message.attempts, ", dead letter" if dead else "")


def _release_untried(message: RawMessage) -> None:
    """A batch companion of a failed message: back in line, the attempt not counted."""
    RawMessage.objects.filter(id=message.id, status=MessageStatus.PROCESSING).update(
        status=MessageStatus.RECEIVED, attempts=F("attempts") - 1
    )


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
