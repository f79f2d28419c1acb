"""The early lane (docs/live.md "Early exceptions"): a small message that announces an exception
or clearing event has the EARLY_STAGES (partner exceptions from the committed graph) run before
correlation, by a worker of its own queue, and is then handed to the regular lane
(runner.message_process), which processes it in full.

The routing decision is made at the door (apps.ingestion.services.takes_early_lane)."""

import logging
from uuid import UUID

from apps.common.time import now
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage

from .claims import release_to_regular
from .runner import batch_run
from .stages import EARLY_STAGES

logger = logging.getLogger(__name__)


def message_process_early(*, message_id: UUID | str) -> bool:
    """The early lane for a small message: store its events (unmatched) and run the
    EARLY_STAGES, then hand the message back to the regular lane in the same transaction; the
    regular lane correlates it as usual (its events are then "restored", not new).

    Why: a regular batch takes hundreds of ms under load, and an ops lead should see a failed
    delivery at once. Until then the message is `early_pending`: the regular lane's batches do
    not take it along (its own task, or the heal sweep's, still processes it if no early worker
    runs). The claim counts no attempt. Nothing is lost if this fails or the worker dies: the
    message is back to `received`, or still `processing` with no live lock, which the heal
    sweep frees; either way the regular lane processes it in full. Returns whether the stages
    ran."""
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
    queue.enqueue(message.id)
    return ran
