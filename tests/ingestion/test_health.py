"""Feed health on a frozen clock, from messages received and processed through the real
pipeline: a healthy feed told from a silent, lagging, failing, paused and future-dated one, the
figures behind each status, and the overview's cost not growing with the number of feeds.

The same assertions run on PostgreSQL (LATERAL reads) and SQLite (window functions)."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.feeds.models import Feed, FeedPoll
from apps.feeds.services import feed_set_paused
from apps.ingestion.choices import MessageStatus
from apps.ingestion.formats import UnreadableBody
from apps.ingestion.health import HealthStatus, feed_health_get, feed_health_list
from apps.ingestion.health_detail import future_dated_events, reason_key, top_rejection_reasons
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-26T12:00:00+00:00")


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def send(feed: Feed, at: datetime, events: list[dict[str, Any]]) -> RawMessage:
    """One message received at `at` and processed then."""
    with time_machine.travel(at, tick=False):
        message = message_receive(feed=feed, body=orjson.dumps({"events": events}), content_type="application/json")
        message_process(message_id=message.id)
    message.refresh_from_db()
    return message


def ev(key: str, occurred: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": key,
        "type": "pick.completed",
        "occurred_at": iso(occurred),
        "refs": {"order": "SO-1", "warehouse_task": f"WT-{key}"},
        **extra,
    }


def make_feed(slug: str, system: str = "wms") -> Feed:
    with time_machine.travel(ago(days=8), tick=False):
        return FeedFactory(slug=slug, partner_name=f"Partner of {slug}", system=system)


def steady(feed: Feed, *, last: datetime, every: timedelta, count: int, lag: timedelta, prefix: str) -> None:
    """`count` messages, one every `every`, the last at `last`, each with one event `lag` old."""
    for i in range(count):
        at = last - every * (count - 1 - i)
        send(feed, at, [ev(f"{prefix}-{i}", at - lag)])


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def feeds(clock: None) -> dict[str, Feed]:
    """Six feeds, one per case, each with two hours of traffic unless it says otherwise."""
    ten = timedelta(minutes=10)
    good = make_feed("good-wms")
    steady(good, last=ago(minutes=5), every=ten, count=12, lag=timedelta(minutes=2), prefix="g")

    quiet = make_feed("quiet-tms", system="tms")
    steady(quiet, last=ago(hours=6), every=ten, count=12, lag=timedelta(minutes=2), prefix="q")

    late = make_feed("late-erp", system="erp")
    steady(late, last=ago(minutes=5), every=ten, count=12, lag=timedelta(hours=5), prefix="l")

    bad = make_feed("bad-lastmile", system="lastmile")
    steady(bad, last=ago(hours=1, minutes=5), every=ten, count=6, lag=timedelta(minutes=1), prefix="b")
    for i in range(6):  # the last hour: 2 good events and 4 with a naive time, every 10 minutes
        at = ago(minutes=55 - 10 * i)
        send(bad, at, [ev(f"bad-{i}", at - timedelta(minutes=1), occurred_at="2026-11-26T11:00:00")])
    send(bad, ago(minutes=2), [ev("b-ok-1", ago(minutes=3)), ev("b-ok-2", ago(minutes=3))])

    held = make_feed("held-wms")
    steady(held, last=ago(minutes=5), every=ten, count=12, lag=timedelta(minutes=2), prefix="h")
    feed_set_paused(feed=held, paused=True)

    ahead = make_feed("ahead-tms", system="tms")
    steady(ahead, last=ago(minutes=5), every=ten, count=12, lag=timedelta(minutes=2), prefix="a")
    send(ahead, ago(minutes=30), [ev("a-future-1", ago(minutes=30) + timedelta(hours=3))])
    send(ahead, ago(minutes=20), [ev("a-future-2", ago(minutes=20) + timedelta(minutes=20))])
    send(ahead, ago(minutes=15), [ev("a-soon", ago(minutes=15) + timedelta(minutes=10))])  # inside the 15 min
    return {f.slug: f for f in (good, quiet, late, bad, held, ahead)}


def by_slug() -> dict[str, Any]:
    return {h.feed.slug: h for h in feed_health_list(at=NOW)}


# --- statuses -------------------------------------------------------------------------------


def test_each_feed_gets_the_status_that_describes_it(feeds: dict[str, Feed]) -> None:
    health = by_slug()
    assert {slug: h.status for slug, h in health.items()} == {
        "good-wms": HealthStatus.HEALTHY,
        "quiet-tms": HealthStatus.SILENT,
        "late-erp": HealthStatus.LAGGING,
        "bad-lastmile": HealthStatus.FAILING,
        "held-wms": HealthStatus.PAUSED,
        "ahead-tms": HealthStatus.HEALTHY,
    }
    assert health["good-wms"].reasons == ()


def test_a_healthy_feed_shows_its_figures(feeds: dict[str, Feed]) -> None:
    h = by_slug()["good-wms"]
    assert h.last_message_at == ago(minutes=5)
    assert h.last_event is not None
    assert (h.last_event.event_key, h.last_event.occurred_at) == ("g-11", ago(minutes=7))
    assert (h.day.messages, h.day.accepted, h.day.rejected, h.day.reject_rate) == (12, 12, 0, 0.0)
    assert h.events_24h == 12
    assert (h.lag.sampled, h.lag.p50, h.lag.p95) == (12, 120.0, 120.0)
    assert h.dead_letters == 0
    assert h.future_dated == 0
    # hourly series: every hour of the last 24 h, quiet ones at 0, the 12 events in the last two
    assert len(h.hourly) == 25
    assert h.hourly[0][0] == datetime.fromisoformat("2026-11-25T12:00:00+00:00")
    assert sum(n for _, n in h.hourly[-3:]) == 12
    assert all(n == 0 for _, n in h.hourly[:-3])


def test_a_silent_feed_says_for_how_long_and_after_what(feeds: dict[str, Feed]) -> None:
    h = by_slug()["quiet-tms"]
    # 11 gaps of 10 minutes: 2 x the 95th percentile gap
    assert (h.silence.source, h.silence.threshold) == ("auto", timedelta(minutes=20))
    assert h.silent_for == timedelta(hours=6)
    assert h.reasons == ("nothing received for 6h (silent after 20 min)",)


def test_a_silent_feed_is_healthy_again_when_it_speaks(feeds: dict[str, Feed]) -> None:
    send(feeds["quiet-tms"], ago(minutes=1), [ev("q-back", ago(minutes=2))])
    assert by_slug()["quiet-tms"].status == HealthStatus.HEALTHY


def test_a_lagging_feed_shows_its_lag_against_what_its_system_allows(feeds: dict[str, Feed]) -> None:
    h = by_slug()["late-erp"]
    assert (h.lag.p50, h.lag.p95) == (5 * 3600.0, 5 * 3600.0)
    assert h.lag_max == timedelta(hours=2)
    assert h.reasons == ("lag p95 5h over the 2h allowed for ERP feeds",)


def test_lag_is_read_from_the_last_24_hours_only(clock: None) -> None:
    feed = make_feed("old-lag-wms")
    send(feed, ago(hours=30), [ev("very-late", ago(hours=40))])  # outside the window
    send(feed, ago(minutes=10), [ev("fresh", ago(minutes=11))])
    h = feed_health_get(feed=feed, at=NOW)
    assert (h.lag.sampled, h.lag.p50) == (1, 60.0)


def test_a_failing_feed_names_its_reject_rate(feeds: dict[str, Feed]) -> None:
    h = by_slug()["bad-lastmile"]
    # last hour: 6 messages with a naive time (rejected) and one with 2 good events
    assert (h.hour.rejected, h.hour.judged) == (6, 8)
    assert h.reasons == ("75% of the last hour's events rejected (6 of 8; failing from 20%)",)
    assert (h.day.rejected, h.day.judged) == (6, 14)
    assert h.day.reject_rate == pytest.approx(6 / 14)


def test_rejections_older_than_an_hour_no_longer_make_a_feed_failing(feeds: dict[str, Feed]) -> None:
    h = feed_health_get(feed=feeds["bad-lastmile"], at=NOW + timedelta(hours=1))
    assert h.status == HealthStatus.SILENT  # and the feed has gone quiet since
    assert h.day.rejected == 6  # still counted in the 24 h figures


def test_one_bad_event_in_a_quiet_hour_is_not_failing(clock: None) -> None:
    feed = make_feed("one-bad-wms")
    send(feed, ago(minutes=20), [ev("x", ago(minutes=21), occurred_at="2026-11-26T11:00:00")])
    send(feed, ago(minutes=10), [ev("y", ago(minutes=11))])
    h = feed_health_get(feed=feed, at=NOW)
    assert (h.hour.rejected, h.hour.judged) == (1, 2)
    assert h.status == HealthStatus.HEALTHY


def test_a_dead_letter_of_the_last_hour_makes_a_feed_failing(feeds: dict[str, Feed]) -> None:
    message = RawMessage.objects.filter(feed=feeds["good-wms"]).order_by("-received_at").first()
    assert message is not None
    RawMessage.objects.filter(id=message.id).update(status=MessageStatus.FAILED, error="OperationalError: gone")
    h = by_slug()["good-wms"]
    assert h.status == HealthStatus.FAILING
    assert h.reasons == ("1 dead letter(s) among the messages of the last hour",)
    assert (h.dead_letters, h.day.dead_letters) == (1, 1)


def test_a_polled_feed_failing_to_poll_is_failing(feeds: dict[str, Feed]) -> None:
    FeedPoll.objects.create(
        feed=feeds["good-wms"], url="http://partner.example/events", consecutive_failures=3, last_error="HTTP 503"
    )
    h = by_slug()["good-wms"]
    assert h.status == HealthStatus.FAILING
    assert h.reasons == ("polling failed 3 times in a row: HTTP 503",)
    FeedPoll.objects.filter(feed=feeds["good-wms"]).update(consecutive_failures=2)
    assert by_slug()["good-wms"].status == HealthStatus.HEALTHY


def test_a_paused_feed_is_paused_whatever_else(feeds: dict[str, Feed]) -> None:
    h = by_slug()["held-wms"]
    assert h.reasons == ("paused since 2026-11-26 12:00 UTC: its posts are refused",)
    # a paused feed is never silent, however long it has been quiet
    assert feed_health_get(feed=feeds["held-wms"], at=NOW + timedelta(days=3)).status == HealthStatus.PAUSED


def test_a_feed_that_never_sent_is_healthy_until_its_silence_runs_out(clock: None) -> None:
    with time_machine.travel(ago(minutes=30), tick=False):
        feed = FeedFactory(slug="new-wms")
    h = feed_health_get(feed=feed, at=NOW)
    assert (h.status, h.last_message_at, h.last_event) == (HealthStatus.HEALTHY, None, None)
    assert (h.silence.source, h.silence.threshold) == ("learning", timedelta(hours=1))
    late = feed_health_get(feed=feed, at=NOW + timedelta(minutes=31))
    assert late.status == HealthStatus.SILENT
    assert late.reasons == ("nothing received yet for 1h (silent after 1h)",)


# --- future-dated events --------------------------------------------------------------------


def test_future_dated_events_are_counted_and_listed_beyond_the_tolerance(feeds: dict[str, Feed]) -> None:
    h = by_slug()["ahead-tms"]
    assert h.future_dated == 2  # 3 h and 20 min ahead; the one 10 min ahead is within 15 min
    assert h.status == HealthStatus.HEALTHY  # a flag, not a status
    listed = future_dated_events(feed=feeds["ahead-tms"], at=NOW)
    assert [(e.event_key, e.ahead, e.due) for e in listed] == [
        ("a-future-2", timedelta(minutes=20), True),  # dated 12:00: its time has come
        ("a-future-1", timedelta(hours=3), False),
    ]
    assert by_slug()["good-wms"].future_dated == 0


def test_the_tolerance_is_the_feeds_own_as_it_was_when_the_event_arrived(clock: None) -> None:
    feed = make_feed("tolerant-tms", system="tms")
    Feed.objects.filter(pk=feed.pk).update(future_tolerance=timedelta(hours=4))
    send(feed, ago(minutes=30), [ev("three-hours-ahead", ago(minutes=30) + timedelta(hours=3))])
    assert feed_health_get(feed=feed, at=NOW).future_dated == 0
    Feed.objects.filter(pk=feed.pk).update(future_tolerance=timedelta(minutes=5))
    send(feed, ago(minutes=20), [ev("ten-minutes-ahead", ago(minutes=20) + timedelta(minutes=10))])
    # the event flagged on arrival is counted; the one judged under 4 h is not judged again
    assert feed_health_get(feed=feed, at=NOW).future_dated == 1


# --- rejection reasons ----------------------------------------------------------------------


def test_rejection_reasons_are_grouped_by_their_text_with_ids_and_codes_taken_out(clock: None) -> None:
    feed = make_feed("codes-wms")
    send(feed, ago(minutes=30), [ev("n1", ago(minutes=31), occurred_at="2026-11-26T11:00:00")])
    send(feed, ago(minutes=20), [ev("n2", ago(minutes=21), occurred_at="2026-11-26T11:10:00")])
    send(feed, ago(minutes=10), [ev("t1", ago(minutes=11), type="pick.teleported"), ev("t2", ago(minutes=11))])
    with time_machine.travel(ago(minutes=5), tick=False), pytest.raises(UnreadableBody):
        message_receive(feed=feed, body=b"{not json", content_type="application/json")
    reasons, read = top_rejection_reasons(feed=feed, at=NOW)
    assert read == 4
    assert [(r.reason, r.count) for r in reasons] == [
        ("occurred_at: naive time, offset required", 2),
        # the unreadable body's own reason, its positions taken out
        ("body is not JSON: unexpected character, expected a string key: line # column # (char #)", 1),
        ("type: unknown event type '…' (see the canonical taxonomy)", 1),
    ]
    assert reasons[0].example == "occurred_at: naive time, offset required"
    assert reasons[1].event_id is None
    assert reasons[2].example == "type: unknown event type 'pick.teleported' (see the canonical taxonomy)"
    assert reasons[2].event_id == "t1"
    h = feed_health_get(feed=feed, at=NOW)
    assert (h.day.unreadable, h.day.rejected, h.day.judged) == (1, 4, 5)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            "source_status: code 'X6' is not in code table x12.at7 (version 2); map it",
            "source_status: code '…' is not in code table x12.at7 (version #); map it",
        ),
        ("lines.3.qty: expected `int`, got `str`", "lines.#.qty: expected `int`, got `str`"),
        ("refs.order: no order SO-1001 at 2026-11-26T10:00:00+00:00", "refs.order: no order SO-# at <time>"),
        ("message 0b7f3e1c-5a7d-4c2e-9f3a-1d2e3f4a5b6c failed", "message <id> failed"),
    ],
)
def test_reason_keys(text: str, key: str) -> None:
    assert reason_key(text) == key


# --- cost -----------------------------------------------------------------------------------


def test_the_overview_costs_the_same_queries_for_two_feeds_or_six(feeds: dict[str, Feed]) -> None:
    few = Feed.objects.filter(slug__in=["good-wms", "quiet-tms"])
    with CaptureQueriesContext(connection) as two:
        assert len(feed_health_list(at=NOW, feeds=few)) == 2
    with CaptureQueriesContext(connection) as six:
        assert len(feed_health_list(at=NOW)) == 6
    assert len(two.captured_queries) == len(six.captured_queries) == 8
