"""Which polled feeds a dispatch claims, and that no feed is polled by two rounds at once: the
claim is compare-and-set on next_poll_at (a lease), every write of a round checks the lease,
and on PostgreSQL concurrent dispatchers skip each other's locked rows."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from apps.feeds.models import Feed, FeedPoll
from apps.feeds.services import feed_set_paused
from apps.ingestion.models import RawMessage
from apps.polling import rounds
from apps.polling.services import poll_claim, poll_round, polls_claim_due
from apps.polling.tasks import POLL_DUE_TASK, poll_due
from controltower.celery import app as celery_app
from tests.factories import FeedFactory, event
from tests.workers import needs_postgres

from .conftest import Reply
from .test_polling import polled_feed

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_dispatch_claims_the_due_polled_feeds_that_are_not_paused(partner):
    never = polled_feed(partner, path="/never")
    past = polled_feed(partner, path="/past")
    future = polled_feed(partner, path="/future")
    paused = polled_feed(partner, path="/paused")
    pushed = polled_feed(partner, path="/pushed")
    FeedPoll.objects.filter(feed=never).update(next_poll_at=None)
    FeedPoll.objects.filter(feed__in=[past, paused, pushed]).update(next_poll_at=T0 - timedelta(minutes=1))
    FeedPoll.objects.filter(feed=future).update(next_poll_at=T0 + timedelta(seconds=1))
    feed_set_paused(feed=paused, paused=True)
    Feed.objects.filter(pk=pushed.pk).update(transport="push")  # no longer polled
    claimed = polls_claim_due(at=T0)
    assert [feed_id for feed_id, _ in claimed] == [never.pk, past.pk]  # longest waiting first
    lease = T0 + rounds.CLAIM_LEASE
    assert all(claim_lease == lease for _, claim_lease in claimed)
    assert set(FeedPoll.objects.filter(next_poll_at=lease).values_list("feed_id", flat=True)) == {never.pk, past.pk}
    assert polls_claim_due(at=T0) == []  # claimed: not due again
    assert partner.seen == []  # claiming fetches nothing


@pytest.mark.django_db
def test_the_beat_task_runs_one_round_per_due_feed(partner, django_capture_on_commit_callbacks):
    first = polled_feed(partner, path="/a")
    second = polled_feed(partner, path="/b")
    partner.then = Reply(body={"events": [event(1)]})
    with django_capture_on_commit_callbacks(execute=True):
        assert poll_due.apply().get() == 2
    assert sorted(s.path for s in partner.seen) == ["/a", "/b"]
    assert RawMessage.objects.filter(feed__in=[first, second]).count() == 2
    assert poll_due.apply().get() == 0  # both polled: due again only after their interval


def test_the_beat_schedule_runs_the_dispatcher_every_10_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["poll-feeds"]
    assert entry["task"] == POLL_DUE_TASK
    assert entry["schedule"] == timedelta(seconds=10)
    celery_app.loader.import_default_modules()
    assert POLL_DUE_TASK in celery_app.tasks


@pytest.mark.django_db
def test_a_round_without_the_current_lease_polls_nothing(partner):
    feed = polled_feed(partner)
    stale = poll_claim(feed_id=feed.pk)
    assert stale is not None
    fresh = poll_claim(feed_id=feed.pk, at=stale + timedelta(seconds=1), force=True)  # e.g. the lease ran out
    assert fresh is not None
    assert poll_round(feed_id=feed.pk, lease=stale).outcome == "skipped"
    assert partner.seen == []
    assert poll_round(feed_id=feed.pk, lease=fresh).outcome == "drained"
    assert len(partner.seen) == 1


@pytest.mark.django_db
def test_a_round_that_lost_its_claim_mid_round_stores_nothing(partner, monkeypatch):
    feed = polled_feed(partner)
    partner.script(Reply(body={"events": [event(1)]}, headers={"Next-Page-Cursor": "c1"}))
    fetch = rounds.page_fetch

    def fetch_then_lose_the_claim(*args: Any, **kwargs: Any) -> Any:
        page = fetch(*args, **kwargs)
        FeedPoll.objects.filter(feed=feed).update(next_poll_at=T0)  # another claim, or new settings
        return page

    monkeypatch.setattr(rounds, "page_fetch", fetch_then_lose_the_claim)
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        lease = poll_claim(feed_id=feed.pk, force=True)
        assert lease is not None
        assert poll_round(feed_id=feed.pk, lease=lease).outcome == "lost"
    assert not RawMessage.objects.filter(feed=feed).exists()
    poll = FeedPoll.objects.get(feed=feed)
    assert (poll.cursor, poll.pages, poll.next_poll_at) == ("", 0, T0)


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_never_claim_one_feed_twice(partner):
    feeds = [FeedFactory(transport="poll") for _ in range(40)]
    for feed in feeds:
        FeedPoll.objects.create(feed=feed, url=partner.url(), next_poll_at=None)
    start = threading.Barrier(4)
    claims: list[list[int]] = []

    def dispatch() -> None:
        try:
            start.wait()
            claims.append([feed_id for feed_id, _ in polls_claim_due(limit=15)])
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    claimed = [feed_id for batch in claims for feed_id in batch]
    assert len(claims) == 4
    assert len(claimed) == len(set(claimed))  # never one feed twice
    assert len(claimed) == 40  # and skipping a locked row is not losing it: 4 x 15 >= 40
