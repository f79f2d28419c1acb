"""A batch's new events commit before its derived rows (apps/pipeline/stages.py, "Two
transactions"): what that buys, and what a failure between the two leaves."""

import os
import threading
from typing import Any

import orjson
import pytest
from django.db import connections

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline import stages
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, event
from tests.workers import dead_letter_by_correlation

postgres_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)


def receive(feed: Any, events: list[dict[str, Any]]) -> RawMessage:
    return message_receive(feed=feed, body=orjson.dumps({"events": events}), content_type="application/json")


@pytest.fixture
def unqueued(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """The test processes each message itself, alone (no eager after-commit run, no companions)."""
    monkeypatch.setattr(queue, "enqueue", lambda message_id, **_: None)
    settings.INGEST_BATCH_MESSAGES = 1


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_resend_does_not_wait_for_the_batch_that_holds_its_original(unqueued, monkeypatch):
    """The partner resends an event while the batch holding its first copy is still correlating.
    The resend's batch stores it as a duplicate and finishes at once, instead of waiting on the
    unique index for the other batch's whole transaction (two workers were serialised so)."""
    feed = FeedFactory(system="erp")
    first = receive(feed, [event("a1", type="order.created", refs={"order": "SO-A"})])
    resend = receive(
        feed,
        [
            event("a1", type="order.created", refs={"order": "SO-A"}),  # the same event, sent again
            event("c1", type="order.created", refs={"order": "SO-C"}),
        ],
    )
    correlating, let_go = threading.Event(), threading.Event()
    real_correlate = stages.events_correlate

    def held_correlate(event_ids: list[int]) -> Any:
        if threading.current_thread().name == "first":
            correlating.set()
            let_go.wait(timeout=30)
        return real_correlate(event_ids)

    monkeypatch.setattr(stages, "events_correlate", held_correlate)
    results: dict[str, str | None] = {}

    def work(name: str, message: RawMessage) -> None:
        try:
            results[name] = message_process(message_id=message.id)
        finally:
            connections.close_all()

    one = threading.Thread(target=work, args=("first", first), name="first")
    one.start()
    assert correlating.wait(timeout=30)
    two = threading.Thread(target=work, args=("resend", resend), name="resend")
    two.start()
    two.join(timeout=10)
    finished_while_held = not two.is_alive()
    let_go.set()
    one.join(timeout=30)
    two.join(timeout=30)

    assert finished_while_held, "the resend's batch waited for the batch holding the original"
    assert results == {"first": MessageStatus.PROCESSED, "resend": MessageStatus.PROCESSED}
    resend.refresh_from_db()
    assert (resend.accepted, resend.duplicates) == (1, 1)
    assert CanonicalEvent.objects.filter(event_key__endswith="a1").count() == 1
    assert TimelineEntry.objects.filter(order__value="SO-A").count() == 1
    assert set(OrderProjection.objects.values_list("order_key", flat=True)) == {"SO-A", "SO-C"}


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_store_is_retried_from_the_stored_events(unqueued, monkeypatch):
    feed = FeedFactory(system="erp")
    message = receive(feed, [event("r1", type="order.created", refs={"order": "SO-R"})])
    real_correlate, calls = stages.events_correlate, []

    def failing_once(event_ids: list[int]) -> Any:
        calls.append(event_ids)
        if len(calls) == 1:
            raise RuntimeError("the database went away mid-batch")
        return real_correlate(event_ids)

    monkeypatch.setattr(stages, "events_correlate", failing_once)
    with pytest.raises(RuntimeError):
        message_process(message_id=message.id)
    message.refresh_from_db()
    assert message.status == MessageStatus.RECEIVED  # back in line for its retry
    assert CanonicalEvent.objects.filter(message=message).count() == 1  # the store committed

    assert message_process(message_id=message.id) == MessageStatus.PROCESSED
    message.refresh_from_db()
    assert (message.accepted, message.duplicates) == (1, 0)  # restored, not a duplicate of itself
    assert calls[0] == calls[1]  # the retry correlates the same stored event
    assert OrderProjection.objects.get(order_key="SO-R").event_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_dead_letter_leaves_its_stored_events_on_the_unmatched_list(unqueued, monkeypatch, settings):
    """Correlation never ran on them: an agent must find them among the unmatched, not lose
    them to the presumption they were stored with."""
    settings.INGEST_MAX_ATTEMPTS = 2
    feed = FeedFactory(system="erp")
    message = receive(feed, [event("d1", type="order.created", refs={"order": "SO-D"})])
    dead_letter_by_correlation(monkeypatch, message.id, settings.INGEST_MAX_ATTEMPTS)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert list(CanonicalEvent.objects.filter(message=message).values_list("matched", flat=True)) == [False]
