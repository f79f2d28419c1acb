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

    1. Its EARLY_STAGES, in a transaction of their own: its events stored unmatched, its partner
       exceptions opened from the committed graph (no graph lock), the message handed back to
       `received`. The exception reaches the queue page at this commit, whatever the load.
    2. Then, since batches correlate in parallel, the whole pipeline on it (STAGES), waiting at
       most INGEST_EARLY_LOCK_TIMEOUT_MS for any lock: a webhook about an order no regular batch
       holds right now is done — timeline, projection, `order.updated` — in tens of ms instead of
       waiting behind a large batch. When a lock is busy (a regular batch is on that order),
       nothing of that attempt is kept and the regular lane processes the message in full (its
       events are then "restored", its exceptions found counted). 0 skips this step.

    Until step 1 commits the message is `early_pending`: the regular lane's batches do not take
    it along (its own task, or the heal sweep's, still processes it if no early worker runs). The
    claims count no attempt. Nothing is lost if this fails or the worker dies: the message is
    back to `received`, or still `processing` with no live lock, which the heal sweep frees;
    either way the regular lane processes it in full. Returns whether the early stages ran."""
    claimed = RawMessage.objects.filter(
        id=message_id, status=MessageStatus.RECEIVED, attempts=0, early_pending=True
    ).update(status=MessageStatus.PROCESSING, processing_started_at=now())
    if not claimed:
        return False  # the regular lane (or a replay) has it already
    message = RawMessage.objects.select_related("feed").get(id=message_id)
    ran = False
    try:
        batch_run([message], EARLY_STAGES, lane="early")
        ran = True
    except Exception:
        logger.warning("early lane failed; the regular lane will process the message", exc_info=True)
        release_to_regular(message)
    if settings.INGEST_EARLY_LOCK_TIMEOUT_MS > 0 and _in_full(message):
        return ran
    queue.enqueue(message.id)
    return ran


def _in_full(message: RawMessage) -> bool:
    """Claim the handed-back message again and run the whole pipeline on it, giving up on any
    lock wait over the timeout. Returns whether the message is done."""
    claimed = RawMessage.objects.filter(id=message.id, status=MessageStatus.RECEIVED, attempts=0).update(
        status=MessageStatus.PROCESSING, processing_started_at=now()
    )
    if not claimed:
        return True  # a regular batch took it along meanwhile: it is that batch's now
    try:
        batch_run([message], STAGES, lane="early", lock_timeout_ms=settings.INGEST_EARLY_LOCK_TIMEOUT_MS)
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
            logger.warning("early lane's full run failed; the regular lane will process it", exc_info=True)
        release_to_regular(message)
        return False
    except Exception:
        logger.warning("early lane's full run failed; the regular lane will process it", exc_info=True)
        release_to_regular(message)
        return False
    return True
