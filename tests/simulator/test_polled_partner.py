"""The simulator's polled partner: a real HTTP endpoint it serves itself, which the control
tower's polling transport pulls with the reference paging (http-api.md "Polled feeds")."""

import io
import threading

import httpx
import pytest
from django.core.management import call_command
from django.db import connection

from apps.events.models import CanonicalEvent
from apps.feeds.choices import FeedTransport
from apps.feeds.models import Feed, FeedPoll
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.pipeline.runner import message_process
from apps.polling.services import poll_now
from apps.simulator.partner_api import API_KEY_HEADER, CURSOR_HEADER, PartnerApi
from apps.simulator.services import polled_partner_start
from tests.factories import FeedFactory, event


@pytest.fixture
def partner_api() -> PartnerApi:
    api = PartnerApi(api_key="k-1", page_size=2).start()
    yield api
    api.stop()


def test_it_pages_with_the_reference_cursor_and_refuses_a_wrong_key(partner_api: PartnerApi) -> None:
    partner_api.publish([event(i) for i in range(3)])
    key = {API_KEY_HEADER: "k-1"}
    first = httpx.get(partner_api.url, headers=key)
    assert [e["event_id"] for e in first.json()["events"]] == ["e-0", "e-1"]
    assert first.headers[CURSOR_HEADER] == "2"
    second = httpx.get(partner_api.url, params={"cursor": "2"}, headers=key)
    assert [e["event_id"] for e in second.json()["events"]] == ["e-2"]
    last = httpx.get(partner_api.url, params={"cursor": second.headers[CURSOR_HEADER]}, headers=key)
    assert last.json() == {"events": []}
    assert CURSOR_HEADER not in last.headers  # drained: the round ends
    assert httpx.get(partner_api.url, headers={API_KEY_HEADER: "wrong"}).status_code == 401
    assert httpx.get(partner_api.url, params={"cursor": "²"}, headers=key).status_code == 400
    assert partner_api.served == 3


@pytest.mark.django_db
def test_the_control_tower_polls_what_the_partner_serves_once_each() -> None:
    feed = FeedFactory(slug="sim-tms", system="tms")
    partner = polled_partner_start(feed_slug=feed.slug, interval_seconds=10)
    try:
        feed.refresh_from_db()
        assert feed.transport == FeedTransport.POLL
        partner.publish([event(i, refs={"order": f"SO-{i}"}) for i in range(450)])
        result = poll_now(feed=feed)
        assert result.pages == 4  # 200 + 200 + 50, then the empty page without a cursor
        for message in RawMessage.objects.filter(feed=feed, status=MessageStatus.RECEIVED):
            message_process(message_id=message.id)  # the worker's part, where tasks are not eager
        assert CanonicalEvent.objects.filter(feed=feed).count() == 450
        partner.publish([event("late", refs={"order": "SO-late"})])
        poll_now(feed=feed)  # resumes from the stored cursor: only the new event
        for message in RawMessage.objects.filter(feed=feed, status=MessageStatus.RECEIVED):
            message_process(message_id=message.id)
        assert CanonicalEvent.objects.filter(feed=feed).count() == 451
        assert RawMessage.objects.filter(feed=feed).count() == 4  # no page fetched twice
        assert FeedPoll.objects.get(feed=feed).cursor == "451"
    finally:
        partner.stop()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two writer threads: SQLite's shared in-memory test database fails the second at once "
    "(the demo's SQLite file waits; there the server's own beat polls)",
)
@pytest.mark.django_db(transaction=True)
def test_simulate_serves_the_polled_system_and_posts_the_others(live_server) -> None:
    stop = threading.Event()

    def poller() -> None:  # what the beat does in the demo: poll the feed while the simulator runs
        try:
            while not stop.is_set():
                feed = Feed.objects.filter(slug="sim-tms", transport=FeedTransport.POLL).first()
                if feed is not None:
                    poll_now(feed=feed)
                stop.wait(0.3)
        finally:
            connection.close()

    thread = threading.Thread(target=poller)
    thread.start()
    out = io.StringIO()
    try:
        call_command(
            "simulate",
            "--orders", "15",
            "--rate", "0",
            "--base", live_server.url,
            "--id-prefix", "P1",
            "--wait", "5",
            "--concurrency", "1",
            "--poll-system", "tms",
            "--poll-interval", "1",
            stdout=out,
        )  # fmt: skip
    finally:
        stop.set()
        thread.join()
    output = out.getvalue()
    assert "sim-tms is polled" in output
    served = output.split("polled partner: ")[1].split(" events")[0]
    taken, published = (int(n.replace(",", "")) for n in served.split(" of "))
    assert taken == published > 0
    for message in RawMessage.objects.filter(status=MessageStatus.RECEIVED):
        message_process(message_id=message.id)
    tms = RawMessage.objects.filter(feed__slug="sim-tms")
    assert tms.exists()
    assert CanonicalEvent.objects.filter(feed__slug="sim-tms").exists()
    assert {m.feed.slug for m in RawMessage.objects.all()} == {"sim-erp", "sim-wms", "sim-tms", "sim-lastmile"}
