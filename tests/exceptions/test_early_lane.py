"""The early lane (docs/live.md "Early exceptions"): a small message's partner exceptions are
opened before correlation, from the graph as committed, then the regular lane processes the
message in full and counts nothing twice.

Each test receives a message, runs only the early lane (`message_process_early`), checks what an
operations lead would see at that moment, then runs the regular lane and checks again."""

import os
from typing import Any

import orjson
import psycopg
import pytest
from django.db import connection

from apps.correlation.selectors import unmatched_events
from apps.exceptions.choices import CaseStatus, ExceptionKind
from apps.exceptions.models import ExceptionCase
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline import early as early_lane
from apps.pipeline.early import message_process_early
from apps.pipeline.runner import message_process
from apps.pipeline.stages import Stage
from tests.correlation.conftest import World
from tests.factories import UserFactory
from tests.live.conftest import sent_messages
from tests.workers import dead_letter_by_correlation, needs_postgres

from .conftest import T

ENQUEUE = queue.enqueue  # the real one, for the routing test


@pytest.fixture(autouse=True)
def _lanes_by_hand(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """Celery is eager in the tests: the early lane would hand the message straight on to the
    regular one. These tests run each lane themselves (but the one that posts). And they test the
    lane's exceptions-before-correlation path: its full attempt is off unless a test turns it on."""
    if "full_attempt" not in request.fixturenames:
        settings.INGEST_EARLY_LOCK_TIMEOUT_MS = 0
    if "post_events" not in request.fixturenames:
        monkeypatch.setattr(queue, "enqueue", lambda *args, **kwargs: None)


def receive(w: World, system: str, type_: str, refs: dict[str, Any], at: str, **extra: Any) -> RawMessage:
    event = {"event_id": f"{system}-{type_}-{at}", "type": type_, "occurred_at": at, "refs": refs, **extra}
    body = orjson.dumps({"events": [event]})
    return message_receive(feed=w.feeds[system], body=body, content_type="application/json")  # early_pending


def attempt(w: World, refs: dict[str, Any], at: str = T(14)) -> RawMessage:
    return receive(w, "lastmile", "delivery.attempted", refs, at, reason={"code": "CUSTOMER_ABSENT"})


def partner_cases() -> list[ExceptionCase]:
    return list(ExceptionCase.objects.filter(kind=ExceptionKind.PARTNER_EXCEPTION).select_related("order"))


def unmatched() -> list[str]:
    return list(unmatched_events().values_list("event_key", flat=True))


@pytest.fixture
def known_order(world: World) -> World:
    """SO-1, shipped as SH-1 with tracking number 1Z1 (bound to SH-1)."""
    world.send("erp", "order.created", {"order": "SO-1"}, T(8))
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-1", "tracking_number": "1Z1"}, T(9))
    return world


def test_a_failed_attempt_on_a_known_order_is_a_case_on_that_order_before_correlation(
    known_order, sent, django_capture_on_commit_callbacks
):
    message = attempt(known_order, {"tracking_number": "1Z1"})

    with django_capture_on_commit_callbacks(execute=True):
        assert message_process_early(message_id=message.id) is True

    [case] = partner_cases()
    assert (case.status, case.order.value, case.subject, case.occurrences) == ("open", "SO-1", "order:SO-1", 1)
    opened = [m for m in sent_messages(sent) if m["type"] == "exception.opened"]
    assert [m["exception"]["order"] for m in opened] == ["SO-1"]  # pushed at the early commit
    message.refresh_from_db()
    assert message.status == MessageStatus.RECEIVED  # handed back to the regular lane
    assert "lastmile-delivery.attempted-" + T(14) not in known_order.timeline("SO-1")  # not correlated yet

    assert message_process(message_id=message.id) == MessageStatus.PROCESSED

    [case] = partner_cases()
    assert (case.status, case.order.value, case.occurrences) == ("open", "SO-1", 1)  # counted once
    assert known_order.timeline("SO-1")[-1] == "lastmile-delivery.attempted-" + T(14)


def test_an_attempt_for_an_order_not_known_yet_gets_its_order_from_correlation(world):
    message = attempt(world, {"order": "SO-NEW"})

    message_process_early(message_id=message.id)
    [case] = partner_cases()
    assert (case.subject, case.order) == ("order:SO-NEW", None)  # the graph has no SO-NEW yet

    message_process(message_id=message.id)
    [case] = partner_cases()
    assert (case.subject, case.order.value, case.occurrences, case.status) == ("order:SO-NEW", "SO-NEW", 1, "open")


def test_an_attempt_after_the_delivery_is_recorded_already_over(known_order):
    known_order.send("lastmile", "delivery.completed", {"tracking_number": "1Z1"}, T(16))
    message = attempt(known_order, {"tracking_number": "1Z1"}, at=T(14))  # arrives late, happened before

    message_process_early(message_id=message.id)
    [case] = partner_cases()
    assert case.status == CaseStatus.RESOLVED

    message_process(message_id=message.id)
    assert [(c.status, c.occurrences) for c in partner_cases()] == [(CaseStatus.RESOLVED, 1)]


def test_a_message_without_exceptions_skips_the_lane(known_order):
    message = receive(known_order, "lastmile", "delivery.completed", {"tracking_number": "1Z1"}, T(16))
    assert message_process_early(message_id=message.id) is True  # a clearing event: it takes the lane
    assert not partner_cases()  # ...and finds nothing to clear
    message = receive(known_order, "tms", "shipment.departed", {"shipment": "SH-1"}, T(12))

    assert message_process_early(message_id=message.id) is False

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.RECEIVED, 0)
    assert message_process(message_id=message.id) == MessageStatus.PROCESSED


def test_a_failing_early_stage_loses_nothing(known_order, monkeypatch):
    def broken(batch: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(early_lane, "EARLY_STAGES", (Stage("broken", broken),))
    message = attempt(known_order, {"tracking_number": "1Z1"})

    assert message_process_early(message_id=message.id) is False

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.RECEIVED, 0)
    assert not partner_cases()
    assert message_process(message_id=message.id) == MessageStatus.PROCESSED
    assert [c.order.value for c in partner_cases()] == ["SO-1"]


def test_a_message_the_regular_lane_has_already_claimed_is_left_alone(known_order):
    message = attempt(known_order, {"tracking_number": "1Z1"})
    message_process(message_id=message.id)

    assert message_process_early(message_id=message.id) is False
    assert [c.occurrences for c in partner_cases()] == [1]


def test_small_messages_with_exceptions_are_queued_on_the_early_lane_and_others_are_not(
    feed, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.pipeline import tasks

    queued: list[tuple[str, str | None]] = []

    def sent(lane: str) -> Any:
        return lambda *args, queue=None, **kwargs: queued.append((lane, queue))

    monkeypatch.setattr(tasks.process_message_early, "apply_async", sent("early"))
    monkeypatch.setattr(tasks.process_message, "apply_async", sent("regular"))
    monkeypatch.setattr(queue, "enqueue", ENQUEUE)
    settings.INGEST_EARLY_MAX_EVENTS = 2

    def post(n: int, type_: str = "delivery.attempted") -> RawMessage:
        events = [
            {"event_id": f"e{n}-{type_}-{i}", "type": type_, "occurred_at": T(8), "refs": {"order": f"X{n}"}}
            for i in range(n)
        ]
        with django_capture_on_commit_callbacks(execute=True):  # the enqueue runs on commit
            return message_receive(feed=feed, body=orjson.dumps({"events": events}), content_type="application/json")

    small, large, routine = post(2), post(3), post(1, "order.created")
    settings.INGEST_EARLY_MAX_EVENTS = 0  # the lane turned off
    off = post(1)

    regular = ("regular", settings.CELERY_TASK_DEFAULT_QUEUE)
    assert queued == [("early", settings.INGEST_EARLY_QUEUE), regular, regular, regular]
    assert [m.early_pending for m in (small, large, routine, off)] == [True, False, False, False]


@needs_postgres  # SQLite never batches (claims.claim_waiting): nothing would be taken along anyway
def test_the_regular_lane_does_not_take_a_message_waiting_for_the_early_lane_along(known_order, settings):
    settings.INGEST_BATCH_MESSAGES = 20
    waiting = attempt(known_order, {"tracking_number": "1Z1"})
    RawMessage.objects.filter(id=waiting.id).update(early_pending=True)
    taken_along = receive(known_order, "tms", "shipment.arrived", {"shipment": "SH-1"}, T(13))
    other = receive(known_order, "tms", "shipment.departed", {"shipment": "SH-1"}, T(12))

    message_process(message_id=other.id)  # claims every waiting message it can batch

    taken_along.refresh_from_db()
    assert taken_along.status == MessageStatus.PROCESSED  # the batch did take the waiting ones along
    waiting.refresh_from_db()
    assert (waiting.status, waiting.early_pending) == (MessageStatus.RECEIVED, True)
    assert message_process_early(message_id=waiting.id) is True
    waiting.refresh_from_db()
    assert (waiting.status, waiting.early_pending) == (MessageStatus.RECEIVED, False)


def test_posting_a_webhook_runs_both_lanes(known_order, post_events):
    """In the demo and the tests Celery runs eagerly: the early lane, then the regular one."""
    event = {
        "event_id": "att-1",
        "type": "delivery.attempted",
        "occurred_at": T(14),
        "refs": {"tracking_number": "1Z1"},
        "reason": {"code": "CUSTOMER_ABSENT"},
    }
    response = post_events(known_order.feeds["lastmile"], {"events": [event]})

    assert response.status_code == 202
    assert RawMessage.objects.get(id=response.json()["message_id"]).status == MessageStatus.PROCESSED
    assert [(c.order.value, c.occurrences) for c in partner_cases()] == [("SO-1", 1)]


# --- the unmatched list: the early lane has not correlated anything -------------------------


def test_an_early_event_is_unmatched_until_the_regular_lane_places_it(known_order, client):
    client.force_login(UserFactory(role="ops_lead"))
    message = attempt(known_order, {"tracking_number": "1Z1"})
    key = "lastmile-delivery.attempted-" + T(14)

    message_process_early(message_id=message.id)

    assert [c.order.value for c in partner_cases()] == ["SO-1"]  # the case knows its order already...
    assert unmatched() == [key]  # ...but the event is on no timeline yet
    listed = client.get("/api/v1/unmatched-events/").json()["results"]
    assert [item["event_id"] for item in listed] == [key]

    assert message_process(message_id=message.id) == MessageStatus.PROCESSED

    assert known_order.timeline("SO-1")[-1] == key
    assert unmatched() == []
    assert client.get("/api/v1/unmatched-events/").json()["results"] == []


def test_an_early_event_on_no_order_stays_unmatched_until_its_ref_is_bound(world):
    message = attempt(world, {"tracking_number": "1Z9"})
    key = "lastmile-delivery.attempted-" + T(14)

    message_process_early(message_id=message.id)
    assert unmatched() == [key]
    message_process(message_id=message.id)
    assert unmatched() == [key]  # correlation placed it on no order either

    bind = receive(
        world, "tms", "shipment.planned", {"order": "SO-9", "shipment": "SH-9", "tracking_number": "1Z9"}, T(15)
    )
    message_process(message_id=bind.id)

    assert world.timeline("SO-9") == [key, "tms-shipment.planned-" + T(15)]
    assert unmatched() == []


def test_an_early_event_whose_message_dead_letters_stays_unmatched(known_order, monkeypatch, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    message = attempt(known_order, {"tracking_number": "1Z1"})
    message_process_early(message_id=message.id)
    dead_letter_by_correlation(monkeypatch, message.id, settings.INGEST_MAX_ATTEMPTS)

    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert unmatched() == ["lastmile-delivery.attempted-" + T(14)]  # not lost from sight
    assert [c.order.value for c in partner_cases()] == ["SO-1"]  # the early case stays too


# --- the full attempt ------------------------------------------------------------------------


@pytest.fixture
def full_attempt(settings: Any) -> None:
    settings.INGEST_EARLY_LOCK_TIMEOUT_MS = 100


def test_with_nothing_in_its_way_the_early_lane_processes_the_message_in_full(
    known_order, full_attempt, sent, django_capture_on_commit_callbacks
):
    message = attempt(known_order, {"tracking_number": "1Z1"})

    with django_capture_on_commit_callbacks(execute=True):
        assert message_process_early(message_id=message.id) is True

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PROCESSED, 0)
    [case] = partner_cases()
    assert (case.order.value, case.occurrences) == ("SO-1", 1)
    assert not unmatched_events().exists()  # on SO-1's timeline already
    assert "order.updated" in {m["type"] for m in sent_messages(sent)}
    assert message_process(message_id=message.id) is None  # nothing left for the regular lane


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_when_a_batch_holds_the_order_the_early_lane_opens_the_case_and_hands_over(world, full_attempt):
    world.send("erp", "order.created", {"order": "SO-1"}, T(8))
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-1", "tracking_number": "1Z1"}, T(9))
    message = attempt(world, {"tracking_number": "1Z1"})
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]) as other:
        # Another batch holds the order (as correlation does) for the whole early attempt.
        other.execute("SELECT id FROM correlation_node WHERE kind = 'order' AND value = 'SO-1' FOR NO KEY UPDATE")

        assert message_process_early(message_id=message.id) is True

        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.RECEIVED, 0)  # handed over
        assert [c.order.value for c in partner_cases()] == ["SO-1"]  # the case is there already
    assert message_process(message_id=message.id) == MessageStatus.PROCESSED
    assert [c.occurrences for c in partner_cases()] == [1]
