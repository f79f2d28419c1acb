"""The dry run: what a partner's body would become, and where it would land, storing nothing."""

from typing import Any

import orjson
import pytest
from django.test import Client

from apps.accounts.services import api_token_create
from apps.events.models import CanonicalEvent
from apps.ingestion.models import RawMessage
from tests.correlation.conftest import World
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partners(db: None) -> World:
    return World()


def post(client: Client, role: str, slug: str, body: bytes, content_type: str = "application/json") -> Any:
    token = api_token_create(user=UserFactory(role=role))
    return client.post(
        f"/api/v1/feeds/{slug}/dry-run/", body, content_type=content_type, HTTP_AUTHORIZATION=f"Token {token}"
    )


def test_it_shows_the_events_the_rejections_and_where_they_would_land_storing_nothing(
    partners: World, client: Client
) -> None:
    partners.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-1", "tracking_number": "1Z1"})
    feed = partners.feeds["lastmile"]
    stored = (RawMessage.objects.count(), CanonicalEvent.objects.count())
    body = {
        "events": [
            {
                "event_id": "lm-1",
                "type": "delivery.completed",
                "occurred_at": "2026-11-25T16:00:00+01:00",
                "refs": {"tracking_number": "1Z1"},
                "pod": {"signed_by": "J. Doe"},
            },
            {"event_id": "lm-2", "type": "delivery.completed", "occurred_at": "2026-11-25T16:00:00", "refs": {}},
        ]
    }
    response = post(client, "admin", feed.slug, orjson.dumps(body))
    assert response.status_code == 200
    data = response.json()
    assert data["errors"] == []
    [event] = data["events"]
    assert (event["event_id"], event["type"], event["occurred_at"]) == (
        "lm-1",
        "delivery.completed",
        "2026-11-25T16:00:00+01:00",
    )
    assert event["would_land_on"] == ["SO-1"]
    assert event["pod"] == {"signed_by": "J. Doe"}
    [rejected] = data["rejected"]
    assert rejected["event_id"] == "lm-2"
    assert rejected["errors"]
    assert (RawMessage.objects.count(), CanonicalEvent.objects.count()) == stored


def test_unreadable_bodies_wrong_content_types_and_roles(partners: World, client: Client) -> None:
    slug = partners.feeds["wms"].slug
    unreadable = post(client, "admin", slug, b"{not json")
    assert unreadable.status_code == 200
    assert unreadable.json()["events"] == []
    assert unreadable.json()["errors"][0].startswith("body is not JSON")
    assert post(client, "admin", slug, b"a,b\n1,2\n", content_type="text/csv").status_code == 415
    assert post(client, "ops_lead", slug, b"{}").status_code == 403
    assert post(client, "admin", "no-such-feed", b"{}").status_code == 404
