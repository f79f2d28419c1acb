"""Token and HMAC secret rotation with an overlap (docs/credentials.md), through the ingest API
as a partner meets it, on a frozen clock."""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import AuditLog
from apps.feeds.models import Feed
from apps.feeds.services import (
    CredentialConflict,
    credential_used,
    feed_rotate_hmac_secret,
    feed_rotate_token,
    sign,
)
from apps.ingestion.models import RawMessage
from tests.factories import FeedFactory, UserFactory, event

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
_n = iter(range(10_000))


def _post(post_events: Any, feed: Any, token: str, *, secret: str | None = None) -> Any:
    """One post with the given token (and a signature with `secret`); a new event each time so
    that no two signatures are alike (a reused one is a replay)."""
    body = orjson.dumps(event(f"c-{next(_n)}"))
    headers = {"X-CT-Signature": sign(secret=secret, body=body)} if secret else {}
    return post_events(feed, None, raw=body, token=f"Bearer {token}", **headers)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(BASE, tick=False) as traveller:
        yield traveller


class TestTokenOverlap:
    def test_the_old_token_works_inside_the_overlap_and_gets_an_actionable_401_after(self, clock, post_events):
        feed = FeedFactory(slug="acme-wms")
        old = feed.credentials.token
        new = feed_rotate_token(feed=feed, overlap=timedelta(hours=24)).token

        assert _post(post_events, feed, old).status_code == 202
        assert _post(post_events, feed, new).status_code == 202
        clock.shift(timedelta(hours=23, minutes=59))
        assert _post(post_events, feed, old).status_code == 202

        clock.shift(timedelta(minutes=1))  # the overlap's end: refused from that instant
        refused = _post(post_events, feed, old)
        assert refused.status_code == 401
        assert refused.json()["detail"] == (
            "this token was replaced on 2026-12-01 09:00 UTC and expired on 2026-12-02 09:00 UTC; "
            f"use the new token ({new[:10]}…) the control tower admins gave you"
        )
        assert refused["WWW-Authenticate"].startswith("Bearer")
        assert _post(post_events, feed, new).status_code == 202
        assert RawMessage.objects.filter(feed=feed).count() == 4  # the refused post stored nothing

    def test_the_default_overlap_is_24_hours(self, clock):
        feed = FeedFactory()
        feed_rotate_token(feed=feed)
        assert Feed.objects.get(pk=feed.pk).previous_token_expires_at == BASE + timedelta(hours=24)

    def test_overlap_zero_refuses_the_old_token_at_once(self, clock, post_events):
        feed = FeedFactory()
        old = feed.credentials.token
        new = feed_rotate_token(feed=feed, overlap=timedelta(0)).token
        refused = _post(post_events, feed, old)
        assert refused.status_code == 401
        assert "expired on 2026-12-01 09:00 UTC; use the new token" in refused.json()["detail"]
        assert _post(post_events, feed, new).status_code == 202

    def test_a_second_rotation_drops_the_first_previous_token(self, clock, post_events):
        feed = FeedFactory()
        first = feed.credentials.token
        second = feed_rotate_token(feed=feed).token
        third = feed_rotate_token(feed=feed).token
        refused = _post(post_events, feed, first)
        assert refused.status_code == 401
        assert refused.json()["detail"] == "unknown feed token"
        assert _post(post_events, feed, second).status_code == 202  # inside the second overlap
        assert _post(post_events, feed, third).status_code == 202

    def test_a_feeds_previous_token_never_authenticates_another_feed(self, clock, post_events):
        feed, other = FeedFactory(), FeedFactory()
        old = feed.credentials.token
        feed_rotate_token(feed=feed)
        inside = _post(post_events, other, old)
        assert inside.status_code == 403
        assert "another feed" in inside.json()["detail"]
        clock.shift(timedelta(hours=25))
        assert _post(post_events, other, old).status_code == 401
        assert not RawMessage.objects.filter(feed=other).exists()

    def test_a_rotation_from_a_stale_read_changes_nothing(self, clock, post_events):
        feed = FeedFactory()
        stale = Feed.objects.get(pk=feed.pk)
        winner = feed_rotate_token(feed=feed).token
        with pytest.raises(CredentialConflict):
            feed_rotate_token(feed=stale)
        with pytest.raises(CredentialConflict):
            feed_rotate_token(feed=feed, expected_prefix=stale.token_prefix)
        assert _post(post_events, feed, winner).status_code == 202
        assert AuditLog.objects.filter(action="feed.token_rotated").count() == 1

    def test_the_previous_token_reads_its_messages_inside_the_overlap_only(self, clock, post_events, client):
        feed = FeedFactory()
        old = feed.credentials.token
        message_id = _post(post_events, feed, old).json()["message_id"]
        feed_rotate_token(feed=feed, overlap=timedelta(hours=1))
        url = f"/api/v1/messages/{message_id}/"
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 200
        clock.shift(timedelta(hours=1, seconds=1))
        refused = client.get(url, HTTP_AUTHORIZATION=f"Bearer {old}")
        assert refused.status_code == 401
        assert "this token was replaced on 2026-12-01 09:00 UTC" in refused.json()["detail"]

    def test_a_rotation_is_audited_without_the_token(self, clock):
        admin = UserFactory(username="ada", role="admin")
        feed = FeedFactory(slug="acme-wms")
        old_prefix = feed.token_prefix
        new = feed_rotate_token(feed=feed, overlap=timedelta(hours=6), actor=admin).token
        entry = AuditLog.objects.get(action="feed.token_rotated", target="feed:acme-wms")
        assert entry.actor == admin
        assert entry.detail["overlap_hours"] == 6
        assert entry.detail["previous_prefix"] == old_prefix
        assert entry.detail["token_prefix"] == new[:10]
        assert entry.detail["previous_expires_at"] == (BASE + timedelta(hours=6)).isoformat()
        assert new not in str(entry.detail)

    @pytest.mark.parametrize("hours", [-1, 24 * 31])
    def test_an_overlap_out_of_range_is_refused(self, hours):
        feed = FeedFactory()
        with pytest.raises(ValueError, match="overlap"):
            feed_rotate_token(feed=feed, overlap=timedelta(hours=hours))
        assert Feed.objects.get(pk=feed.pk).token_hash == feed.token_hash


class TestHmacOverlap:
    @pytest.fixture
    def signed(self) -> Any:
        return FeedFactory(require_signature=True)

    def test_the_old_secret_signs_inside_the_overlap_and_gets_an_actionable_401_after(self, clock, post_events, signed):
        token, old = signed.credentials.token, signed.credentials.hmac_secret
        new = feed_rotate_hmac_secret(feed=signed, overlap=timedelta(hours=2))
        assert new != old
        assert _post(post_events, signed, token, secret=old).status_code == 202
        assert _post(post_events, signed, token, secret=new).status_code == 202
        clock.shift(timedelta(hours=1, minutes=59))
        assert _post(post_events, signed, token, secret=old).status_code == 202

        clock.shift(timedelta(minutes=1))
        refused = _post(post_events, signed, token, secret=old)
        assert refused.status_code == 401
        assert refused.json()["detail"] == (
            "this HMAC secret was replaced on 2026-12-01 09:00 UTC and expired on 2026-12-01 11:00 UTC; "
            "sign with the new secret the control tower admins gave you"
        )
        assert _post(post_events, signed, token, secret=new).status_code == 202

    def test_overlap_zero_refuses_the_old_secret_at_once(self, clock, post_events, signed):
        token, old = signed.credentials.token, signed.credentials.hmac_secret
        new = feed_rotate_hmac_secret(feed=signed, overlap=timedelta(0))
        refused = _post(post_events, signed, token, secret=old)
        assert refused.status_code == 401
        assert "HMAC secret was replaced" in refused.json()["detail"]
        assert _post(post_events, signed, token, secret=new).status_code == 202

    def test_a_second_rotation_drops_the_first_previous_secret(self, clock, post_events, signed):
        token, first = signed.credentials.token, signed.credentials.hmac_secret
        second = feed_rotate_hmac_secret(feed=signed)
        third = feed_rotate_hmac_secret(feed=signed)
        refused = _post(post_events, signed, token, secret=first)
        assert refused.status_code == 401
        assert refused.json()["detail"] == "signature does not match the body"
        assert _post(post_events, signed, token, secret=second).status_code == 202
        assert _post(post_events, signed, token, secret=third).status_code == 202

    def test_a_signature_with_the_old_secret_is_still_used_once(self, clock, post_events, signed):
        old = signed.credentials.hmac_secret
        feed_rotate_hmac_secret(feed=signed)
        body = orjson.dumps(event("replay"))
        header = {"X-CT-Signature": sign(secret=old, body=body)}
        auth = f"Bearer {signed.credentials.token}"
        assert post_events(signed, None, raw=body, token=auth, **header).status_code == 202
        replay = post_events(signed, None, raw=body, token=auth, **header)
        assert replay.status_code == 401
        assert "replay" in replay.json()["detail"]

    def test_a_stale_read_changes_nothing_and_the_rotation_is_audited_without_the_secret(self, clock, signed):
        stale = Feed.objects.get(pk=signed.pk)
        new = feed_rotate_hmac_secret(feed=signed, overlap=timedelta(hours=3), actor="ops script")
        with pytest.raises(CredentialConflict):
            feed_rotate_hmac_secret(feed=stale)
        assert Feed.objects.get(pk=signed.pk).hmac_secret == new
        entry = AuditLog.objects.get(action="feed.hmac_secret_rotated")
        assert entry.actor_label == "ops script"
        assert entry.detail["overlap_hours"] == 3
        assert new not in str(entry.detail)
        assert signed.credentials.hmac_secret not in str(entry.detail)


class TestLastUsed:
    def _feed(self) -> Any:
        return Feed.objects.get(pk=self.feed.pk)

    def test_the_token_stamp_moves_at_most_once_a_minute(self, clock, post_events):
        self.feed = FeedFactory()
        token = self.feed.credentials.token
        assert self._feed().token_last_used_at is None
        _post(post_events, self.feed, token)
        assert self._feed().token_last_used_at == BASE

        clock.shift(timedelta(seconds=30))
        with CaptureQueriesContext(connection) as queries:
            assert _post(post_events, self.feed, token).status_code == 202
        stamps = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "feeds_feed"')]
        assert stamps == []  # throttled: not even an UPDATE is sent
        assert self._feed().token_last_used_at == BASE

        clock.shift(timedelta(seconds=31))
        _post(post_events, self.feed, token)
        assert self._feed().token_last_used_at == BASE + timedelta(seconds=61)

    def test_the_conditional_update_keeps_a_newer_stamp(self, clock, django_capture_on_commit_callbacks):
        feed = FeedFactory()
        Feed.objects.filter(pk=feed.pk).update(token_last_used_at=BASE - timedelta(seconds=10))
        # `feed` was read before that stamp (a concurrent request): its UPDATE matches no row.
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            credential_used(feed=feed, field="token_last_used_at")
        assert any(q["sql"].startswith('UPDATE "feeds_feed"') for q in queries)
        assert Feed.objects.get(pk=feed.pk).token_last_used_at == BASE - timedelta(seconds=10)

    def test_previous_token_and_hmac_stamps(self, clock, post_events):
        self.feed = FeedFactory(require_signature=True)
        old_token, old_secret = self.feed.credentials.token, self.feed.credentials.hmac_secret
        _post(post_events, self.feed, old_token, secret=old_secret)
        assert self._feed().hmac_last_used_at == BASE

        clock.shift(timedelta(minutes=5))
        new_token = feed_rotate_token(feed=self.feed).token
        new_secret = feed_rotate_hmac_secret(feed=self.feed)
        after = self._feed()
        # the old token's last use moves with it; the new ones have not been used yet
        assert (after.previous_token_last_used_at, after.token_last_used_at) == (BASE, None)
        assert after.hmac_last_used_at is None

        clock.shift(timedelta(minutes=5))
        _post(post_events, self.feed, old_token, secret=old_secret)
        after = self._feed()
        assert after.previous_token_last_used_at == BASE + timedelta(minutes=10)
        assert after.token_last_used_at is None
        assert after.hmac_last_used_at is None  # the old secret's use does not count as the new one's

        clock.shift(timedelta(minutes=5))
        _post(post_events, self.feed, new_token, secret=new_secret)
        after = self._feed()
        assert after.token_last_used_at == after.hmac_last_used_at == BASE + timedelta(minutes=15)
        assert after.previous_token_last_used_at == BASE + timedelta(minutes=10)

    def test_the_stamp_waits_for_the_surrounding_transaction(self, clock, django_capture_on_commit_callbacks):
        feed = FeedFactory()
        with django_capture_on_commit_callbacks() as pending:
            credential_used(feed=feed, field="token_last_used_at")
            assert Feed.objects.get(pk=feed.pk).token_last_used_at is None  # not inside the transaction
        assert len(pending) == 1
        pending[0]()
        assert Feed.objects.get(pk=feed.pk).token_last_used_at == BASE

    def test_a_refused_post_stamps_nothing(self, clock, post_events):
        self.feed = FeedFactory()
        other = FeedFactory()
        assert _post(post_events, other, self.feed.credentials.token).status_code == 403
        assert self._feed().token_last_used_at is None
