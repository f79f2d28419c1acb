"""Failed feed tokens on the ingest endpoint are limited per client address (docs/api.md):
past the limit, 429 with Retry-After before the token is even looked at, until the window from
the first failure has passed; other addresses, and failures that are not about the token, are
not affected."""

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import time_machine
from django.test import Client

from apps.feeds.services import feed_set_paused
from tests.factories import FeedFactory, event

pytestmark = pytest.mark.django_db

WINDOW = 300
GUESSER = "203.0.113.9"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.INGEST_TOKEN_FAILURES_PER_IP = 3
    settings.INGEST_TOKEN_FAILURE_WINDOW_SECONDS = WINDOW


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel("2026-12-01T09:00:00+00:00", tick=False) as traveller:
        yield traveller


def post(client: Client, slug: str, token: str, ip: str = GUESSER, n: int = 1) -> Any:
    return client.generic(
        "POST",
        f"/api/v1/ingest/{slug}/",
        orjson.dumps({"events": [event(n)]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        REMOTE_ADDR=ip,
    )


def test_after_too_many_wrong_tokens_the_address_gets_429_even_with_the_right_one(
    client: Client, feed: Any, clock: Any
) -> None:
    for _ in range(3):
        assert post(client, feed.slug, "guess").status_code == 401
    refused = post(client, feed.slug, feed.credentials.token)
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(WINDOW)
    assert "too many failed feed tokens" in refused.json()["detail"]

    assert post(client, feed.slug, feed.credentials.token, ip="198.51.100.1").status_code == 202  # another address
    clock.shift(WINDOW - 10)
    assert post(client, feed.slug, feed.credentials.token)["Retry-After"] == "10"
    clock.shift(11)
    assert post(client, feed.slug, feed.credentials.token, n=2).status_code == 202


def test_a_missing_token_and_an_unknown_feed_count_as_failures(client: Client, feed: Any, clock: Any) -> None:
    response = client.generic("POST", f"/api/v1/ingest/{feed.slug}/", b"{}", REMOTE_ADDR=GUESSER)
    assert response.status_code == 401
    assert post(client, "no-such-feed", feed.credentials.token).status_code == 403  # a real token, wrong feed
    assert post(client, "no-such-feed", "guess").status_code == 401
    assert post(client, feed.slug, feed.credentials.token).status_code == 429


def test_refusals_that_are_not_about_the_token_do_not_count(client: Client, clock: Any) -> None:
    paused = FeedFactory(slug="paused-wms")
    feed_set_paused(feed=paused, paused=True, actor=None)
    other = FeedFactory(slug="other-wms")
    for _ in range(4):
        assert post(client, paused.slug, paused.credentials.token).status_code == 403  # paused: a valid token
        assert post(client, paused.slug, other.credentials.token).status_code == 403  # another existing feed's token
    assert post(client, other.slug, other.credentials.token).status_code == 202


def test_accepted_posts_never_count(client: Client, feed: Any, clock: Any) -> None:
    for n in range(10):
        assert post(client, feed.slug, feed.credentials.token, n=n).status_code == 202
