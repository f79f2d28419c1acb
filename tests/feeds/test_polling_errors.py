"""A polled feed survives its partner's errors (frozen clock): 5xx back off exponentially with
jitter up to 15 min, 429 waits its Retry-After, timeouts and a partner that is down back off,
three refusals of the credentials in a row pause the feed with an exception saying why — and
polling succeeding again resolves it."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import time_machine

from apps.bench.processes import free_port
from apps.exceptions.choices import ActivityAction, CaseStatus, ExceptionKind
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from apps.exceptions.services.system import system_sweep
from apps.feeds.models import Feed, FeedPoll
from apps.feeds.services import feed_set_paused
from apps.ingestion.models import RawMessage
from apps.polling.services import poll_configure, poll_now, poll_round, polls_claim_due
from tests.factories import FeedFactory, event

from .conftest import Reply
from .test_polling import polled_feed

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def poll_of(feed: Feed) -> FeedPoll:
    return FeedPoll.objects.get(feed=feed)


def wait_of(feed: Feed) -> float:
    """Seconds from now until the feed's next round."""
    next_poll_at = poll_of(feed).next_poll_at
    assert next_poll_at is not None
    return (next_poll_at - datetime.now(UTC)).total_seconds()


def test_5xx_back_off_doubling_with_jitter_up_to_15_minutes_then_a_success_resets(partner, clock):
    feed = polled_feed(partner)
    partner.then = Reply(status=500, body=b'{"error": "database is on fire"}')
    poll_now(feed=feed)
    poll = poll_of(feed)
    assert (poll.last_status, poll.consecutive_failures) == (500, 1)
    assert "HTTP 500" in poll.last_error
    assert "database is on fire" in poll.last_error
    assert 24 <= wait_of(feed) <= 36  # 30 s ± 20 %
    # Not polled again before then: the dispatcher leaves it alone until its time comes.
    assert polls_claim_due(at=T0 + timedelta(seconds=20)) == []
    poll_now(feed=feed)
    assert 48 <= wait_of(feed) <= 72  # 1 min ± 20 %
    poll_now(feed=feed)
    assert 96 <= wait_of(feed) <= 144
    waits = []
    for _ in range(8):
        poll_now(feed=feed)
        waits.append(wait_of(feed))
    assert all(12 * 60 <= w <= 15 * 60 for w in waits[-3:])  # capped
    assert len(set(waits)) > 1  # jittered
    assert poll_of(feed).consecutive_failures == 11
    partner.then = Reply(body={"events": [event(1)]})
    poll_now(feed=feed)
    poll = poll_of(feed)
    assert (poll.last_status, poll.consecutive_failures, poll.last_error) == (200, 0, "")
    assert wait_of(feed) == 60


def test_the_dispatcher_retries_when_the_backoff_has_passed(partner, clock):
    feed = polled_feed(partner)
    partner.script(Reply(status=502), Reply(status=503))
    (claim,) = polls_claim_due()
    poll_round(feed_id=claim[0], lease=claim[1])
    retry_at = poll_of(feed).next_poll_at
    assert retry_at is not None
    assert polls_claim_due(at=retry_at - timedelta(seconds=1)) == []
    assert [feed_id for feed_id, _ in polls_claim_due(at=retry_at)] == [feed.pk]


def test_429_waits_for_its_retry_after_in_seconds(partner, clock):
    feed = polled_feed(partner)
    partner.script(Reply(status=429, headers={"Retry-After": "120"}))
    poll_now(feed=feed)
    poll = poll_of(feed)
    assert (poll.last_status, poll.consecutive_failures) == (429, 1)
    assert "Retry-After 120" in poll.last_error
    assert wait_of(feed) == 120


def test_429_waits_until_its_retry_after_date(partner, clock):
    feed = polled_feed(partner)
    until = T0 + timedelta(minutes=7)
    partner.script(Reply(status=429, headers={"Retry-After": format_datetime(until, usegmt=True)}))
    poll_now(feed=feed)
    assert poll_of(feed).next_poll_at == until


def test_429_without_retry_after_backs_off(partner, clock):
    feed = polled_feed(partner)
    partner.script(Reply(status=429))
    poll_now(feed=feed)
    assert 24 <= wait_of(feed) <= 36


@pytest.mark.parametrize("status", [401, 403])
def test_three_refusals_in_a_row_pause_the_feed_with_an_exception_saying_why(partner, clock, status):
    feed = polled_feed(partner, headers={"Authorization": "Bearer expired"})
    partner.then = Reply(status=status, body=b'{"message": "token expired"}')
    for refusals in (1, 2):
        assert poll_now(feed=feed).outcome == "failed"
        assert poll_of(feed).auth_failures == refusals
        assert not Feed.objects.get(pk=feed.pk).is_paused
    assert poll_now(feed=feed).outcome == "paused"
    assert Feed.objects.get(pk=feed.pk).is_paused
    case = ExceptionCase.objects.get(subject=f"feed:{feed.slug}")
    assert (case.kind, case.code, case.status) == (ExceptionKind.INGESTION, "poll_auth", CaseStatus.OPEN)
    why = ExceptionActivity.objects.get(case=case, action=ActivityAction.COMMENTED).detail["text"]
    assert f"HTTP {status}" in why
    assert "3 refusals in a row" in why
    assert "token expired" in why
    assert "resume" in why
    assert poll_of(feed).last_error == why
    # A paused feed is not polled, and the sweeps leave the case open (no dead letter is involved).
    assert polls_claim_due(at=T0 + timedelta(days=1)) == []
    system_sweep(at=T0 + timedelta(minutes=5))
    assert ExceptionCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
    assert len(partner.seen) == 3
    # New credentials, the feed resumed: polling succeeds again and the case is resolved.
    partner.then = Reply(body={"events": [event(1)]})
    feed_set_paused(feed=feed, paused=False, actor="test")
    (claim,) = polls_claim_due()
    assert poll_round(feed_id=claim[0], lease=claim[1]).outcome == "drained"
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.resolution == "auto: polling succeeded again"
    assert (poll_of(feed).auth_failures, poll_of(feed).consecutive_failures) == (0, 0)


def test_a_feed_resumed_with_credentials_still_refused_is_paused_again_on_the_same_case(partner, clock):
    feed = polled_feed(partner)
    partner.then = Reply(status=401)
    for _ in range(3):
        poll_now(feed=feed)
    feed_set_paused(feed=feed, paused=False, actor="test")
    assert poll_now(feed=feed).outcome == "paused"
    case = ExceptionCase.objects.get(subject=f"feed:{feed.slug}", status=CaseStatus.OPEN)
    assert case.occurrences == 2
    assert ExceptionCase.objects.filter(subject=f"feed:{feed.slug}").count() == 1


def test_a_partner_slower_than_the_timeout_backs_off(partner, clock, settings):
    settings.FEED_POLL_TIMEOUT_SECONDS = 0.2
    feed = polled_feed(partner)
    partner.script(Reply(body={"events": [event(1)]}, delay=1.0))
    assert poll_now(feed=feed).outcome == "failed"
    poll = poll_of(feed)
    assert poll.last_status is None
    assert "timed out after 0.2 s" in poll.last_error
    assert poll.consecutive_failures == 1
    assert 24 <= wait_of(feed) <= 36
    assert not RawMessage.objects.filter(feed=feed).exists()


def test_a_partner_that_is_down_backs_off(db, clock):
    feed = polled_feed_at(f"http://127.0.0.1:{free_port()}/events")
    assert poll_now(feed=feed).outcome == "failed"
    poll = poll_of(feed)
    assert "could not reach the partner" in poll.last_error
    assert 24 <= wait_of(feed) <= 36


def polled_feed_at(url: str) -> Feed:
    feed: Feed = FeedFactory(transport="poll")
    poll_configure(feed=feed, url=url)
    return feed


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_a_page_over_the_feeds_body_limit_is_not_stored(partner, clock, declared):
    feed = polled_feed(partner)
    Feed.objects.filter(pk=feed.pk).update(max_body_bytes=100)
    partner.script(Reply(body={"events": [event(1), event(2)]}, length=declared))
    assert poll_now(feed=feed).outcome == "failed"
    assert "this feed takes at most 100 bytes in one body" in poll_of(feed).last_error
    assert not RawMessage.objects.filter(feed=feed).exists()


def test_a_redirect_is_not_followed_and_says_so(partner, clock):
    feed = polled_feed(partner)
    partner.script(Reply(status=301, headers={"Location": partner.url("/v2/events?key=secret")}))
    poll_now(feed=feed)
    poll = poll_of(feed)
    assert poll.last_status == 301
    assert "redirects are not followed" in poll.last_error
    assert "secret" not in poll.last_error  # the URL's query is not repeated in the error
    assert len(partner.seen) == 1
