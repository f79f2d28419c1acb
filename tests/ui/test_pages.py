"""The operations pages: who may see them, what they show, and that actions are audited."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from apps.accounts.models import AuditLog
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed
from apps.ingestion.choices import MessageStatus
from apps.ingestion.formats import UnreadableBody
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from tests.factories import FeedFactory, event

pytestmark = pytest.mark.django_db

DASH = "\N{EN DASH}"  # the pager separates row numbers with an en dash


def feed_pages(message: RawMessage) -> list[str]:
    return [
        reverse("feed-list"),
        reverse("feed-detail", args=[message.feed.slug]),
        reverse("message-detail", args=[message.id]),
        reverse("dead-letters"),
    ]


# --- who may see what ---------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client: Client, clean_message: RawMessage) -> None:
    for url in [*feed_pages(clean_message), reverse("audit-log")]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_a_customer_service_agent_may_not_see_feed_pages(
    login: Callable[..., Client], clean_message: RawMessage
) -> None:
    cs = login("cs_agent")
    for url in feed_pages(clean_message):
        response = cs.get(url)
        assert response.status_code == 403, url
        assert "You may not see this page" in response.content.decode()
    assert cs.get(reverse("audit-log")).status_code == 403


def test_an_ops_lead_may_not_pause_replay_or_read_the_audit_log(
    ops_client: Client, partial_message: RawMessage
) -> None:
    assert ops_client.post(reverse("feed-pause", args=["acme-wms"]), {"paused": "1"}).status_code == 403
    assert ops_client.post(reverse("message-replay", args=[partial_message.id])).status_code == 403
    assert ops_client.get(reverse("audit-log")).status_code == 403
    assert not Feed.objects.get(slug="acme-wms").is_paused


def test_navigation_shows_only_what_the_role_may_use(ops_client: Client, login: Callable[..., Client]) -> None:
    ops_home = ops_client.get(reverse("home")).content.decode()
    assert reverse("feed-list") in ops_home
    assert reverse("audit-log") not in ops_home
    cs_home = login("cs_agent").get(reverse("home")).content.decode()
    assert reverse("feed-list") not in cs_home


# --- feed list ----------------------------------------------------------------------------


def test_feed_list_shows_each_feed_with_its_health(
    ops_client: Client, clean_message: RawMessage, partial_message: RawMessage
) -> None:
    FeedFactory(slug="quiet-tms", partner_name="Quiet Carrier", system="tms")
    response = ops_client.get(reverse("feed-list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Health of every partner feed" in page  # the help line
    for text in ["acme-wms", "Acme Logistics", "canonical-json", "quiet-tms", "Quiet Carrier"]:
        assert text in page
    assert reverse("feed-detail", args=["acme-wms"]) in page
    assert "no data yet" in page  # quiet-tms never sent anything
    rows = response.context["rows"]
    acme = next(r for r in rows if r["feed"].slug == "acme-wms")
    assert acme["messages_24h"] == 2
    assert not acme["silent"]


def test_feed_list_flags_a_paused_feed(ops_client: Client, acme: Feed) -> None:
    from apps.feeds.services import feed_set_paused

    feed_set_paused(feed=acme, paused=True)
    page = ops_client.get(reverse("feed-list")).content.decode()
    assert 'class="badge badge-paused"' in page
    assert ">Paused</span>" in page


def test_feed_list_empty_state_says_how_feeds_are_made(ops_client: Client) -> None:
    page = ops_client.get(reverse("feed-list")).content.decode()
    assert "No feeds yet — an admin creates them with manage.py create_feed or in Admin" in page


# --- feed detail and the htmx filter ------------------------------------------------------


def test_feed_detail_shows_facts_and_messages(
    ops_client: Client, clean_message: RawMessage, partial_message: RawMessage
) -> None:
    response = ops_client.get(reverse("feed-detail", args=["acme-wms"]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Everything this feed has sent" in page
    assert "Acme Logistics" in page
    assert "/api/v1/ingest/acme-wms/" in page
    assert Feed.objects.get(slug="acme-wms").token_prefix in page
    assert reverse("message-detail", args=[clean_message.id]) in page
    assert reverse("message-detail", args=[partial_message.id]) in page
    assert 'hx-get="/feeds/acme-wms/"' in page
    assert 'hx-target="#message-rows"' in page
    assert 'hx-push-url="true"' in page
    assert f"1{DASH}2 of 2 messages" in page
    # ops leads see feeds but do not manage them
    assert reverse("feed-pause", args=["acme-wms"]) not in page


def test_the_htmx_filter_returns_only_the_matching_rows(
    ops_client: Client, clean_message: RawMessage, partial_message: RawMessage
) -> None:
    url = reverse("feed-detail", args=["acme-wms"])
    response = ops_client.get(url, {"with_rejections": "1"}, HTTP_HX_REQUEST="true")
    rows = response.content.decode()
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    assert "<html" not in rows
    assert "<table" not in rows
    assert "<form" not in rows
    assert rows.lstrip().startswith("<tr")
    assert reverse("message-detail", args=[partial_message.id]) in rows
    assert reverse("message-detail", args=[clean_message.id]) not in rows
    assert "partial" in rows
    assert f"1{DASH}1 of 1 message" in rows


def test_the_status_filter_and_its_empty_state(ops_client: Client, clean_message: RawMessage) -> None:
    url = reverse("feed-detail", args=["acme-wms"])
    rows = ops_client.get(url, {"status": "failed"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No messages match these filters." in rows
    assert reverse("message-detail", args=[clean_message.id]) not in rows
    full = ops_client.get(url, {"status": "failed"}).content.decode()
    assert '<option value="failed" selected>' in full


def test_a_history_restore_gets_the_whole_page(ops_client: Client, clean_message: RawMessage) -> None:
    page = ops_client.get(
        reverse("feed-detail", args=["acme-wms"]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    ).content.decode()
    assert "<html" in page


def test_a_feed_that_never_sent_anything_says_so(ops_client: Client, acme: Feed) -> None:
    page = ops_client.get(reverse("feed-detail", args=["acme-wms"])).content.decode()
    assert "This feed has not sent anything yet." in page


def test_feed_detail_paginates(ops_client: Client, acme: Feed, receive: Callable[..., RawMessage]) -> None:
    for n in range(51):
        receive(acme, [event(n)])
    url = reverse("feed-detail", args=["acme-wms"])
    first = ops_client.get(url, {"status": "processed"}).content.decode()
    assert f"1{DASH}50 of 51 messages" in first
    # the next-page link keeps the filter and swaps the rows in place
    assert 'href="/feeds/acme-wms/?status=processed&amp;page=2"' in first
    assert 'hx-get="/feeds/acme-wms/?status=processed&amp;page=2"' in first
    second = ops_client.get(url, {"status": "processed", "page": "2"}, HTTP_HX_REQUEST="true")
    assert f"51{DASH}51 of 51 messages" in second.content.decode()


def test_an_unknown_feed_is_404(ops_client: Client) -> None:
    response = ops_client.get(reverse("feed-detail", args=["nope"]))
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


# --- message detail -----------------------------------------------------------------------


def test_message_detail_shows_why_an_event_was_rejected(ops_client: Client, partial_message: RawMessage) -> None:
    assert partial_message.status == MessageStatus.PROCESSED
    [rejection] = partial_message.rejections
    assert rejection["index"] == 1
    assert rejection["event_id"] == "e-bad"
    page = ops_client.get(reverse("message-detail", args=[partial_message.id])).content.decode()
    assert "One message exactly as the partner sent it" in page
    assert 'Rejected events <span class="count">(1)</span>' in page
    assert "<code>e-bad</code>" in page
    for error in rejection["errors"]:
        assert f"<li>{escape(error)}</li>" in page
    # the raw body, pretty-printed
    assert "&quot;event_id&quot;: &quot;e-bad&quot;" in page
    assert "Pretty-printed for reading" in page
    assert "Reprocess message" not in page  # ops leads cannot replay


def test_the_raw_body_is_escaped(ops_client: Client, acme: Feed, receive: Callable[..., RawMessage]) -> None:
    message = receive(acme, [event(1, source_status="<script>alert(1)</script>")])
    page = ops_client.get(reverse("message-detail", args=[message.id])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_very_large_body_is_cut_at_200_kb_with_a_note(ops_client: Client, acme: Feed) -> None:
    with pytest.raises(UnreadableBody):
        message_receive(feed=acme, body=b"x" * 300_000, content_type="application/json")
    message = RawMessage.objects.get()
    assert message.status == MessageStatus.REJECTED
    response = ops_client.get(reverse("message-detail", args=[message.id]))
    page = response.content.decode()
    assert "showing the first 200 KB" in page
    assert len(response.context["body_preview"]) == 200 * 1024
    assert "x" * 1000 in page
    assert "body is not JSON" in page  # the whole-message error


def test_an_unknown_message_is_404(ops_client: Client) -> None:
    url = reverse("message-detail", args=["00000000-0000-0000-0000-000000000000"])
    assert ops_client.get(url).status_code == 404


# --- dead letters -------------------------------------------------------------------------


def test_dead_letters_empty_state(ops_client: Client) -> None:
    page = ops_client.get(reverse("dead-letters")).content.decode()
    assert "No dead letters. Messages that fail after every retry land here." in page


def test_dead_letters_list_failed_messages(ops_client: Client, clean_message: RawMessage) -> None:
    RawMessage.objects.filter(id=clean_message.id).update(
        status=MessageStatus.FAILED, attempts=5, error="OperationalError: database is locked"
    )
    page = ops_client.get(reverse("dead-letters")).content.decode()
    assert "OperationalError: database is locked" in page
    assert reverse("message-detail", args=[clean_message.id]) in page
    assert f"1{DASH}1 of 1 dead letter" in page


# --- actions: pause, replay, audit log ----------------------------------------------------


def test_an_admin_pauses_a_feed_and_it_is_in_the_audit_log(admin_client_role: Client, acme: Feed) -> None:
    detail = admin_client_role.get(reverse("feed-detail", args=["acme-wms"])).content.decode()
    assert f'action="{reverse("feed-pause", args=["acme-wms"])}"' in detail
    assert "Pause feed" in detail

    response = admin_client_role.post(reverse("feed-pause", args=["acme-wms"]), {"paused": "1"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("feed-detail", args=["acme-wms"])
    assert "Feed acme-wms paused." in page
    assert "Resume feed" in page
    assert Feed.objects.get(slug="acme-wms").is_paused

    entry = AuditLog.objects.get(action="feed.paused")
    assert entry.target == "feed:acme-wms"
    log = admin_client_role.get(reverse("audit-log"), {"action": "feed.paused"}).content.decode()
    assert "feed.paused" in log
    assert "feed:acme-wms" in log
    assert entry.actor_label in log
    assert "feed.created" not in log.split("<tbody>")[1]  # the filter applies

    admin_client_role.post(reverse("feed-pause", args=["acme-wms"]), {"paused": "0"})
    assert not Feed.objects.get(slug="acme-wms").is_paused
    assert AuditLog.objects.filter(action="feed.resumed", target="feed:acme-wms").count() == 1


def test_audit_log_page_and_filter_by_target(admin_client_role: Client, acme: Feed) -> None:
    FeedFactory(slug="other-tms", system="tms")
    page = admin_client_role.get(reverse("audit-log"), {"target": "acme"}).content.decode()
    assert "Who changed what, and when" in page
    assert "feed:acme-wms" in page
    assert "feed:other-tms" not in page
    assert 'value="acme"' in page
    empty = admin_client_role.get(reverse("audit-log"), {"action": "nothing."}).content.decode()
    assert "No entries match these filters." in empty


def test_the_replay_button_reprocesses_the_message(
    admin_client_role: Client, partial_message: RawMessage, django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("message-detail", args=[partial_message.id])
    page = admin_client_role.get(url).content.decode()
    assert f'action="{reverse("message-replay", args=[partial_message.id])}"' in page
    assert "Reprocess message" in page

    before = (partial_message.accepted, partial_message.duplicates, partial_message.rejections)
    events = CanonicalEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_role.post(reverse("message-replay", args=[partial_message.id]), follow=True)
    assert response.redirect_chain[-1][0] == url
    assert "Message queued for reprocessing." in response.content.decode()
    partial_message.refresh_from_db()
    assert partial_message.status == MessageStatus.PROCESSED
    assert partial_message.attempts == 1  # reset by the replay, then processed once
    # the same outcome again, and no new events (idempotent)
    assert (partial_message.accepted, partial_message.duplicates, partial_message.rejections) == before
    assert CanonicalEvent.objects.count() == events
    assert AuditLog.objects.filter(action="message.replayed", target=f"message:{partial_message.id}").exists()


def test_replay_of_a_message_still_in_flight_is_refused_politely(
    admin_client_role: Client, partial_message: RawMessage
) -> None:
    RawMessage.objects.filter(id=partial_message.id).update(status=MessageStatus.PROCESSING)
    response = admin_client_role.post(reverse("message-replay", args=[partial_message.id]), follow=True)
    page = response.content.decode()
    assert "still being processed" in page
    assert '<button type="submit" disabled>Reprocess message</button>' in page
