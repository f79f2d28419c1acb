"""A polled feed's card on its page, and "Poll now": admins only, one round against a real
local partner server, what it did in the flash, audited; header values never shown."""

import pytest
from django.test import Client

from apps.accounts.models import AuditLog
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed
from apps.ingestion.models import RawMessage
from apps.pipeline.runner import message_process
from apps.polling.services import poll_configure
from tests.factories import FeedFactory, UserFactory, event

from .conftest import Partner, Reply

pytestmark = pytest.mark.django_db


def _client(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


@pytest.fixture
def polled(partner: Partner) -> Feed:
    feed = FeedFactory(slug="carrier-poll", system="tms")
    poll_configure(feed=feed, url=partner.url(), interval_seconds=300, headers={"X-Api-Key": "s3cret-key"})
    return feed


def test_the_feed_page_shows_the_polling_card_without_header_values(polled: Feed) -> None:
    page = _client("ops_lead").get(f"/feeds/{polled.slug}/").content.decode()
    assert 'id="feed-polling"' in page
    assert "every 300 s" in page
    assert "<code>X-Api-Key</code>" in page
    assert "s3cret-key" not in page
    assert "Poll now" not in page  # ops leads see, admins act


def test_a_pushed_feed_has_no_polling_card() -> None:
    FeedFactory(slug="pushed")
    assert 'id="feed-polling"' not in _client("admin").get("/feeds/pushed/").content.decode()


def test_an_admin_polls_now_and_sees_what_the_round_did(partner: Partner, polled: Feed) -> None:
    partner.script(Reply(body={"events": [event(1), event(2)]}, headers={"Next-Page-Cursor": "c2"}), Reply())
    admin = _client("admin")
    page = admin.get(f"/feeds/{polled.slug}/").content.decode()
    assert "Poll now" in page
    response = admin.post(f"/feeds/{polled.slug}/poll-now/", follow=True)
    assert "Polled carrier-poll: 2 pages, 1 new message; fetched everything new." in response.content.decode()
    assert partner.seen[0].headers["X-Api-Key"] == "s3cret-key"
    for message in RawMessage.objects.filter(feed=polled, status="received"):
        message_process(message_id=message.id)
    assert CanonicalEvent.objects.filter(feed=polled).count() == 2
    assert AuditLog.objects.filter(action="feed.polled_now", target="feed:carrier-poll").exists()


def test_a_failing_partner_is_said_as_an_error(partner: Partner, polled: Feed) -> None:
    partner.script(Reply(status=503, body={"error": "down"}))
    response = _client("admin").post(f"/feeds/{polled.slug}/poll-now/", follow=True)
    assert "failed; backing off" in response.content.decode()


def test_poll_now_is_for_admins_post_only_and_polled_feeds_only(polled: Feed) -> None:
    assert _client("ops_lead").post(f"/feeds/{polled.slug}/poll-now/").status_code == 403
    admin = _client("admin")
    assert admin.get(f"/feeds/{polled.slug}/poll-now/").status_code == 405
    FeedFactory(slug="pushed")
    assert admin.post("/feeds/pushed/poll-now/").status_code == 404
