"""The early lane (docs/live.md "Early exceptions"): a small message that announces an exception
or clearing event has its EARLY_STAGES (partner exceptions from the committed graph) run before
correlation, by a worker of its own queue, and is then handed to the regular lane
(services.message_process), which processes it in full.

`takes_early_lane` decides at the door (services.message_receive); `message_process_early` is
the lane's task body (tasks.process_message_early)."""

import logging
from collections.abc import Callable
from uuid import UUID

from django.conf import settings
from django.db import transaction

from apps.common.time import now
from apps.events.services import StoreRequest, events_store_batch
from apps.events.validation import ValidEvent
from apps.feeds.models import Feed

from .choices import MessageStatus
from .formats import FORMATS
from .models import RawMessage

logger = logging.getLogger(__name__)

# The early lane (message_process_early): stages called with the ids of a small message's stored
# events before correlation, in a transaction of their own that takes no correlation lock, and
# the event types they act on (a message with none of them skips the lane).
EARLY_STAGES: list[Callable[[list[int]], object]] = []
EARLY_TYPES: set[str] = set()


def takes_early_lane(feed: Feed, body: bytes, events: int) -> bool:
    """A message of at most INGEST_EARLY_MAX_EVENTS events (a webhook, a partner's single
    exception) that announces an event type an early stage acts on goes first to the early lane
    (its own queue and worker), which opens its exceptions before correlation and then queues it
    for the regular lane. Other small messages would only make the lane's queue longer."""
    if not (0 < events <= settings.INGEST_EARLY_MAX_EVENTS and EARLY_STAGES):
        return False
    types = FORMATS[feed.format].announced_types(body)
    return types is None or not types.isdisjoint(EARLY_TYPES)


def message_process_early(*, message_id: UUID | str) -> bool:
    """The early lane for a small message: store its events and run the EARLY_STAGES (partner
    exceptions on the orders the committed graph gives), commit, and hand the message back to
    the regular lane, which correlates it as usual (its events are then "restored", not new).

    Why: correlation runs one batch at a time under one lock, so a message waits for the batch
    in progress (hundreds of ms under load); an ops lead should see a failed delivery at once.
    Until then the message is `early_pending`: the regular lane's batches do not take it along
    (its own task, or the requeue sweep's, still processes it if no early worker runs).
    Nothing is lost if this fails or the worker dies: the message is back to `received` (in the
    same transaction as the stage's writes) or still `processing`, and the requeue sweep resets
    it; either way the regular lane processes it in full. Returns whether it ran the stages."""
    from . import services  # services routes to this lane at the door; keep the cycle lazy

    claimed = RawMessage.objects.filter(
        id=message_id, status=MessageStatus.RECEIVED, attempts=0, early_pending=True
    ).update(status=MessageStatus.PROCESSING, processing_started_at=now())
    if not claimed:
        return False  # the regular lane (or a replay) has it already
    message = RawMessage.objects.select_related("feed").get(id=message_id)
    ran = False
    try:
        outcomes = FORMATS[message.feed.format].parse(bytes(message.body))
        valid = [o for o in outcomes if isinstance(o, ValidEvent)]
        with transaction.atomic():
            if any(event.type in EARLY_TYPES for event in valid):
                request = StoreRequest(message.feed_id, message.feed.system, message.id, message.received_at, valid)
                stored = events_store_batch([request], matched=services.STORE_PRESUMED_MATCHED)[0]
                for stage in EARLY_STAGES:
                    stage(stored.new_event_ids + stored.restored_event_ids)
                ran = True
            _release_to_regular(message)
    except Exception:
        logger.warning("early lane failed; the regular lane will process the message", exc_info=True)
        _release_to_regular(message)
    services._enqueue(message.id)
    return ran


def _release_to_regular(message: RawMessage) -> None:
    RawMessage.objects.filter(id=message.id, status=MessageStatus.PROCESSING, attempts=0).update(
        status=MessageStatus.RECEIVED, processing_started_at=None, early_pending=False
    )
