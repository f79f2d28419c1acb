"""Polled feeds against a real partner server (http-api.md "Polled feeds"): the GET with the
feed's headers, pages followed by their cursor, the cursor kept for the next round and across a
restart, each page a message with the push path's idempotency, empty and unreadable pages, and
the configurable cursor sources (Link header, response field)."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
import time_machine

from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed, FeedPoll
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.polling import rounds
from apps.polling.services import poll_configure, poll_now
from tests.factories import FeedFactory, event

from .conftest import Partner, Reply

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def polled_feed(
    partner: Partner, *, path: str = "/events", format: str = "canonical-json", system: str = "wms", **settings: Any
) -> Feed:
    feed: Feed = FeedFactory(format=format, system=system, transport="poll")
    poll_configure(feed=feed, url=partner.url(path), **settings)
    return feed


@pytest.fixture
def round_of(django_capture_on_commit_callbacks: Any) -> Any:
    """One round here and now; the stored pages are processed as they would be after commit."""

    def run(feed: Feed) -> rounds.RoundResult:
        with django_capture_on_commit_callbacks(execute=True):
            return poll_now(feed=Feed.objects.get(pk=feed.pk))

    return run


def page(*ids: int, cursor: str | None = None) -> Reply:
    return Reply(
        body={"events": [event(n) for n in ids]},
        headers={"Next-Page-Cursor": cursor} if cursor else {},
    )


def linked(reply: Reply, link: str) -> Reply:
    reply.headers["Link"] = link
    return reply


def dcsa_event(event_id: str, booking: str) -> dict[str, Any]:
    """A DCSA 2.2 actual vessel arrival for a booking."""
    return {
        "eventID": event_id,
        "eventCreatedDateTime": "2024-03-01T10:00:00Z",
        "eventType": "TRANSPORT",
        "eventClassifierCode": "ACT",
        "eventDateTime": "2024-03-01T08:30:00-05:00",
        "transportEventTypeCode": "ARRI",
        "transportCall": {"transportCallID": "tc-1", "UNLocationCode": "USNYC", "modeOfTransport": "VESSEL"},
        "documentReferences": [{"documentReferenceType": "BKG", "documentReferenceValue": booking}],
    }


def test_a_round_gets_the_url_with_the_feeds_headers_and_stores_the_page(partner, round_of):
    feed = polled_feed(
        partner, headers={"Authorization": "Bearer partner-secret", "X-API-Key": "k-123"}, interval_seconds=90
    )
    partner.script(page(1, 2))
    with time_machine.travel(NOON, tick=False):
        result = round_of(feed)
    assert result.outcome == "drained"
    (seen,) = partner.seen
    assert seen.path == "/events"
    assert seen.headers["Authorization"] == "Bearer partner-secret"
    assert seen.headers["X-API-Key"] == "k-123"
    message = RawMessage.objects.get(feed=feed)
    assert str(message.id) == result.messages[0]
    assert (message.status, message.accepted, message.duplicates) == (MessageStatus.PROCESSED, 2, 0)
    assert set(CanonicalEvent.objects.filter(feed=feed).values_list("event_key", flat=True)) == {"e-1", "e-2"}
    poll = FeedPoll.objects.get(feed=feed)
    assert poll.last_status == 200
    assert poll.last_error == ""
    assert poll.last_success_at is not None
    assert poll.next_poll_at == poll.last_success_at + timedelta(seconds=90)
    assert poll.pages == 1


def test_next_page_cursor_is_followed_until_a_page_without_it_keeping_the_urls_query(partner, round_of):
    feed = polled_feed(partner, path="/events?limit=2&region=eu%20west")
    partner.script(page(1, 2, cursor="c1"), page(3, 4, cursor="c/2+x"), page(5))
    result = round_of(feed)
    assert (result.outcome, result.pages, len(result.messages)) == ("drained", 3, 3)
    assert [s.cursor for s in partner.seen] == [None, "c1", "c/2+x"]
    assert all(s.query["limit"] == ["2"] and s.query["region"] == ["eu west"] for s in partner.seen)
    assert CanonicalEvent.objects.filter(feed=feed).count() == 5
    assert FeedPoll.objects.get(feed=feed).cursor == "c/2+x"  # the last one received


def test_the_next_round_starts_from_the_last_cursor_after_a_restart(partner, round_of):
    feed = polled_feed(partner)
    partner.script(page(1, cursor="c1"), page(2, cursor="c2"), page(3))
    round_of(feed)
    # A restart: nothing survives but the database; a new service call reads the cursor from it.
    assert FeedPoll.objects.get(feed=feed).cursor == "c2"
    partner.script(page(4, cursor="c3"), page())
    round_of(Feed.objects.get(slug=feed.slug))
    assert [s.cursor for s in partner.seen] == [None, "c1", "c2", "c2", "c3"]
    assert CanonicalEvent.objects.filter(feed=feed).count() == 4


def test_a_round_cut_short_resumes_after_the_last_page_it_stored(partner, round_of):
    feed = polled_feed(partner)
    partner.script(page(1, cursor="c1"), page(2, cursor="c2"), Reply(status=503, body=b"maintenance"))
    assert round_of(feed).outcome == "failed"
    assert FeedPoll.objects.get(feed=feed).cursor == "c2"  # saved with each page stored
    partner.script(page(3))
    round_of(feed)
    assert [s.cursor for s in partner.seen] == [None, "c1", "c2", "c2"]  # page 1 and 2 not fetched again
    assert RawMessage.objects.filter(feed=feed).count() == 3


def test_the_same_page_fetched_twice_gives_duplicates_not_new_events(partner, round_of):
    feed = polled_feed(partner)
    partner.then = page(1, 2)
    round_of(feed)
    round_of(feed)
    first, second = RawMessage.objects.filter(feed=feed).order_by("received_at", "id")
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (second.accepted, second.duplicates) == (0, 2)
    assert CanonicalEvent.objects.filter(feed=feed).count() == 2


def test_an_empty_page_stores_no_message_but_moves_the_cursor(partner, round_of):
    feed = polled_feed(partner)
    partner.script(Reply(body={"events": []}, headers={"Next-Page-Cursor": "c1"}), Reply(body=b""))
    result = round_of(feed)
    assert (result.outcome, result.pages, result.messages) == ("drained", 2, [])
    assert not RawMessage.objects.filter(feed=feed).exists()
    poll = FeedPoll.objects.get(feed=feed)
    assert (poll.cursor, poll.pages, poll.last_status) == ("c1", 2, 200)


def test_dcsa_event_pages_become_canonical_events(partner, round_of):
    feed = polled_feed(partner, path="/v2/events?eventType=TRANSPORT", format="dcsa-tnt", system="tms")
    ids = [str(uuid4()) for _ in range(3)]
    partner.script(
        Reply(body=[dcsa_event(ids[0], "BK-1"), dcsa_event(ids[1], "BK-2")], headers={"Next-Page-Cursor": "p2"}),
        Reply(body=[dcsa_event(ids[2], "BK-3")], length=False),  # read until the connection closes
    )
    assert round_of(feed).pages == 2
    events = CanonicalEvent.objects.filter(feed=feed)
    assert {e.event_key for e in events} == {f"dcsa:{i}" for i in ids}
    assert {e.type for e in events} == {"shipment.arrived"}
    assert partner.seen[1].query == {"eventType": ["TRANSPORT"], "cursor": ["p2"]}


def test_an_unreadable_page_is_kept_as_rejected_and_the_round_goes_on(partner, round_of):
    feed = polled_feed(partner)
    partner.script(Reply(body=b"<html>oops</html>", headers={"Next-Page-Cursor": "c1"}), page(1))
    result = round_of(feed)
    assert (result.outcome, result.pages) == ("drained", 2)
    statuses = sorted(RawMessage.objects.filter(feed=feed).values_list("status", flat=True))
    assert statuses == [MessageStatus.PROCESSED, MessageStatus.REJECTED]
    assert bytes(RawMessage.objects.get(feed=feed, status=MessageStatus.REJECTED).body) == b"<html>oops</html>"
    poll = FeedPoll.objects.get(feed=feed)
    assert "page 1" in poll.last_error
    assert "could not be read" in poll.last_error
    assert (poll.cursor, poll.consecutive_failures) == ("c1", 0)


def test_a_link_header_gives_the_next_pages_url(partner, round_of):
    feed = polled_feed(partner, cursor_from="link")
    relative = '</events?page=2&size=1>; rel="next", </events?page=1>; rel="first"'
    absolute = f'<{partner.url("/events?page=3&size=1")}>; rel="next"'
    partner.script(linked(page(1), relative), linked(page(2), absolute), page(3))
    round_of(feed)
    assert [(s.path, s.query.get("page")) for s in partner.seen] == [
        ("/events", None),
        ("/events", ["2"]),
        ("/events", ["3"]),
    ]
    assert FeedPoll.objects.get(feed=feed).cursor == partner.url("/events?page=3&size=1")
    partner.script(page())
    round_of(feed)
    assert partner.seen[-1].query == {"page": ["3"], "size": ["1"]}  # the next round starts there


def test_a_link_to_another_host_is_refused(partner, round_of):
    feed = polled_feed(partner, cursor_from="link", headers={"Authorization": "Bearer partner-secret"})
    partner.script(linked(page(1), '<http://elsewhere.example/steal>; rel="next"'))
    assert round_of(feed).outcome == "failed"
    poll = FeedPoll.objects.get(feed=feed)
    assert "another host" in poll.last_error
    assert (poll.cursor, poll.consecutive_failures) == ("", 1)
    assert len(partner.seen) == 1


def test_a_cursor_from_a_response_field(partner, round_of):
    feed = polled_feed(
        partner, format="dcsa-tnt", system="tms", cursor_from="field", cursor_name="metadata.next", cursor_param="after"
    )
    first, second = str(uuid4()), str(uuid4())
    partner.script(
        Reply(body={"events": [dcsa_event(first, "BK-1")], "metadata": {"next": "n-2"}}),
        Reply(body={"events": [dcsa_event(second, "BK-2")], "metadata": {"next": None}}),
    )
    assert round_of(feed).pages == 2
    assert [s.query.get("after") for s in partner.seen] == [None, ["n-2"]]
    assert CanonicalEvent.objects.filter(feed=feed).count() == 2


def test_a_round_stops_at_the_page_cap_and_the_feed_is_due_again_at_once(partner, round_of, monkeypatch):
    monkeypatch.setattr(rounds, "ROUND_MAX_PAGES", 3)
    feed = polled_feed(partner)
    partner.route(lambda seen: page(int(seen.cursor or 0) + 1, cursor=str(int(seen.cursor or 0) + 1)))
    with time_machine.travel(NOON, tick=False):
        result = round_of(feed)
    poll = FeedPoll.objects.get(feed=feed)
    assert (result.outcome, result.pages, poll.cursor) == ("more", 3, "3")
    assert poll.next_poll_at == NOON  # due again at the next dispatch, behind the feeds waiting longer
    assert len(partner.seen) == 3
