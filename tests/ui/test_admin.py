"""The Django admin for feeds, raw messages and events: credentials shown once, read-only
evidence, audited actions."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from apps.accounts.models import AuditLog
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed, Partner
from apps.feeds.services import token_hash
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_creating_a_feed_in_admin_issues_the_token_once_and_stores_only_its_hash(root: Client) -> None:
    partner = Partner.objects.create(name="Acme Logistics")
    add = root.get(reverse("admin:feeds_feed_add")).content.decode()
    assert "shown ONCE" in add
    assert 'name="token_hash"' not in add
    assert 'name="hmac_secret"' not in add

    response = root.post(
        reverse("admin:feeds_feed_add"),
        {"slug": "acme-tms", "partner": partner.pk, "system": "tms", "format": "canonical-json"},
    )
    assert response.status_code == 302
    feed = Feed.objects.get(slug="acme-tms")
    [note] = [str(m) for m in get_messages(response.wsgi_request) if "Token:" in str(m)]
    token = note.split("Token: ")[1].split()[0]
    secret = note.split("HMAC secret: ")[1].split()[0]
    assert token.startswith("ctf_")
    assert feed.token_hash == token_hash(token)
    assert feed.hmac_secret == secret
    assert token not in (feed.token_hash, feed.token_prefix)
    assert AuditLog.objects.filter(action="feed.created", target="feed:acme-tms").count() == 1

    # shown on the page the admin lands on, and never again
    landing = root.get(response["Location"]).content.decode()
    assert token in landing
    assert secret in landing
    change = root.get(reverse("admin:feeds_feed_change", args=[feed.pk])).content.decode()
    assert token not in change
    assert secret not in change
    assert feed.token_prefix in change


def test_editing_a_feed_keeps_its_credentials_and_pause_state(root: Client, acme: Feed) -> None:
    from apps.feeds.services import feed_set_paused

    before = Feed.objects.get(pk=acme.pk)
    feed_set_paused(feed=acme, paused=True)
    response = root.post(
        reverse("admin:feeds_feed_change", args=[acme.pk]),
        {
            "format": "canonical-json",
            "require_signature": "on",
            "rate_limit_per_minute": "120",
            "max_body_bytes": "1048576",
            "max_silence": "02:00:00",
        },
    )
    assert response.status_code == 302
    after = Feed.objects.get(pk=acme.pk)
    assert (after.rate_limit_per_minute, after.require_signature) == (120, True)
    assert (after.token_hash, after.hmac_secret, after.slug) == (
        before.token_hash,
        before.hmac_secret,
        "acme-wms",
    )
    assert after.is_paused


def test_pause_and_resume_actions_are_audited(root: Client, acme: Feed) -> None:
    url = reverse("admin:feeds_feed_changelist")
    root.post(url, {"action": "pause_feeds", "_selected_action": [acme.pk]})
    assert Feed.objects.get(pk=acme.pk).is_paused
    root.post(url, {"action": "resume_feeds", "_selected_action": [acme.pk]})
    assert not Feed.objects.get(pk=acme.pk).is_paused
    actions = list(AuditLog.objects.filter(target="feed:acme-wms").values_list("action", "actor_label"))
    assert ("feed.paused", "root") in actions
    assert ("feed.resumed", "root") in actions
    assert "Paused" in root.get(url, {"paused": "1"}).content.decode()


def test_feeds_cannot_be_deleted_in_admin(root: Client, acme: Feed) -> None:
    assert root.get(reverse("admin:feeds_feed_delete", args=[acme.pk])).status_code == 403


def test_an_admin_role_user_manages_feeds_without_being_superuser(acme: Feed) -> None:
    client = Client()
    client.force_login(UserFactory(role="admin", is_staff=True))
    assert client.get(reverse("admin:feeds_feed_changelist")).status_code == 200
    client.post(reverse("admin:feeds_feed_changelist"), {"action": "pause_feeds", "_selected_action": [acme.pk]})
    assert Feed.objects.get(pk=acme.pk).is_paused


def test_raw_messages_are_read_only_and_show_their_body(root: Client, partial_message: RawMessage) -> None:
    listing = root.get(reverse("admin:ingestion_rawmessage_changelist"))
    assert listing.status_code == 200
    assert "acme-wms" in listing.content.decode()
    assert root.get(reverse("admin:ingestion_rawmessage_changelist"), {"status__exact": "failed"}).status_code == 200
    detail = root.get(reverse("admin:ingestion_rawmessage_change", args=[partial_message.id])).content.decode()
    assert "&quot;event_id&quot;:&quot;e-bad&quot;" in detail  # the body, escaped, as received
    assert 'name="status"' not in detail  # nothing editable
    assert root.get(reverse("admin:ingestion_rawmessage_add")).status_code == 403


def test_reprocess_action_replays_and_audits(
    root: Client, partial_message: RawMessage, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = root.post(
            reverse("admin:ingestion_rawmessage_changelist"),
            {"action": "reprocess", "_selected_action": [str(partial_message.id)]},
            follow=True,
        )
    assert "1 message(s) queued for reprocessing." in response.content.decode()
    partial_message.refresh_from_db()
    assert partial_message.status == MessageStatus.PROCESSED
    assert AuditLog.objects.filter(action="message.replayed", actor_label="root").count() == 1


def test_events_are_read_only_with_their_refs(root: Client, acme: Feed, receive: Callable[..., RawMessage]) -> None:
    from tests.factories import event

    receive(acme, [event(1, refs={"order": "SO-77", "shipment": "SH-9"})])
    stored = CanonicalEvent.objects.get()
    listing = root.get(reverse("admin:events_canonicalevent_changelist"), {"q": "e-1"}).content.decode()
    assert "pick.completed" in listing
    assert "e-1" in listing
    detail = root.get(reverse("admin:events_canonicalevent_change", args=[stored.pk])).content.decode()
    assert "SO-77" in detail
    assert "SH-9" in detail
    assert root.get(reverse("admin:events_canonicalevent_add")).status_code == 403


def test_admin_lists_the_unmatched_events(root: Client, acme: Feed, receive: Callable[..., RawMessage]) -> None:
    from tests.factories import event

    receive(acme, [event(1, refs={"order": "SO-1"}), event(2, refs={"tracking_number": "1Z-LOOSE"})])
    listing = root.get(reverse("admin:events_canonicalevent_changelist"), {"matched__exact": "0"}).content.decode()
    assert "e-2" in listing
    assert "e-1" not in listing
