"""What a feed's health section lists beyond the overview's figures: the top rejection reasons
of its recent messages, and its future-dated events. Both bounded: the newest
REASON_SAMPLE messages with rejections, the newest FUTURE_LIST future-dated events, of the
last 24 h (health.HEALTH_WINDOW)."""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q

from apps.common.time import now
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed

from .choices import MessageStatus
from .health import HEALTH_WINDOW, feed_health_get, future_dated, health_rules
from .health_charts import events_per_hour_figure
from .models import RawMessage

REASON_SAMPLE = 200  # messages read for the reasons
TOP_REASONS = 5
FUTURE_LIST = 20

# A reason is grouped by its text once what varies from event to event is taken out: quoted
# values (a code, an id), UUIDs and long hex digests, times, and numbers standing alone (an
# index in a path, a version, the digits of SO-1001). "x12.at7" keeps its digits.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{16,}\b", re.I)
_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_NUMBER = re.compile(r"(?<!\w)\d+(?:\.\d+)?(?!\w)")


def reason_key(text: str) -> str:
    """The text a rejection reason is grouped by: `source_status: code 'X6' is not in code table
    x12.at7 (version 2)` and the same with 'AF' and version 3 are one reason."""
    text = _QUOTED.sub("'…'", text.strip())
    text = _UUID.sub("<id>", text)
    text = _TIME.sub("<time>", text)
    return _NUMBER.sub("#", text)


@dataclass(frozen=True, slots=True)
class Reason:
    reason: str  # grouped text
    count: int  # times seen (an event with two errors counts twice)
    example: str  # one of the texts as they were, the newest
    message_id: UUID  # the message of the example
    event_id: str | None


def top_rejection_reasons(*, feed: Feed, at: datetime) -> tuple[list[Reason], int]:
    """The TOP_REASONS most frequent reasons among the newest REASON_SAMPLE messages of the
    last 24 h that had rejections or could not be read at all, most frequent first, each with its
    newest example; and how many messages were read."""
    rows = list(
        RawMessage.objects.filter(feed=feed, received_at__gte=at - HEALTH_WINDOW, received_at__lte=at)
        .filter(~Q(rejections=[]) | Q(status=MessageStatus.REJECTED))
        .order_by("-received_at")
        .values_list("id", "rejections", "error")[:REASON_SAMPLE]
    )
    counts: Counter[str] = Counter()
    examples: dict[str, tuple[str, UUID, str | None]] = {}
    for message_id, rejections, error in rows:
        texts = [(text, r.get("event_id")) for r in rejections for text in r.get("errors") or ()]
        if not rejections and error:
            texts = [(error, None)]  # nothing could be read: the message's own reason
        for text, event_id in texts:
            key = reason_key(str(text))
            counts[key] += 1
            examples.setdefault(key, (str(text), message_id, event_id))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]  # ties: by text
    reasons = [Reason(key, n, *examples[key]) for key, n in ranked]
    return reasons, len(rows)


@dataclass(frozen=True, slots=True)
class FutureEvent:
    event_key: str
    type: str
    occurred_at: datetime
    received_at: datetime
    message_id: UUID
    ahead: timedelta  # occurred_at - received_at
    due: bool  # its time has come (occurred_at <= now)


def future_dated_events(*, feed: Feed, at: datetime) -> list[FutureEvent]:
    """The newest FUTURE_LIST events of the last 24 h dated further ahead of their arrival
    than the feed's future_tolerance."""
    window = CanonicalEvent.objects.filter(feed=feed, received_at__gte=at - HEALTH_WINDOW, received_at__lte=at)
    rows = (
        future_dated(window)
        .order_by("-received_at", "-id")
        .values_list("event_key", "type", "occurred_at", "received_at", "message_id")[:FUTURE_LIST]
    )
    return [
        FutureEvent(key, type_, occurred, received, message_id, occurred - received, occurred <= at)
        for key, type_, occurred, received, message_id in rows
    ]


def feed_health_section(*, feed: Feed, at: datetime | None = None) -> dict[str, Any]:
    """The context of a feed's health section (templates/ingestion/_feed_health.html)."""
    at = at or now()
    health = feed_health_get(feed=feed, at=at)
    reasons, read = top_rejection_reasons(feed=feed, at=at)
    return {
        "row": health,
        "reasons": reasons,
        "reasons_read": read,
        "reason_sample": REASON_SAMPLE,
        "future_events": future_dated_events(feed=feed, at=at),
        "future_list": FUTURE_LIST,
        "figure": events_per_hour_figure(health),
        "rules": health_rules(),
    }
