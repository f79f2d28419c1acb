"""Feed measures: events per feed over time, lag (received_at - occurred_at) and silence.

Events per bucket are counted from the (feed, received_at) index alone. Lag needs each event's
occurred_at, so it is read from a bounded sample: the latest LAG_SAMPLE events of each feed in
the window (a backward scan of the same index per feed), which keeps the query's cost flat
however much a feed sent. "Last heard" is the feed's latest raw message, whatever became of it,
so a feed sending only rejected messages is not silent; the rule is the feed page's."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber, Trunc

from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed
from apps.ingestion.health_silence import is_silent as health_is_silent
from apps.ingestion.health_silence import silence_thresholds, with_quiet_since

from ..windows import Span
from .stats import on_postgresql, percentiles

LAG_SAMPLE = 10_000


def feeds_with_last_heard() -> QuerySet[Feed]:
    """Every feed with `last_heard` (its latest message, or None) and what the silence rule
    reads (ingestion.health_silence.with_quiet_since), by slug."""
    return (
        with_quiet_since(Feed.objects.select_related("partner"))
        .annotate(last_heard=F("last_message_at"))
        .order_by("slug")
    )


def silent_feed_ids(feeds: Sequence[Feed], *, at: datetime) -> set[int]:
    """The feeds the feed-health rule calls silent (docs/feed-health.md): quiet for at least
    their threshold, learnt from their own rhythm unless set by hand; paused ones never. The
    same rule as the feeds overview and the `feed_silent` sweep, so the counters agree."""
    thresholds = silence_thresholds(feeds, at=at)
    return {f.pk for f in feeds if health_is_silent(f, thresholds[f.pk].threshold, at=at)}


def is_silent(feed: Feed, *, at: datetime) -> bool:
    return feed.pk in silent_feed_ids([feed], at=at)


@dataclass(frozen=True, slots=True)
class FeedSilence:
    feeds: int
    silent: int


def feed_silence(*, at: datetime) -> FeedSilence:
    feeds = list(feeds_with_last_heard())
    return FeedSilence(feeds=len(feeds), silent=len(silent_feed_ids(feeds, at=at)))


@dataclass(frozen=True, slots=True)
class FeedActivity:
    slug: str
    total: int
    buckets: list[tuple[datetime, int]]  # (bucket start, events received), busy buckets only


def feed_activity(*, span: Span) -> list[FeedActivity]:
    """Events received per feed per bucket of the span, busiest feed first. One query."""
    rows = (
        CanonicalEvent.objects.filter(received_at__gte=span.since, received_at__lte=span.until)
        .annotate(bucket=Trunc("received_at", span.bucket, tzinfo=UTC))
        .values("feed_id", "bucket")
        .annotate(n=Count("*"))
        .order_by()
    )
    per_feed: dict[int, list[tuple[datetime, int]]] = {}
    for r in rows:
        per_feed.setdefault(r["feed_id"], []).append((r["bucket"], r["n"]))
    slugs = dict(Feed.objects.filter(id__in=per_feed).values_list("id", "slug")) if per_feed else {}
    result = [
        FeedActivity(slug=slugs[feed_id], total=sum(n for _, n in buckets), buckets=sorted(buckets))
        for feed_id, buckets in per_feed.items()
    ]
    return sorted(result, key=lambda a: (-a.total, a.slug))


@dataclass(frozen=True, slots=True)
class Lag:
    sampled: int
    p50: float | None  # seconds
    p90: float | None


def feed_lag(*, feed_ids: list[int], span: Span) -> dict[int, Lag]:
    """Lag percentiles of each feed's latest LAG_SAMPLE events received in the span. One query."""
    if not feed_ids:
        return {}
    if on_postgresql():
        return _feed_lag_sql(feed_ids, span)
    ranked = (
        CanonicalEvent.objects.filter(feed_id__in=feed_ids, received_at__gte=span.since, received_at__lte=span.until)
        .annotate(rank=Window(RowNumber(), partition_by=[F("feed_id")], order_by=F("received_at").desc()))
        .filter(rank__lte=LAG_SAMPLE)
        .values_list("feed_id", "received_at", "occurred_at")
    )
    lags: dict[int, list[float]] = {}
    for feed_id, received_at, occurred_at in ranked:
        lags.setdefault(feed_id, []).append((received_at - occurred_at).total_seconds())
    result = {}
    for feed_id in feed_ids:
        n, (p50, p90) = percentiles(lags.get(feed_id, []))
        result[feed_id] = Lag(sampled=n, p50=p50, p90=p90)
    return result


def _feed_lag_sql(feed_ids: list[int], span: Span) -> dict[int, Lag]:
    sql = """
        SELECT f.id, s.n, s.p
        FROM unnest(%s::bigint[]) AS f(id)
        CROSS JOIN LATERAL (
            SELECT count(*) AS n,
                   percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY x.lag) AS p
            FROM (
                SELECT EXTRACT(EPOCH FROM e.received_at - e.occurred_at)::float8 AS lag
                FROM events_canonicalevent e
                WHERE e.feed_id = f.id AND e.received_at >= %s AND e.received_at <= %s
                ORDER BY e.received_at DESC
                LIMIT %s
            ) AS x
        ) AS s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [feed_ids, span.since, span.until, LAG_SAMPLE])
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return {feed_id: Lag(sampled=n, p50=(p or [None])[0], p90=(p or [None, None])[1]) for feed_id, n, p in rows}
