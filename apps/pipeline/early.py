"""The early lane (docs/live.md "Early exceptions"): a small message that announces an exception
or clearing event is processed by a worker of its own queue, in full when no other batch holds
what it touches, otherwise its EARLY_STAGES (partner exceptions from the committed graph) before
it is handed to the regular lane (runner.message_process).

The routing decision is made at the door (apps.ingestion.services.takes_early_lane)."""

import logging
from uuid import UUID

from django.conf import settings
from django.db import OperationalError

from apps.common.time import now
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage

from .claims import release_to_regular
from .runner import batch_run
from .stages import EARLY_STAGES, STAGES

logger = logging.getLogger(__name__)


def message_process_early(*, message_id: UUID | str) -> bool:
    """The early lane for a small message that announces an exception or clearing event.

    First it tries to process the message **in full** (STAGES: correlation, exceptions, SLA,
    `order.updated`), without waiting more than INGEST_EARLY_LOCK_TIMEOUT_MS for a lock: since
    batches correlate in parallel, a webhook about an order no regular batch holds right now is
    done in tens of ms instead of waiting behind a large batch. When a lock is busy (a regular
    batch is on the same order) it falls back to the EARLY_STAGES — its events stored unmatched,
    its partner exceptions opened from the committed graph — and hands the message to the
    regular lane in the same transaction, which processes it in full (its events "restored").
    INGEST_EARLY_LOCK_TIMEOUT_MS=0 skips the full attempt.

    Until then the message is `early_pending`: the regular lane's batches do not take it along
    (its own task, or the heal sweep's, still processes it if no early worker runs). The claim
    counts no attempt. Nothing is lost if this fails or the worker dies: the message is back to
    `received`, or still `processing` with no live lock, which the heal sweep frees; either way
    the regular lane processes it in full. Returns whether any stage ran."""
    claimed = RawMessage.objects.filter(
        id=message_id, status=MessageStatus.RECEIVED, attempts=0, early_pending=True
    ).update(status=MessageStatus.PROCESSING, processing_started_at=now())
    if not claimed:
        return False  # the regular lane (or a replay) has it already
    message = RawMessage.objects.select_related("feed").get(id=message_id)
    if settings.INGEST_EARLY_LOCK_TIMEOUT_MS > 0 and _in_full(message):
        return True
    ran = False
    try:
        batch_run([message], EARLY_STAGES, lane="early")
        ran = True
    except Exception:
        logger.warning("early lane failed; the regular lane will process the message", exc_info=True)
        release_to_regular(message)
    queue.enqueue(message.id)
    return ran


def _in_full(message: RawMessage) -> bool:
    """The whole pipeline on this one message, giving up on any lock wait over the timeout.
    Returns whether the message is done (False: nothing was written, fall back)."""
    try:
        batch_run(
            [message], STAGES, lane="early", lock_timeout_ms=settings.INGEST_EARLY_LOCK_TIMEOUT_MS, one_transaction=True
        )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
            logger.warning("early lane's full run failed; opening its exceptions only", exc_info=True)
        return False
    except Exception:
        # Rolled back, claim still ours: the exceptions-only path and the regular lane retry it.
        logger.warning("early lane's full run failed; opening its exceptions only", exc_info=True)
        return False
    return True
