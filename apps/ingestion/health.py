"""Feed health: each feed's status (healthy, lagging, silent, failing, paused) and the figures
behind it, for the feeds overview, a feed's page and the API. docs/feed-health.md defines each
status for people; the definitions in code are `_judge` and the constants below.

Everything is read for all the feeds at once, in a fixed number of grouped queries (none per
feed), from bounded windows by `received_at` on the (feed, received_at) indexes: the last 24 h
for counts, the last hour for "failing", and at most LAG_SAMPLE newest events per feed for lag.
The dead letters waiting have no window (a dead letter waits until someone acts): they are
counted up to DEAD_LETTERS_COUNTED."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Greatest, Trunc

from apps.common.time import duration_text, now
from apps.events.models import CanonicalEvent
from apps.events.taxonomy import System
from apps.feeds.models import Feed, FeedPoll

from .choices import MessageStatus
from .health_samples import JsonArrayLength, capped_counts_per_feed, latest_per_feed, percentile_cont
from .health_silence import (
    SILENCE_CAP,
    SILENCE_FACTOR,
    SILENCE_FLOOR,
    SILENCE_MIN_GAPS,
    SilenceThreshold,
    is_silent,
    quiet_since,
    silence_thresholds,
    with_quiet_since,
)
from .models import RawMessage


class HealthStatus(models.TextChoices):
    """Most serious first: a feed shows the first that applies."""

    PAUSED = "paused", "Paused"
    FAILING = "failing", "Failing"
    SILENT = "silent", "Silent"
    LAGGING = "lagging", "Lagging"
    HEALTHY = "healthy", "Healthy"


HEALTH_WINDOW = timedelta(hours=24)
RECENT_WINDOW = timedelta(hours=1)  # "failing" is judged on what the feed sent lately
FAILING_REJECT_RATE = 0.2
FAILING_MIN_EVENTS = 5  # fewer events in the hour: one bad event is not a failing feed
POLL_FAILING_AFTER = 3  # consecutive failed polls
LAG_SAMPLE = 2000
DEAD_LETTERS_COUNTED = 1000  # the dead letters waiting are counted up to this ("1,000+")
LAG_MIN_SAMPLE = 5
# How late a feed's events may arrive (p95 of received_at - occurred_at) before it is lagging.
# An ERP exports in batches; a scanner or a driver's app reports within minutes.
LAG_P95_MAX: dict[str, timedelta] = {
    System.ERP: timedelta(hours=2),
    System.WMS: timedelta(minutes=30),
    System.TMS: timedelta(hours=1),
    System.LASTMILE: timedelta(minutes=30),
}


@dataclass(frozen=True, slots=True)
class Counts:
    """What the messages received in a window became."""

    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0  # rejected events; a message nothing could be read from counts its events (at least 1)
    unreadable: int = 0  # messages nothing could be read from
    dead_letters: int = 0  # messages of the window that are now dead letters (status failed)

    @property
    def judged(self) -> int:
        return self.accepted + self.duplicates + self.rejected

    @property
    def reject_rate(self) -> float | None:
        return self.rejected / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class Lag:
    sampled: int  # events the percentiles are computed over
    p50: float | None  # seconds, received_at - occurred_at
    p95: float | None


@dataclass(frozen=True, slots=True)
class LastEvent:
    event_key: str
    type: str
    occurred_at: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class FeedHealth:
    feed: Feed
    at: datetime
    status: str
    reasons: tuple[str, ...]  # every finding, most serious first; empty when healthy
    last_message_at: datetime | None
    last_event: LastEvent | None
    quiet_since: datetime
    silence: SilenceThreshold
    day: Counts  # the last 24 h
    hour: Counts  # the last hour
    dead_letters: int  # waiting now, whenever received; at most DEAD_LETTERS_COUNTED
    dead_letters_capped: bool  # more than DEAD_LETTERS_COUNTED are waiting
    lag: Lag
    lag_max: timedelta
    future_dated: int  # events of the last 24 h dated beyond the feed's future_tolerance
    hourly: tuple[tuple[datetime, int], ...]  # events stored per hour of the last 24 h, every hour
    poll: FeedPoll | None

    @property
    def status_label(self) -> str:
        return str(HealthStatus(self.status).label)

    @property
    def silent_for(self) -> timedelta:
        return self.at - self.quiet_since

    @property
    def events_24h(self) -> int:
        return sum(n for _, n in self.hourly)

    # The overview's rows were dicts before this module (tests and templates index them).
    @property
    def messages_24h(self) -> int:
        return self.day.messages

    @property
    def silent(self) -> bool:
        return self.status == HealthStatus.SILENT

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def feed_health_list(*, at: datetime | None = None, feeds: QuerySet[Feed] | None = None) -> list[FeedHealth]:
    """The health of every feed (or of `feeds`), by slug, as of `at`. Eight queries whatever
    the number of feeds."""
    at = at or now()
    base = feeds if feeds is not None else Feed.objects.all()
    last_event = CanonicalEvent.objects.filter(feed=OuterRef("pk")).order_by("-received_at").values("id")[:1]
    rows = list(
        with_quiet_since(base.select_related("partner", "poll"))
        .annotate(last_event_id=Subquery(last_event))
        .order_by("slug")
    )
    ids = [f.pk for f in rows]
    if not ids:
        return []
    thresholds = silence_thresholds(rows, at=at)
    day, hour = _message_counts(ids, at)
    # Counted up to the cap + 1 (shown "1,000+"): the one figure with no window.
    waiting = capped_counts_per_feed(
        RawMessage, feed_ids=ids, status=MessageStatus.FAILED, cap=DEAD_LETTERS_COUNTED + 1
    )
    lags = _lags(ids, at)
    future = _future_dated_counts(ids, at)
    hourly = _events_per_hour(ids, at)
    last_events = _last_events([getattr(f, "last_event_id", None) for f in rows])
    result = []
    for feed in rows:
        poll: FeedPoll | None = getattr(feed, "poll", None)
        health = FeedHealth(
            feed=feed,
            at=at,
            status=HealthStatus.HEALTHY,
            reasons=(),
            last_message_at=getattr(feed, "last_message_at", None),
            last_event=last_events.get(getattr(feed, "last_event_id", None) or 0),
            quiet_since=quiet_since(feed),
            silence=thresholds[feed.pk],
            day=day.get(feed.pk, Counts()),
            hour=hour.get(feed.pk, Counts()),
            dead_letters=min(waiting.get(feed.pk, 0), DEAD_LETTERS_COUNTED),
            dead_letters_capped=waiting.get(feed.pk, 0) > DEAD_LETTERS_COUNTED,
            lag=lags.get(feed.pk, Lag(0, None, None)),
            lag_max=LAG_P95_MAX.get(feed.system, timedelta(hours=1)),
            future_dated=future.get(feed.pk, 0),
            hourly=tuple(hourly[feed.pk]),
            poll=poll,
        )
        status, reasons = _judge(health)
        result.append(replace(health, status=status, reasons=tuple(reasons)))
    return result


def feed_health_get(*, feed: Feed, at: datetime | None = None) -> FeedHealth:
    """One feed's health (the same reads, restricted to it)."""
    [health] = feed_health_list(at=at, feeds=Feed.objects.filter(pk=feed.pk))
    return health


def status_counts(rows: list[FeedHealth]) -> list[tuple[str, str, int]]:
    """(status, label, how many feeds) for every status, in HealthStatus order."""
    counts = defaultdict(int, dict.fromkeys(HealthStatus.values, 0))
    for row in rows:
        counts[row.status] += 1
    return [(s, str(label), counts[s]) for s, label in HealthStatus.choices]


def health_rules() -> dict[str, Any]:
    """The thresholds above, for the pages' help text (docs/feed-health.md explains them)."""
    return {
        "window": HEALTH_WINDOW,
        "recent": RECENT_WINDOW,
        "reject_rate": FAILING_REJECT_RATE,
        "min_events": FAILING_MIN_EVENTS,
        "poll_failures": POLL_FAILING_AFTER,
        "lag_min_sample": LAG_MIN_SAMPLE,
        "lag_max": [(str(label), LAG_P95_MAX[value]) for value, label in System.choices if value in LAG_P95_MAX],
        "silence_factor": SILENCE_FACTOR,
        "silence_floor": SILENCE_FLOOR,
        "silence_cap": SILENCE_CAP,
        "silence_min_gaps": SILENCE_MIN_GAPS,
    }


# --- the rules ------------------------------------------------------------------------------


def _judge(h: FeedHealth) -> tuple[str, list[str]]:
    """The status (the most serious that applies) and every finding, in words for an ops lead."""
    feed = h.feed
    paused, failing, silent, lagging = [], [], [], []
    if feed.paused_at is not None:
        paused.append(f"paused since {feed.paused_at:%Y-%m-%d %H:%M} UTC: its posts are refused")
    if h.poll is not None and h.poll.consecutive_failures >= POLL_FAILING_AFTER:
        error = f": {h.poll.last_error[:200]}" if h.poll.last_error else ""
        failing.append(f"polling failed {h.poll.consecutive_failures} times in a row{error}")
    if h.hour.dead_letters:
        failing.append(f"{h.hour.dead_letters} dead letter(s) among the messages of the last hour")
    rate = h.hour.reject_rate
    if h.hour.judged >= FAILING_MIN_EVENTS and rate is not None and rate >= FAILING_REJECT_RATE:
        failing.append(
            f"{rate:.0%} of the last hour's events rejected ({h.hour.rejected} of {h.hour.judged}; "
            f"failing from {FAILING_REJECT_RATE:.0%})"
        )
    if is_silent(feed, h.silence.threshold, at=h.at):
        what = "nothing received yet" if h.last_message_at is None else "nothing received"
        silent.append(f"{what} for {duration_text(h.silent_for)} (silent after {duration_text(h.silence.threshold)})")
    if h.lag.sampled >= LAG_MIN_SAMPLE and (h.lag.p95 or 0) > h.lag_max.total_seconds():
        lagging.append(
            f"lag p95 {duration_text(timedelta(seconds=h.lag.p95 or 0))} over the "
            f"{duration_text(h.lag_max)} allowed for {feed.get_system_display()} feeds"
        )
    found = {
        HealthStatus.PAUSED: paused,
        HealthStatus.FAILING: failing,
        HealthStatus.SILENT: silent,
        HealthStatus.LAGGING: lagging,
    }
    status = next((s for s, findings in found.items() if findings), HealthStatus.HEALTHY)
    return status, [finding for findings in found.values() for finding in findings]


# --- the reads ------------------------------------------------------------------------------


def _message_counts(ids: list[int], at: datetime) -> tuple[dict[int, Counts], dict[int, Counts]]:
    """Counts of the last 24 h and of the last hour, per feed. One grouped query."""
    recent = Q(received_at__gte=at - RECENT_WINDOW)
    unreadable = Q(status=MessageStatus.REJECTED, rejections=[])
    failed = Q(status=MessageStatus.FAILED)

    def aggregates(prefix: str, within: Q | None) -> dict[str, Any]:
        def also(condition: Q) -> Q:
            return within & condition if within is not None else condition

        return {
            f"{prefix}messages": Count("id", filter=within),
            f"{prefix}accepted": Sum("accepted", filter=within),
            f"{prefix}duplicates": Sum("duplicates", filter=within),
            f"{prefix}rejected_events": Sum(JsonArrayLength("rejections"), filter=within),
            f"{prefix}unreadable": Count("id", filter=also(unreadable)),
            f"{prefix}unreadable_events": Sum(Greatest("received_count", 1), filter=also(unreadable)),
            f"{prefix}dead_letters": Count("id", filter=also(failed)),
        }

    rows = (
        RawMessage.objects.filter(feed_id__in=ids, received_at__gte=at - HEALTH_WINDOW, received_at__lte=at)
        .values("feed_id")
        .annotate(**aggregates("d_", None), **aggregates("h_", recent))
        .order_by()
    )

    def counts(row: Mapping[str, Any], prefix: str) -> Counts:
        def n(name: str) -> int:
            return int(row[prefix + name] or 0)

        return Counts(
            messages=n("messages"),
            accepted=n("accepted"),
            duplicates=n("duplicates"),
            rejected=n("rejected_events") + n("unreadable_events"),
            unreadable=n("unreadable"),
            dead_letters=n("dead_letters"),
        )

    day, hour = {}, {}
    for row in rows:
        day[row["feed_id"]], hour[row["feed_id"]] = counts(row, "d_"), counts(row, "h_")
    return day, hour


def _lags(ids: list[int], at: datetime) -> dict[int, Lag]:
    """Lag percentiles of each feed's newest LAG_SAMPLE events of the last 24 h. One query."""
    samples: dict[int, list[float]] = defaultdict(list)
    rows = latest_per_feed(
        CanonicalEvent,
        feed_ids=ids,
        since=at - HEALTH_WINDOW,
        until=at,
        fields=["received_at", "occurred_at"],
        limit=LAG_SAMPLE,
    )
    for feed_id, received_at, occurred_at in rows:
        samples[feed_id].append((received_at - occurred_at).total_seconds())
    result = {}
    for feed_id, lags in samples.items():
        lags.sort()
        result[feed_id] = Lag(len(lags), percentile_cont(lags, 0.5), percentile_cont(lags, 0.95))
    return result


def future_dated(events: QuerySet[CanonicalEvent]) -> QuerySet[CanonicalEvent]:
    """Events dated further ahead of their arrival than their feed's future_tolerance."""
    return events.filter(future_dated=True)


def _future_dated_counts(ids: list[int], at: datetime) -> dict[int, int]:
    window = CanonicalEvent.objects.filter(feed_id__in=ids, received_at__gte=at - HEALTH_WINDOW, received_at__lte=at)
    rows = future_dated(window).values("feed_id").annotate(n=Count("id")).order_by().values_list("feed_id", "n")
    return dict(rows)


def _events_per_hour(ids: list[int], at: datetime) -> dict[int, list[tuple[datetime, int]]]:
    """Events stored per feed per hour over the last 24 h (the first and last hours partly),
    every hour listed, quiet ones as 0. One grouped query on the (feed, received_at) index."""
    since = at - HEALTH_WINDOW
    rows = (
        CanonicalEvent.objects.filter(feed_id__in=ids, received_at__gte=since, received_at__lte=at)
        .annotate(hour=Trunc("received_at", "hour", tzinfo=UTC))
        .values("feed_id", "hour")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("feed_id", "hour", "n")
    )
    busy = {(feed_id, hour): n for feed_id, hour, n in rows}
    first = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [first + timedelta(hours=i) for i in range(int((at - first) / timedelta(hours=1)) + 1)]
    return {feed_id: [(h, busy.get((feed_id, h), 0)) for h in hours] for feed_id in ids}


def _last_events(event_ids: list[int | None]) -> dict[int, LastEvent]:
    wanted = [i for i in event_ids if i is not None]
    if not wanted:
        return {}
    rows = CanonicalEvent.objects.filter(id__in=wanted).values_list(
        "id", "event_key", "type", "occurred_at", "received_at"
    )
    return {i: LastEvent(key, type_, occurred, received) for i, key, type_, occurred, received in rows}
