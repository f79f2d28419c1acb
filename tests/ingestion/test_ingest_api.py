"""The ingest endpoint's contract: every status code, every auth failure, nothing lost."""

import time

import orjson
import pytest
import time_machine
from django.utils import timezone

from apps.feeds.services import feed_set_paused, sign
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from tests.factories import FeedFactory, event

pytestmark = pytest.mark.django_db


def test_it_stores_the_body_and_answers_202_with_the_message_id(feed, post_events):
    response = post_events(feed, {"events": [event(1), event(2)]})
    assert response.status_code == 202
    body = response.json()
    assert body["received"] == 2
    message = RawMessage.objects.get(id=body["message_id"])
    assert orjson.loads(bytes(message.body)) == {"events": [event(1), event(2)]}


def test_it_accepts_a_single_event_object(feed, post_events):
    response = post_events(feed, event(1))
    assert response.status_code == 202
    assert response.json()["received"] == 1


def test_it_processes_the_message_and_reports_status(feed, post_events, client, user_token):
    message_id = post_events(feed, {"events": [event(1), event(2, occurred_at="2026-01-01T10:00:00")]}).json()[
        "message_id"
    ]
    status = client.get(f"/api/v1/messages/{message_id}/", HTTP_AUTHORIZATION=f"Token {user_token}").json()
    assert status["status"] == "processed"
    assert status["feed"] == feed.slug
    assert (status["accepted"], status["duplicates"]) == (1, 0)
    assert status["rejected"] == [
        {"index": 1, "event_id": "e-2", "errors": ["occurred_at: naive time, offset required"]}
    ]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{nope", "not JSON"),
        (b"[1, 2]", "want one event object"),
        (b'{"events": 3}', "want one event object"),
    ],
)
def test_unreadable_bodies_get_400_and_are_kept_as_rejected_messages(feed, post_events, raw, why):
    response = post_events(feed, None, raw=raw)
    assert response.status_code == 400
    assert why in response.json()["detail"]
    kept = RawMessage.objects.get(feed=feed)
    assert kept.status == MessageStatus.REJECTED
    assert bytes(kept.body) == raw


def test_missing_token_is_401(feed, post_events):
    response = post_events(feed, event(), token="")
    assert response.status_code == 401
    assert RawMessage.objects.count() == 0


def test_wrong_token_is_401(feed, post_events):
    assert post_events(feed, event(), token="Bearer ctf_not-a-real-token").status_code == 401


def test_a_user_api_token_cannot_post_to_a_feed(feed, post_events, user_token):
    assert post_events(feed, event(), token=f"Token {user_token}").status_code == 401
    assert post_events(feed, event(), token=f"Bearer {user_token}").status_code == 401


def test_another_feeds_token_is_403(feed, post_events):
    other = FeedFactory()
    response = post_events(feed, event(), token=f"Bearer {other.credentials.token}")
    assert response.status_code == 403
    assert RawMessage.objects.count() == 0


def test_a_paused_feed_is_403(feed, post_events):
    feed_set_paused(feed=feed, paused=True)
    response = post_events(feed, event())
    assert response.status_code == 403
    assert "paused" in response.json()["detail"]


def test_wrong_content_type_is_415(feed, post_events):
    assert post_events(feed, None, raw=b"a,b,c", content_type="text/csv").status_code == 415


def test_a_body_over_the_feeds_limit_is_413(post_events):
    small = FeedFactory(max_body_bytes=1000)
    big = {"events": [event(i) for i in range(20)]}
    assert post_events(small, big).status_code == 413
    assert RawMessage.objects.count() == 0


def test_more_than_1000_events_is_413(feed, post_events):
    assert post_events(feed, {"events": [event(i) for i in range(1001)]}).status_code == 413


def test_over_the_rate_limit_is_429_with_retry_after(post_events):
    limited = FeedFactory(rate_limit_per_minute=2)
    with time_machine.travel(timezone.datetime(2026, 11, 25, 10, 0, 15, tzinfo=timezone.UTC), tick=False):
        assert post_events(limited, event(1)).status_code == 202
        assert post_events(limited, event(2)).status_code == 202
        refused = post_events(limited, event(3))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"


class TestSignedFeeds:
    @pytest.fixture
    def signed(self):
        return FeedFactory(require_signature=True)

    def _body(self):
        return orjson.dumps({"events": [event(1)]})

    def test_a_good_signature_is_accepted(self, signed, post_events):
        body = self._body()
        header = sign(secret=signed.credentials.hmac_secret, body=body)
        assert post_events(signed, None, raw=body, **{"X-CT-Signature": header}).status_code == 202

    def test_a_missing_signature_is_401(self, signed, post_events):
        assert post_events(signed, None, raw=self._body()).status_code == 401

    def test_a_signature_over_another_body_is_401(self, signed, post_events):
        header = sign(secret=signed.credentials.hmac_secret, body=b"something else")
        assert post_events(signed, None, raw=self._body(), **{"X-CT-Signature": header}).status_code == 401

    def test_a_stale_signature_is_401(self, signed, post_events):
        body = self._body()
        old = timezone.now() - timezone.timedelta(seconds=301)
        header = sign(secret=signed.credentials.hmac_secret, body=body, at=old)
        response = post_events(signed, None, raw=body, **{"X-CT-Signature": header})
        assert response.status_code == 401
        assert "300" in response.json()["detail"]

    def test_a_replayed_signature_is_401(self, signed, post_events):
        body = self._body()
        header = sign(secret=signed.credentials.hmac_secret, body=body)
        assert post_events(signed, None, raw=body, **{"X-CT-Signature": header}).status_code == 202
        replay = post_events(signed, None, raw=body, **{"X-CT-Signature": header})
        assert replay.status_code == 401
        assert "replay" in replay.json()["detail"]

    def test_a_malformed_header_is_401(self, signed, post_events):
        bad = f"t={int(time.time())}"
        assert post_events(signed, None, raw=self._body(), **{"X-CT-Signature": bad}).status_code == 401


class TestMessageStatusAccess:
    def _message(self, feed, post_events):
        return post_events(feed, event(1)).json()["message_id"]

    def test_the_feed_can_read_its_own_message(self, feed, post_events, client):
        mid = self._message(feed, post_events)
        response = client.get(f"/api/v1/messages/{mid}/", HTTP_AUTHORIZATION=f"Bearer {feed.credentials.token}")
        assert response.status_code == 200

    def test_another_feed_cannot_see_the_message(self, feed, post_events, client):
        mid = self._message(feed, post_events)
        other = FeedFactory()
        response = client.get(f"/api/v1/messages/{mid}/", HTTP_AUTHORIZATION=f"Bearer {other.credentials.token}")
        assert response.status_code == 404

    def test_anonymous_is_401(self, feed, post_events, client):
        assert client.get(f"/api/v1/messages/{self._message(feed, post_events)}/").status_code == 401

    def test_a_user_without_a_role_is_403(self, feed, post_events, client):
        from apps.accounts.services import api_token_create
        from tests.factories import UserFactory

        token = api_token_create(user=UserFactory())
        mid = self._message(feed, post_events)
        assert client.get(f"/api/v1/messages/{mid}/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 403

    def test_an_unknown_message_is_404(self, client, user_token):
        response = client.get(
            "/api/v1/messages/00000000-0000-0000-0000-000000000000/", HTTP_AUTHORIZATION=f"Token {user_token}"
        )
        assert response.status_code == 404
