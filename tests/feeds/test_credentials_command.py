"""`manage.py rotate_feed_credentials`: the shell's way to rotate, with the same overlap."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import orjson
import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts.models import AuditLog
from apps.feeds.models import Feed
from apps.feeds.services import IngestRefused, feed_authenticate, sign, signature_verify
from tests.factories import FeedFactory, event

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _run(*args: str) -> dict[str, object]:
    out = StringIO()
    call_command("rotate_feed_credentials", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_prints_the_new_token_once_and_keeps_the_old_for_the_overlap():
    feed = FeedFactory(slug="acme-wms")
    with time_machine.travel(BASE, tick=False) as clock:
        printed = _run("--feed", "acme-wms", "--token", "--overlap-hours", "2")
        assert set(printed) == {"slug", "token", "previous_expires_at"}
        assert printed["previous_expires_at"] == "2026-12-01T11:00:00+00:00"
        token = str(printed["token"])
        assert feed_authenticate(slug="acme-wms", authorization=f"Bearer {token}") == feed
        assert feed_authenticate(slug="acme-wms", authorization=f"Bearer {feed.credentials.token}") == feed
        clock.shift(timedelta(hours=2))
        with pytest.raises(IngestRefused, match="expired on 2026-12-01 11:00 UTC"):
            feed_authenticate(slug="acme-wms", authorization=f"Bearer {feed.credentials.token}")
    entry = AuditLog.objects.get(action="feed.token_rotated")
    assert entry.actor_label == "manage.py rotate_feed_credentials"
    assert entry.detail["overlap_hours"] == 2


def test_the_default_overlap_is_24_hours_and_both_can_be_rotated_at_once():
    feed = FeedFactory(require_signature=True)
    with time_machine.travel(BASE, tick=False):
        printed = _run("--feed", feed.slug, "--token", "--hmac-secret")
    after = Feed.objects.get(pk=feed.pk)
    assert after.hmac_secret == printed["hmac_secret"]
    assert after.previous_token_expires_at == after.previous_hmac_expires_at == BASE + timedelta(hours=24)
    assert AuditLog.objects.filter(action__in=["feed.token_rotated", "feed.hmac_secret_rotated"]).count() == 2


def test_overlap_zero_refuses_a_leaked_secret_at_once():
    feed = FeedFactory(require_signature=True)
    printed = _run("--feed", feed.slug, "--hmac-secret", "--overlap-hours", "0")
    body = orjson.dumps(event(1))
    after = Feed.objects.get(pk=feed.pk)
    with pytest.raises(IngestRefused, match="HMAC secret was replaced"):
        signature_verify(feed=after, header=sign(secret=feed.credentials.hmac_secret, body=body), body=body)
    signature_verify(feed=after, header=sign(secret=str(printed["hmac_secret"]), body=body), body=body)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--feed", "feed-x"], "say what to rotate"),
        (["--feed", "nope", "--token"], "no feed 'nope'"),
        (["--feed", "feed-x", "--token", "--overlap-hours", "-1"], "between 0 and 720"),
        (["--feed", "feed-x", "--token", "--overlap-hours", "1000"], "between 0 and 720"),
    ],
)
def test_it_refuses_what_it_cannot_do(args, message):
    feed = FeedFactory(slug="feed-x")
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert Feed.objects.get(pk=feed.pk).token_hash == feed.token_hash
    assert not AuditLog.objects.filter(action="feed.token_rotated").exists()
