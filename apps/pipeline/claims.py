"""Claims on raw messages: who processes a message, and how a dead worker's claim heals.

A claim is two things. The compare-and-set that commits `status='processing'` and counts the
attempt (`claim`, `claim_waiting`), so that a crash is an attempt like any failure. And, on
PostgreSQL, a row lock on the message that the processing transaction takes first (`hold`) and
keeps until it commits: while the worker lives the row is locked; when its process or its
connection dies, PostgreSQL rolls the transaction back and the lock is gone. The heal sweep
(`messages_heal`, every INGEST_HEAL_SECONDS) skips locked rows, so what it finds in
`processing` past INGEST_CLAIM_GRACE (the claim's commit to the lock) belongs to nobody: back to
`received` and enqueued, or a dead letter once INGEST_MAX_ATTEMPTS attempts are spent.

`hold` also checks that each claim is still the one this worker made (its attempt number): a
worker too slow to take its lock within the grace may find its message healed and taken by
another; it then leaves that message alone, and nothing is processed twice."""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from apps.common.lookups import array_param
from apps.common.time import now
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage

logger = logging.getLogger(__name__)


def claim(message_id: UUID | str, *, replay: bool) -> bool:
    """Compare-and-set into `processing`, counting an attempt; the rowcount says whether this
    worker won (acks-late redelivery, sweep and retry overlap are no-ops)."""
    allowed = [MessageStatus.RECEIVED]
    if replay:
        allowed += [MessageStatus.PROCESSED, MessageStatus.REJECTED, MessageStatus.FAILED]
    claimed = RawMessage.objects.filter(id=message_id, status__in=allowed).update(
        status=MessageStatus.PROCESSING, processing_started_at=now(), attempts=F("attempts") + 1, early_pending=False
    )
    return claimed == 1


def claim_waiting(limit: int, *, max_events: int) -> list[UUID]:
    """The oldest waiting first-attempt messages, at most `limit` of them and `max_events` events
    in all: a batch's transaction time grows with its events, and a small message that arrives
    behind it (a live probe, an urgent update) waits for that transaction to end. A message
    retried (attempts > 0) is never taken along: one that kills its worker stays alone."""
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


def hold(messages: Sequence[RawMessage]) -> set[UUID]:
    """First statement of the processing transaction: lock the claimed messages until it ends
    (the claim then dies with the connection). Returns those still claimed by this worker."""
    if connection.vendor != "postgresql":
        return {m.id for m in messages}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.id FROM ingestion_rawmessage m "
            "JOIN unnest(%s::uuid[], %s::int[]) AS mine(id, attempts) ON m.id = mine.id AND m.attempts = mine.attempts "
            "WHERE m.status = %s ORDER BY m.id FOR UPDATE",
            [
                array_param([str(m.id) for m in messages]),
                array_param([m.attempts for m in messages]),
                str(MessageStatus.PROCESSING),
            ],
        )
        return {row[0] for row in cursor.fetchall()}


class Finish(NamedTuple):
    message: RawMessage
    status: str
    accepted: int
    duplicates: int
    rejections: list[dict[str, object]]
    error: str


def finish_all(finished: list[Finish]) -> None:
    """Every message of a batch to its final status in one compare-and-set UPDATE (PostgreSQL):
    one statement per batch instead of one per message."""
    if connection.vendor != "postgresql" or len(finished) < 2:
        for f in finished:
            finish(
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


def finish(
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


DeadLetterHook = Callable[[RawMessage], object]


def release_after_failure(message: RawMessage, exc: Exception, *, on_dead_letter: Sequence[DeadLetterHook]) -> None:
    """Back to `received` for a retry, or `failed` (dead letter) after the last attempt.
    `message.attempts` is this worker's claim (read right after it): not refreshed, so that a
    slow worker whose claim was healed and taken over leaves the new claim alone."""
    _release(message, f"{type(exc).__name__}: {exc}", on_dead_letter=on_dead_letter)
    logger.error(
        "message processing failed (attempt %s)%s",
        message.attempts,
        ", dead letter" if message.attempts >= settings.INGEST_MAX_ATTEMPTS else "",
    )


def _release(message: RawMessage, error: str, *, on_dead_letter: Sequence[DeadLetterHook]) -> bool:
    dead = message.attempts >= settings.INGEST_MAX_ATTEMPTS
    message.error = error[:2000]
    with transaction.atomic():
        released = RawMessage.objects.filter(
            id=message.id, status=MessageStatus.PROCESSING, attempts=message.attempts
        ).update(
            status=MessageStatus.FAILED if dead else MessageStatus.RECEIVED,
            error=message.error,
            processed_at=now() if dead else None,
            early_pending=False,
        )
        if dead and released:
            for hook in on_dead_letter:
                hook(message)
    return bool(released)


def release_untried(message: RawMessage) -> bool:
    """A batch companion of a failed message: back in line, the attempt not counted (if the
    claim is still this worker's)."""
    released = RawMessage.objects.filter(
        id=message.id, status=MessageStatus.PROCESSING, attempts=message.attempts
    ).update(status=MessageStatus.RECEIVED, attempts=F("attempts") - 1)
    return released == 1


def release_to_regular(message: RawMessage) -> None:
    """The early lane is done with a message (or failed): back in line for the regular lane,
    which counts the first attempt."""
    RawMessage.objects.filter(id=message.id, status=MessageStatus.PROCESSING, attempts=0).update(
        status=MessageStatus.RECEIVED, processing_started_at=None, early_pending=False
    )


class HealResult(NamedTuple):
    freed: int  # held by a dead worker, back in line
    dead_letters: int  # held by a dead worker on their last attempt
    enqueued: int  # every message waiting too long, enqueued again


def messages_heal(*, on_dead_letter: Sequence[DeadLetterHook], at: datetime | None = None) -> HealResult:
    """The heal sweep: free the messages of dead workers, then enqueue every message still
    `received` after INGEST_REQUEUE_AFTER (its enqueue failed, or its task was lost)."""
    current = at or now()
    dead = 0
    freed: list[UUID] = []
    for message in _abandoned(current):
        attempt = "a worker died while processing it" if message.attempts else "the early lane's worker died"
        if not _release(
            message,
            f"WorkerLost: {attempt} (attempt {message.attempts} of {settings.INGEST_MAX_ATTEMPTS})",
            on_dead_letter=on_dead_letter,
        ):
            continue
        if message.attempts >= settings.INGEST_MAX_ATTEMPTS:
            dead += 1
            logger.error("message %s is a dead letter: its worker died %s times", message.id, message.attempts)
        else:
            freed.append(message.id)
            logger.warning("message %s freed: its worker died (attempt %s)", message.id, message.attempts)
    waiting = list(
        RawMessage.objects.filter(
            status=MessageStatus.RECEIVED, received_at__lt=current - settings.INGEST_REQUEUE_AFTER
        )
        .order_by("received_at")
        .values_list("id", flat=True)[:5000]
    )
    for message_id in dict.fromkeys([*freed, *waiting]):
        queue.enqueue(message_id)
    return HealResult(len(freed), dead, len(waiting))


def _abandoned(at: datetime) -> list[RawMessage]:
    """Messages in `processing` that no live transaction holds (PostgreSQL: their row lock is
    gone), or, elsewhere, that have been in `processing` for INGEST_PROCESSING_TIMEOUT."""
    if connection.vendor != "postgresql":
        return list(
            RawMessage.objects.select_related("feed")
            .defer("body")
            .filter(status=MessageStatus.PROCESSING, processing_started_at__lt=at - settings.INGEST_PROCESSING_TIMEOUT)
        )
    with transaction.atomic():
        # SKIP LOCKED: a row a live worker's transaction holds is not returned. The lock taken
        # here is this short transaction's; _release then updates the row compare-and-set.
        return list(
            RawMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("feed")
            .defer("body")  # up to 5,000 rows: the raw bodies are not needed to free them
            .filter(status=MessageStatus.PROCESSING, processing_started_at__lt=at - settings.INGEST_CLAIM_GRACE)
            .order_by("received_at")[:5000]
        )
