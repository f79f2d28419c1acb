"""Processing: exactly once, whatever the order or repetition; nothing lost on failure."""

from datetime import timedelta
from io import StringIO

import orjson
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from apps.events.models import CanonicalEvent, EventRef
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline import stages
from apps.pipeline.claims import messages_heal
from apps.pipeline.runner import batch_run, message_process
from tests.factories import FeedFactory, event

pytestmark = pytest.mark.django_db


def receive(feed, events, *, process=True):
    message = message_receive(feed=feed, body=orjson.dumps({"events": events}), content_type="application/json")
    if process:
        message_process(message_id=message.id)
    message.refresh_from_db()
    return message


def test_events_and_their_refs_are_stored(feed):
    receive(feed, [event(1, refs={"order": "SO-1", "shipment": ["SH-1", "SH-2"]})])
    stored = CanonicalEvent.objects.get()
    assert (stored.type, stored.system, stored.event_key) == ("pick.completed", "wms", "e-1")
    assert sorted(EventRef.objects.values_list("kind", "value")) == [
        ("order", "SO-1"),
        ("shipment", "SH-1"),
        ("shipment", "SH-2"),
    ]


def test_the_same_event_id_from_the_same_feed_is_one_event(feed):
    receive(feed, [event(1), event(2)])
    second = receive(feed, [event(2), event(3)])
    assert (second.accepted, second.duplicates) == (1, 1)
    assert CanonicalEvent.objects.count() == 3


def test_the_same_event_id_from_another_feed_is_another_event(feed):
    receive(feed, [event(1)])
    receive(FeedFactory(), [event(1)])
    assert CanonicalEvent.objects.count() == 2


def test_one_batch_of_messages_is_stored_as_if_one_after_the_other(feed, monkeypatch):
    """Under backlog a worker stores many messages in one statement set: a key two of them
    carry goes to the first, refs go to their own events, and each message keeps its counts."""
    monkeypatch.setattr(queue, "enqueue", lambda message_id, **_: None)  # nobody processes early
    other = FeedFactory()
    first = receive(feed, [event(1, refs={"order": "SO-1"}), event(2)], process=False)
    second = receive(feed, [event(2), event(3, refs={"order": "SO-3"}), event(4, type="no.such.type")], process=False)
    elsewhere = receive(other, [event(2)], process=False)
    RawMessage.objects.update(status=MessageStatus.PROCESSING)  # claimed together, as _claim_waiting does
    statuses = batch_run(list(RawMessage.objects.select_related("feed").order_by("received_at")), stages.STAGES)
    assert set(statuses.values()) == {MessageStatus.PROCESSED}
    counts = {m.id: (m.accepted, m.duplicates) for m in RawMessage.objects.all()}
    assert counts == {first.id: (2, 0), second.id: (1, 1), elsewhere.id: (1, 0)}
    second.refresh_from_db()
    assert [r["event_id"] for r in second.rejections] == ["e-4"]  # kept, with its reason
    assert second.rejections[0]["errors"]
    assert CanonicalEvent.objects.filter(event_key="e-2", feed=feed).get().message_id == first.id
    refs = sorted(EventRef.objects.values_list("event__feed_id", "event__event_key", "value"))
    assert refs == sorted(
        [
            (feed.id, "e-1", "SO-1"),
            (feed.id, "e-2", "SO-1001"),
            (feed.id, "e-2", "WT-2"),
            (feed.id, "e-3", "SO-3"),
            (other.id, "e-2", "SO-1001"),
            (other.id, "e-2", "WT-2"),
        ]
    )


def test_a_repeat_inside_one_message_counts_as_a_duplicate(feed):
    message = receive(feed, [event(1), event(1)])
    assert (message.accepted, message.duplicates) == (1, 1)


def test_events_without_ids_are_deduplicated_by_content(feed):
    anonymous = event()
    del anonymous["event_id"]
    receive(feed, [anonymous])
    again = receive(feed, [anonymous])
    assert again.duplicates == 1
    assert CanonicalEvent.objects.get().event_key.startswith("sha256:")


def test_a_message_with_nothing_usable_is_rejected_and_kept(feed):
    message = receive(feed, [event(1, type="x.y"), event(2, refs={})])
    assert message.status == MessageStatus.REJECTED
    assert [r["index"] for r in message.rejections] == [0, 1]
    assert bytes(message.body)


def test_reprocessing_a_message_gives_the_same_counts_and_no_new_events(feed):
    message = receive(feed, [event(1), event(2, occurred_at="2026-01-01T00:00:00")])
    assert message_process(message_id=message.id, replay=True) == MessageStatus.PROCESSED
    message.refresh_from_db()
    assert (message.accepted, message.duplicates, len(message.rejections)) == (1, 0, 1)
    assert CanonicalEvent.objects.count() == 1


def test_a_message_is_processed_by_one_worker_only(feed):
    message = receive(feed, [event(1)], process=False)
    assert message_process(message_id=message.id) == MessageStatus.PROCESSED
    assert message_process(message_id=message.id) is None  # already claimed and finished


def test_a_failing_message_is_retried_then_dead_lettered(feed, monkeypatch, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    message = receive(feed, [event(1)], process=False)

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(stages, "events_store_batch", broken)
    with pytest.raises(RuntimeError):
        message_process(message_id=message.id)
    message.refresh_from_db()
    assert message.status == MessageStatus.RECEIVED  # back in line for a retry
    with pytest.raises(RuntimeError):
        message_process(message_id=message.id)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "database hiccup" in message.error
    monkeypatch.undo()
    # After the fix, a replay processes the dead letter.
    assert message_process(message_id=message.id, replay=True) == MessageStatus.PROCESSED
    assert CanonicalEvent.objects.count() == 1


def test_stalled_messages_are_enqueued_again(feed, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with time_machine.travel(timezone.now() - timedelta(minutes=5), tick=False):
        message = receive(feed, [event(1)], process=False)
    assert message.status == MessageStatus.RECEIVED
    assert messages_heal(on_dead_letter=stages.ON_DEAD_LETTER).enqueued == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED


def test_a_message_held_by_a_dead_worker_is_freed(feed):
    with time_machine.travel(timezone.now() - timedelta(hours=1), tick=False):
        message = receive(feed, [event(1)], process=False)
        RawMessage.objects.filter(id=message.id).update(
            status=MessageStatus.PROCESSING, processing_started_at=timezone.now()
        )
    messages_heal(on_dead_letter=stages.ON_DEAD_LETTER)
    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED


def test_replay_command_reprocesses_a_feeds_messages(feed):
    receive(feed, [event(1)])
    receive(feed, [event(2, type="x.y")])
    out = StringIO()
    call_command("replay", "--feed", feed.slug, stdout=out)
    assert "replayed 2 messages" in out.getvalue()
    assert "1 processed, 1 rejected" in out.getvalue()
    assert CanonicalEvent.objects.count() == 1


def test_replay_since_takes_only_newer_messages(feed):
    with time_machine.travel("2026-11-20T10:00:00+00:00", tick=False):
        receive(feed, [event(1)])
    with time_machine.travel("2026-11-24T10:00:00+00:00", tick=False):
        receive(feed, [event(2)])
    out = StringIO()
    call_command("replay", "--feed", feed.slug, "--since", "2026-11-22T00:00:00+00:00", stdout=out)
    assert "replayed 1 messages" in out.getvalue()


def test_replay_of_an_unknown_feed_fails_clearly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no feed"):
        call_command("replay", "--feed", "nope")
