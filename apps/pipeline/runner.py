"""The batch runner: claim a message (and, under backlog, its companions), run the pipeline's
STAGES on them in the transactions the stages' `commits` marks say, and release them when
that fails.

Two transactions per batch (stages.py, "Two transactions"): the new events commit first; the
message statuses and every derived row commit together afterwards, so a crash leaves no
message marked done without its timelines, cases and holds, and a retry or a replay gives the
same result (the events stored by the first are "restored" to it). The claim lives inside each
(claims.hold): a worker that dies frees its messages for the heal sweep. Each stage is timed;
the timings go to the log line of the batch and to the metrics."""

import logging
import time
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from apps.common.logging import log_context
from apps.ingestion import queue
from apps.ingestion.models import RawMessage

from . import claims, metrics
from .stages import ON_DEAD_LETTER, RELEASE_STAGES, Batch, Stage, stages_selected

logger = logging.getLogger(__name__)

# Deadlocks and serialization failures are PostgreSQL telling two batches to go one after the
# other: the batch runs again at once, without counting an attempt against its messages.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
CONFLICT_RETRIES = 3


def message_process(*, message_id: UUID | str, replay: bool = False) -> str | None:
    """Process one message. Returns its final status, or None when another worker has it.

    Under load the worker also claims other waiting messages (oldest first, at most
    INGEST_BATCH_MESSAGES messages and INGEST_BATCH_EVENTS events in all) and processes them in
    the same transaction: correlation then runs once for the whole batch, so an order touched by
    many messages is refreshed once. Their own queued tasks find them claimed and do nothing. A
    retry processes its message alone, so one poisoned message cannot drag others to the
    dead-letter queue."""
    if not claims.claim(message_id, replay=replay):
        return None
    primary = RawMessage.objects.select_related("feed").get(id=message_id)
    extra = (
        []
        if replay or primary.attempts > 1
        else claims.claim_waiting(
            settings.INGEST_BATCH_MESSAGES - 1, max_events=settings.INGEST_BATCH_EVENTS - primary.received_count
        )
    )
    messages = [primary, *RawMessage.objects.select_related("feed").filter(id__in=extra).order_by("received_at")]
    with log_context(message_id=primary.id, feed=primary.feed.slug):
        try:
            statuses = batch_run(messages, stages_selected(settings.PIPELINE_STAGES))
        except Exception as exc:
            claims.release_after_failure(primary, exc, on_dead_letter=ON_DEAD_LETTER)
            for other in messages[1:]:
                # Their own tasks found them claimed and are gone: queue them again.
                if claims.release_untried(other):
                    queue.enqueue(other.id)
            metrics.batch_failed()
            raise
        status = statuses.get(primary.id)
        logger.info("message %s", status, extra={"batch": len(messages)})
        return status


def batch_run(
    messages: list[RawMessage],
    stages: tuple[Stage, ...],
    *,
    lane: str = "regular",
    lock_timeout_ms: int = 0,
    one_transaction: bool = False,
) -> dict[UUID, str]:
    """Run `stages` on these claimed messages, timed, in the transactions their `commits` marks
    say (or in one). Returns each message's final status (a message whose claim was taken over
    meanwhile is left out).

    `lock_timeout_ms` (PostgreSQL): give up, with OperationalError (lock_not_available), rather
    than wait longer than this for any lock another batch holds (the early lane's full run)."""
    return batch_execute(
        messages, stages, lane=lane, lock_timeout_ms=lock_timeout_ms, one_transaction=one_transaction
    ).statuses


def held_events_release() -> int:
    """Beat, every EVENTS_RELEASE_SECONDS: the future-dated events whose time has come are
    trusted, their orders recomputed (RELEASE_STAGES), a batch of at most
    EVENTS_RELEASE_BATCH events per transaction until none is left. Returns how many."""
    released = 0
    while True:
        batch = batch_execute([], RELEASE_STAGES, lane="release")
        released += len(batch.event_ids)
        if len(batch.event_ids) < settings.EVENTS_RELEASE_BATCH:
            return released


def batch_execute(
    messages: list[RawMessage],
    stages: tuple[Stage, ...],
    *,
    lane: str = "regular",
    lock_timeout_ms: int = 0,
    one_transaction: bool = False,
) -> Batch:
    """batch_run's work; returns the whole Batch (what each stage found).

    The stages run in as many transactions as their `commits` marks cut them into (STAGES: two),
    each opened by `claims.hold` and retried alone on a deadlock; `one_transaction` ignores the
    marks (the early lane's full run: its fallback must find nothing committed)."""
    phases = [list(stages)] if one_transaction else _phases(stages)
    batch, timings = Batch(messages=messages), dict[str, float]()
    for phase in phases:
        batch = _phase_run(batch, phase, timings, lane=lane, lock_timeout_ms=lock_timeout_ms)
    metrics.batch_done(lane, batch, timings)
    logger.info(
        "pipeline batch",
        extra={
            "lane": lane,
            "messages": len(batch.messages),
            "events": len(batch.event_ids),
            "orders": len(batch.orders),
            "stage_ms": {name: round(seconds * 1000, 2) for name, seconds in timings.items()},
        },
    )
    return batch


def _phases(stages: tuple[Stage, ...]) -> list[list[Stage]]:
    phases: list[list[Stage]] = [[]]
    for stage in stages:
        phases[-1].append(stage)
        if stage.commits:
            phases.append([])
    return [phase for phase in phases if phase]


def _phase_run(
    before: Batch, phase: list[Stage], timings: dict[str, float], *, lane: str, lock_timeout_ms: int
) -> Batch:
    """One transaction of the batch: hold the claims, run these stages. A deadlock or a
    serialization failure runs the transaction again from what the earlier ones committed."""
    for retry in range(CONFLICT_RETRIES + 1):
        try:
            with transaction.atomic():
                if lock_timeout_ms and connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms}ms"])
                held = claims.hold(before.messages)
                batch = before.resumed(held)
                for stage in phase:
                    started = time.perf_counter()
                    stage.run(batch)
                    timings[stage.name] = time.perf_counter() - started
            return batch
        except DatabaseError as exc:
            if retry == CONFLICT_RETRIES or getattr(exc.__cause__, "sqlstate", None) not in _RETRY_SQLSTATES:
                raise
            logger.warning("batch conflicted with another (%s); running it again", exc.__cause__.__class__.__name__)
            metrics.batch_conflict(lane)
    raise AssertionError("unreachable")  # the loop returns or raises
