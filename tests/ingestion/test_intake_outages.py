"""Intake while Redis (the cache that counts the rate limits, and the broker) is down: the
message is stored durably and answered 202, as a partner needs; the heal sweep enqueues it
once the broker is back (tests/faults covers that under load, and the database's outage: 503
with Retry-After)."""

import pytest

from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from tests.factories import event

pytestmark = pytest.mark.django_db

NOTHING_LISTENS = "redis://127.0.0.1:1/0"


@pytest.fixture
def cache_down(settings):
    """Django's Redis cache on a port nothing listens on: every call is a real ConnectionError."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": NOTHING_LISTENS}
    }


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """The suite's cache clearing (tests/conftest.py) would itself fail on the dead cache."""


def test_with_the_cache_down_intake_stores_the_message_and_answers_202(feed, post_events, cache_down):
    response = post_events(feed, {"events": [event(1), event(2)]})
    assert response.status_code == 202, response.content
    message = RawMessage.objects.get(id=response.json()["message_id"])
    assert message.received_count == 2
    assert message.status == MessageStatus.PROCESSED  # eager here: processed at once


def test_with_the_cache_down_a_wrong_token_is_still_refused_401(feed, post_events, cache_down):
    response = post_events(feed, {"events": [event(1)]}, token="Bearer ctf_wrong")
    assert response.status_code == 401
    assert not RawMessage.objects.exists()
