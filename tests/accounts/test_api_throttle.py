"""The user API's request rates (docs/api.md "Rate limits"): per user token, per feed for a feed
token, per address without credentials; 429 with Retry-After over them. The ingest endpoint is
limited per feed instead and never by these."""

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from apps.accounts.services import api_token_create
from tests.factories import UserFactory, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rates(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "2/min"},
    }


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel("2026-12-01T09:00:10+00:00", tick=False):
        yield


def search(client: Client, token: str) -> Any:
    return client.get("/api/v1/search/", {"q": "SO-1"}, HTTP_AUTHORIZATION=f"Token {token}")


def test_a_user_over_the_rate_gets_429_with_retry_after_and_others_do_not(client: Client, user_token: str) -> None:
    assert [search(client, user_token).status_code for _ in range(3)] == [200, 200, 200]
    refused = search(client, user_token)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    other = api_token_create(user=UserFactory(role="ops_lead"))
    assert search(client, other).status_code == 200


def test_a_feed_token_is_counted_per_feed(client: Client, feed: Any, post_events: Any) -> None:
    message_id = post_events(feed, {"events": [event(1)]}).json()["message_id"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {feed.credentials.token}"}
    codes = [client.get(f"/api/v1/messages/{message_id}/", **auth).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_ingest_endpoint_is_not_subject_to_the_api_rates(feed: Any, post_events: Any) -> None:
    assert [post_events(feed, {"events": [event(n)]}).status_code for n in range(5)] == [202] * 5


def test_without_credentials_the_rate_is_per_address(client: Client) -> None:
    codes = [client.get("/api/docs/", REMOTE_ADDR="203.0.113.5").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/api/docs/", REMOTE_ADDR="203.0.113.6").status_code == 200
    # X-Forwarded-For is anyone's to write: it does not make a new address
    spoofed = client.get("/api/docs/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.77")
    assert spoofed.status_code == 429
