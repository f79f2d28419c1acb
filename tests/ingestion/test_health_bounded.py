"""Feed health reads a bounded number of rows however much a feed ever sent: the one figure
without a window, the dead letters waiting, is counted up to a cap; and a feed's message list
stops counting at the paginator's cap."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.common import paginators
from apps.common.time import now
from apps.ingestion import health
from apps.ingestion.choices import MessageStatus
from apps.ingestion.health import feed_health_get
from apps.ingestion.models import RawMessage
from tests.factories import FeedFactory, UserFactory
from tests.workers import needs_postgres

pytestmark = pytest.mark.django_db


def old_messages(feed: Any, n: int, *, status: str, days: int = 30) -> None:
    """`n` messages received a month ago (outside every window), all in `status`."""
    at = now() - timedelta(days=days)
    RawMessage.objects.bulk_create(
        RawMessage(
            feed=feed,
            body=b'{"events": []}',
            content_type="application/json",
            received_at=at - timedelta(minutes=i),
            status=status,
            attempts=5 if status == MessageStatus.FAILED else 1,
            error="OperationalError: gone" if status == MessageStatus.FAILED else "",
        )
        for i in range(n)
    )


def test_the_dead_letters_waiting_are_counted_up_to_a_cap(monkeypatch, client: Client) -> None:
    monkeypatch.setattr(health, "DEAD_LETTERS_COUNTED", 4)
    feed, other = FeedFactory(), FeedFactory()
    old_messages(feed, 12, status=MessageStatus.FAILED)
    old_messages(other, 2, status=MessageStatus.FAILED)
    old_messages(other, 30, status=MessageStatus.PROCESSED)

    h = feed_health_get(feed=feed)
    assert (h.dead_letters, h.dead_letters_capped) == (4, True)
    assert h.day.dead_letters == 0  # a month old: none of them in the 24 h window
    h = feed_health_get(feed=other)
    assert (h.dead_letters, h.dead_letters_capped) == (2, False)  # exact below the cap

    client.force_login(UserFactory(role="ops_lead"))
    page = client.get(reverse("feed-detail", args=[feed.slug])).content.decode()
    assert "4+ waiting" in page


@needs_postgres
def test_the_dead_letter_count_reads_at_most_the_cap_however_many_old_messages(monkeypatch) -> None:
    monkeypatch.setattr(health, "DEAD_LETTERS_COUNTED", 10)
    feed = FeedFactory()
    old_messages(feed, 300, status=MessageStatus.FAILED)
    old_messages(feed, 3000, status=MessageStatus.PROCESSED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ingestion_rawmessage")
    with CaptureQueriesContext(connection) as captured:
        feed_health_get(feed=feed)
    read = 0
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if "ingestion_rawmessage" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            read += sum(
                node["Actual Rows"] * node["Actual Loops"]
                for node in _nodes(cursor.fetchone()[0][0]["Plan"])
                if node.get("Relation Name") == "ingestion_rawmessage"
            )
    # The newest message (quiet since), none in the 24 h or 7-day windows, and the dead letters
    # up to the cap + 1: never the 3,300 messages the feed ever sent.
    assert read <= 1 + 11, read


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _nodes(child))]


def test_a_feeds_message_list_stops_counting_at_the_cap(monkeypatch, client: Client) -> None:
    monkeypatch.setattr(paginators, "COUNT_CAP", 20)
    feed = FeedFactory()
    old_messages(feed, 60, status=MessageStatus.PROCESSED)
    client.force_login(UserFactory(role="ops_lead"))
    page = client.get(reverse("feed-detail", args=[feed.slug])).content.decode()
    assert "of 20+ messages" in page
    last = client.get(reverse("feed-detail", args=[feed.slug]), {"page": "2"}).content.decode()
    assert "51\N{EN DASH}60 of 20+ messages" in last  # pages past the cap still reach every message
    assert "Older \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}</a>" not in last
