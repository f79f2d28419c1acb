"""When a feed counts as silent: its silence threshold, and since when it has been quiet.

The threshold comes from the feed's own rhythm by default (`Feed.silence_auto`): the 95th
percentile of the gaps between its arrivals over the last 7 days, times SILENCE_FACTOR,
kept between SILENCE_FLOOR and SILENCE_CAP. An *arrival* is a minute in which the feed sent at
least one message, so a file split into 400 messages, or a burst of webhooks, is one arrival and
not 399 gaps of zero. Until the feed has SILENCE_MIN_GAPS gaps to learn from (a new feed, one
that sends twice a week), and whenever `silence_auto` is off, the threshold is
`Feed.max_silence` as set. docs/feed-health.md says the same for people.

The feed_silent sweep (apps/exceptions/services/system.py) and the health pages use these
functions, so a feed shown silent is a feed with an open feed_silent case, and the reverse."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat

from apps.accounts.models import AuditLog
from apps.feeds.models import Feed

from .health_samples import latest_per_feed, percentile_cont
from .models import RawMessage

SILENCE_RHYTHM_WINDOW = timedelta(days=7)
SILENCE_RHYTHM_SAMPLE = 2000  # newest messages read per feed: a chatty feed's rhythm is its floor anyway
SILENCE_MIN_GAPS = 5
SILENCE_PERCENTILE = 0.95
SILENCE_FACTOR = 2
SILENCE_FLOOR = timedelta(minutes=15)
SILENCE_CAP = timedelta(days=2)


class ThresholdSource:
    """How a feed's threshold was chosen (shown next to it)."""

    AUTO = "auto"  # learnt from the rhythm
    LEARNING = "learning"  # silence_auto, but too few arrivals yet: max_silence for now
    MANUAL = "manual"  # silence_auto off: max_silence as set


@dataclass(frozen=True, slots=True)
class SilenceThreshold:
    threshold: timedelta
    source: str  # a ThresholdSource value
    gaps: int  # arrival gaps the rhythm was learnt from (0 when not auto)
    gap_p95: timedelta | None  # the rhythm: 95th percentile gap between arrivals


def silence_thresholds(feeds: Sequence[Feed], *, at: datetime) -> dict[int, SilenceThreshold]:
    """{feed id: threshold} as of `at`. One query (for the feeds with silence_auto)."""
    auto_ids = [feed.pk for feed in feeds if feed.silence_auto]
    rows = latest_per_feed(
        RawMessage,
        feed_ids=auto_ids,
        since=at - SILENCE_RHYTHM_WINDOW,
        until=at,
        fields=["received_at"],
        limit=SILENCE_RHYTHM_SAMPLE,
    )
    arrivals: dict[int, set[datetime]] = {}
    for feed_id, received_at in rows:
        arrivals.setdefault(feed_id, set()).add(received_at.replace(second=0, microsecond=0))
    result = {}
    for feed in feeds:
        if not feed.silence_auto:
            result[feed.pk] = SilenceThreshold(feed.max_silence, ThresholdSource.MANUAL, 0, None)
        else:
            result[feed.pk] = _from_rhythm(feed, sorted(arrivals.get(feed.pk, ())))
    return result


def silence_threshold(feed: Feed, *, at: datetime) -> SilenceThreshold:
    return silence_thresholds([feed], at=at)[feed.pk]


def _from_rhythm(feed: Feed, minutes: list[datetime]) -> SilenceThreshold:
    gaps = sorted((later - earlier).total_seconds() for earlier, later in pairwise(minutes))
    if len(gaps) < SILENCE_MIN_GAPS:
        return SilenceThreshold(feed.max_silence, ThresholdSource.LEARNING, len(gaps), None)
    p95 = timedelta(seconds=percentile_cont(gaps, SILENCE_PERCENTILE) or 0)
    threshold = min(max(p95 * SILENCE_FACTOR, SILENCE_FLOOR), SILENCE_CAP)
    return SilenceThreshold(threshold, ThresholdSource.AUTO, len(gaps), p95)


def with_quiet_since(feeds: QuerySet[Feed]) -> QuerySet[Feed]:
    """Feeds annotated with `last_message_at` (their newest raw message, whatever became of it:
    a feed sending only rejected messages is not silent) and `resumed_at` (the last
    `feed.resumed` audit entry: a paused feed had nothing to say, so its silence counts from the
    resume). Both are index reads per feed, in the same query."""
    last_message = RawMessage.objects.filter(feed=OuterRef("pk")).order_by("-received_at").values("received_at")[:1]
    last_resume = (
        AuditLog.objects.filter(action="feed.resumed", target=Concat(Value("feed:"), OuterRef("slug")))
        .order_by("-at")
        .values("at")[:1]
    )
    return feeds.annotate(last_message_at=Subquery(last_message), resumed_at=Subquery(last_resume))


def quiet_since(feed: Feed) -> datetime:
    """Since when the feed has had nothing to say: its last message, its resume, or its creation,
    whichever is latest (needs `with_quiet_since`)."""
    moments = (feed.created_at, getattr(feed, "last_message_at", None), getattr(feed, "resumed_at", None))
    return max(t for t in moments if t is not None)


def is_silent(feed: Feed, threshold: timedelta, *, at: datetime) -> bool:
    """Active, and quiet for at least `threshold` (a paused feed is never silent)."""
    return not feed.is_paused and quiet_since(feed) + threshold <= at
