"""The polling transport's Celery tasks (beat entry `poll-feeds`)."""

import logging

from celery import shared_task

from apps.common.time import parse_iso

from .rounds import poll_round, polls_claim_due

logger = logging.getLogger(__name__)

POLL_DUE_TASK = "polling.poll_due"
POLL_FEED_TASK = "polling.poll_feed"


@shared_task(name=POLL_DUE_TASK)
def poll_due() -> int:
    """Beat, every 10 s: claim the polled feeds that are due and queue one round each.
    Returns how many it claimed. A round that cannot be queued (broker down) is retried once
    its claim's lease runs out (rounds.CLAIM_LEASE)."""
    claimed = polls_claim_due()
    for feed_id, lease in claimed:
        try:
            poll_feed.apply_async(args=(feed_id, lease.isoformat()))
        except Exception:
            logger.warning("could not queue the poll round of feed %s; retried after its lease", feed_id, exc_info=True)
    return len(claimed)


@shared_task(name=POLL_FEED_TASK)
def poll_feed(feed_id: int, lease: str) -> str:
    """One polling round of a claimed feed; its outcome (drained, more, failed, paused…)."""
    return poll_round(feed_id=feed_id, lease=parse_iso(lease)).outcome
