"""The silence threshold from a feed's own rhythm (frozen clock), and the feed_silent sweep
using it: a feed that sends every hour is silent after two hours, not after the default one."""

from datetime import timedelta

import pytest
import time_machine

from apps.exceptions.models import ExceptionCase
from apps.exceptions.services.system import system_sweep
from apps.feeds.models import Feed
from apps.ingestion.health import HealthStatus, feed_health_get
from apps.ingestion.health_silence import SILENCE_CAP, SILENCE_FLOOR, silence_threshold
from apps.ingestion.services import message_receive

from .test_health import NOW, ago, ev, make_feed, send

pytestmark = pytest.mark.django_db


def bare(feed: Feed, *times: object) -> None:
    """Messages received at these times, left unprocessed: the rhythm counts raw messages."""
    for at in times:
        with time_machine.travel(at, tick=False):
            message_receive(feed=feed, body=b'{"events": []}', content_type="application/json", enqueue=False)


def test_an_hourly_feed_gets_twice_its_hour(db: None) -> None:
    feed = make_feed("hourly-wms")
    bare(feed, *(ago(hours=h) for h in range(1, 25)))
    t = silence_threshold(feed, at=NOW)
    assert (t.source, t.gaps, t.gap_p95, t.threshold) == ("auto", 23, timedelta(hours=1), timedelta(hours=2))


def test_the_95th_percentile_leaves_out_a_rare_long_gap(db: None) -> None:
    feed = make_feed("mostly-hourly-wms")
    # 40 hourly arrivals, then one night of 10 hours without anything
    bare(feed, *(ago(hours=h) for h in range(1, 41)), ago(hours=50))
    t = silence_threshold(feed, at=NOW)
    assert t.gaps == 40
    assert t.threshold == timedelta(hours=2)


def test_a_burst_within_a_minute_is_one_arrival(db: None) -> None:
    feed = make_feed("bursty-wms")
    for h in range(1, 8):  # every hour, a file split into 30 messages within seconds
        bare(feed, *(ago(hours=h) + timedelta(seconds=s) for s in range(30)))
    t = silence_threshold(feed, at=NOW)
    assert (t.gaps, t.threshold) == (6, timedelta(hours=2))


def test_a_chatty_feed_gets_the_floor_and_a_rare_one_the_cap(db: None) -> None:
    chatty = make_feed("chatty-wms")
    bare(chatty, *(ago(minutes=m) for m in range(1, 40)))
    assert silence_threshold(chatty, at=NOW).threshold == SILENCE_FLOOR == timedelta(minutes=15)
    rare = make_feed("rare-erp", system="erp")
    bare(rare, *(ago(hours=1 + 30 * i) for i in range(6)))  # every 30 hours: 2 x 30 h = 60 h
    t = silence_threshold(rare, at=NOW)
    assert (t.gap_p95, t.threshold) == (timedelta(hours=30), SILENCE_CAP)
    assert timedelta(days=2) == SILENCE_CAP


def test_until_it_has_a_rhythm_a_feed_uses_its_maximum_silence(db: None) -> None:
    feed = make_feed("young-wms")
    Feed.objects.filter(pk=feed.pk).update(max_silence=timedelta(hours=3))
    feed.refresh_from_db()
    bare(feed, *(ago(hours=h) for h in range(1, 5)))  # 3 gaps: fewer than 5
    t = silence_threshold(feed, at=NOW)
    assert (t.source, t.gaps, t.threshold) == ("learning", 3, timedelta(hours=3))


def test_only_the_last_seven_days_count(db: None) -> None:
    feed = make_feed("returning-wms")
    bare(feed, *(ago(days=8, minutes=10 * i) for i in range(20)))  # a busy week, but 8 days ago
    bare(feed, ago(hours=5), ago(hours=3))
    assert silence_threshold(feed, at=NOW).source == "learning"


def test_an_admin_may_set_the_threshold(db: None) -> None:
    feed = make_feed("set-wms")
    bare(feed, *(ago(hours=h) for h in range(1, 25)))
    Feed.objects.filter(pk=feed.pk).update(silence_auto=False, max_silence=timedelta(minutes=30))
    feed.refresh_from_db()
    t = silence_threshold(feed, at=NOW)
    assert (t.source, t.threshold) == ("manual", timedelta(minutes=30))
    assert feed_health_get(feed=feed, at=NOW).status == HealthStatus.SILENT  # quiet for 1 h > 30 min


def test_the_sweep_opens_feed_silent_after_the_feeds_own_threshold(db: None) -> None:
    feed = make_feed("hourly-tms", system="tms")
    for h in range(1, 25):
        send(feed, ago(hours=h), [ev(f"h-{h}", ago(hours=h, minutes=1))])
    last = ago(hours=1)
    # the default maximum silence (1 h) would have opened a case at 13:00; the rhythm says 2 h
    assert system_sweep(last + timedelta(hours=1, minutes=59)).opened == []
    assert feed_health_get(feed=feed, at=last + timedelta(hours=1, minutes=59)).status == HealthStatus.HEALTHY
    result = system_sweep(last + timedelta(hours=2, minutes=1))
    [case] = ExceptionCase.objects.filter(kind="feed_silent")
    assert result.opened == [("feed_silent", "silent", "feed:hourly-tms", case.id)]
    assert case.opened_at == last + timedelta(hours=2)
    assert feed_health_get(feed=feed, at=last + timedelta(hours=2, minutes=1)).status == HealthStatus.SILENT


def test_the_sweep_resolves_when_the_feed_speaks_and_not_on_a_replay(db: None) -> None:
    from apps.pipeline.runner import message_process

    feed = make_feed("hourly-lastmile", system="lastmile")
    messages = [send(feed, ago(hours=h), [ev(f"m-{h}", ago(hours=h, minutes=1))]) for h in range(1, 25)]
    system_sweep(NOW + timedelta(hours=2))  # quiet since 11:00, threshold 2 h: opened at 13:00
    [case] = ExceptionCase.objects.filter(kind="feed_silent")
    # a replay of the last message before the silence is not the feed speaking
    with time_machine.travel(NOW + timedelta(hours=2, minutes=5), tick=False):
        message_process(message_id=messages[0].id, replay=True)
    case.refresh_from_db()
    assert case.status == "open"
    send(feed, NOW + timedelta(hours=2, minutes=10), [ev("back", NOW + timedelta(hours=2, minutes=9))])
    case.refresh_from_db()
    assert (case.status, case.resolution) == ("resolved", "auto: feed spoke again")
