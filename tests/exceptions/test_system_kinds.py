"""feed_silent, ingestion and unmatched_event cases: each opened, grouped, resolved automatically
when its condition clears, and reopened as a new case when it recurs (frozen clock throughout)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
import time_machine
from django.core.management import call_command

from apps.exceptions.choices import CaseStatus, Queue, Severity
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from apps.exceptions.services import exception_resolve
from apps.exceptions.services.system import system_sweep
from apps.feeds.models import Feed
from apps.feeds.services import feed_set_paused
from apps.ingestion.formats import UnreadableBody
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline import stages
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, UserFactory

from .conftest import NOW

START = datetime.fromisoformat(NOW)


def at(**delta: float) -> datetime:
    return START + timedelta(**delta)


@contextmanager
def clock(**delta: float) -> Iterator[datetime]:
    moment = at(**delta)
    with time_machine.travel(moment, tick=False):
        yield moment


def cases(kind: str) -> list[ExceptionCase]:
    return list(ExceptionCase.objects.filter(kind=kind).order_by("id"))


def speak(feed: Feed, refs: dict[str, Any] | None = None, **event: Any) -> RawMessage:
    """One message with one event, received and processed now."""
    body = {
        "event_id": event.pop("event_id", f"ev-{RawMessage.objects.count()}"),
        "type": event.pop("type", "pick.completed"),
        "occurred_at": "2026-11-25T10:00:00+00:00",
        "refs": refs or {"order": "SO-1"},
        **event,
    }
    message = message_receive(feed=feed, body=orjson.dumps({"events": [body]}), content_type="application/json")
    message_process(message_id=message.id)
    message.refresh_from_db()
    return message


# --- feed_silent ---------------------------------------------------------------------------


def test_a_feed_silent_longer_than_its_maximum_opens_one_case(feed):
    speak(feed)  # at START; max_silence is 1 h by default
    assert system_sweep(at(minutes=59)).opened == []
    result = system_sweep(at(minutes=61))
    [case] = cases("feed_silent")
    assert result.opened == [("feed_silent", "silent", f"feed:{feed.slug}", case.id)]
    assert (case.code, case.subject, case.status) == ("silent", f"feed:{feed.slug}", CaseStatus.OPEN)
    assert (case.severity, case.queue, case.order_id) == (Severity.HIGH, Queue.OPS, None)
    assert case.opened_at == at(hours=1)  # when the silence passed the maximum
    assert case.occurrences == 1
    [opened] = ExceptionActivity.objects.filter(case=case, action="opened")
    assert opened.detail["last_message_at"] == START.isoformat()


def test_later_sweeps_keep_the_one_case(feed):
    speak(feed)
    for minutes in (61, 62, 90, 300):
        system_sweep(at(minutes=minutes))
    [case] = cases("feed_silent")
    assert case.status == CaseStatus.OPEN
    assert ExceptionActivity.objects.filter(case=case).count() == 1


def test_the_feed_speaking_again_resolves_it_without_waiting_for_the_sweep(feed):
    speak(feed)
    system_sweep(at(hours=2))
    with clock(hours=2, minutes=10):
        message = speak(feed)
    [case] = cases("feed_silent")
    assert case.status == CaseStatus.RESOLVED
    assert case.resolution == "auto: feed spoke again"
    assert case.cleared_at == at(hours=2, minutes=10)
    [resolved] = ExceptionActivity.objects.filter(case=case, action="auto_resolved")
    assert resolved.detail["message"] == str(message.id)


def test_silent_again_reopens_as_a_new_case_pointing_to_the_previous(feed):
    speak(feed)
    system_sweep(at(hours=2))
    with clock(hours=2, minutes=10):
        speak(feed)
    assert system_sweep(at(hours=3)).opened == []
    system_sweep(at(hours=3, minutes=11))
    old, new = cases("feed_silent")
    assert old.status == CaseStatus.RESOLVED
    assert (new.status, new.previous_id, new.fingerprint) == (CaseStatus.OPEN, old.id, old.fingerprint)
    assert new.opened_at == at(hours=3, minutes=10)
    assert ExceptionActivity.objects.filter(case=new, action="reopened").count() == 1


def test_a_message_refused_at_the_door_still_counts_as_speaking(feed):
    speak(feed)
    system_sweep(at(hours=2))
    with clock(hours=2, minutes=5), pytest.raises(UnreadableBody):
        message_receive(feed=feed, body=b"not json", content_type="application/json")
    result = system_sweep(at(hours=2, minutes=6))
    [case] = cases("feed_silent")
    assert result.resolved == [("feed_silent", "silent", f"feed:{feed.slug}", case.id)]
    assert case.resolution == "auto: feed spoke again"


def test_replaying_an_old_message_is_not_the_feed_speaking(feed):
    message = speak(feed)
    system_sweep(at(hours=2))
    with clock(hours=2, minutes=5):
        assert message_process(message_id=message.id, replay=True) == "processed"
    assert [c.status for c in cases("feed_silent")] == [CaseStatus.OPEN]


def test_a_paused_feed_is_never_silent(feed):
    feed_set_paused(feed=feed, paused=True)
    assert system_sweep(at(days=30)).opened == []
    assert cases("feed_silent") == []


def test_pausing_a_silent_feed_resolves_its_case(feed):
    system_sweep(at(hours=2))
    feed_set_paused(feed=feed, paused=True)
    system_sweep(at(hours=2, minutes=1))
    [case] = cases("feed_silent")
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "auto: feed paused")


def test_a_resumed_feed_counts_its_silence_from_the_resume(feed):
    feed_set_paused(feed=feed, paused=True)
    with clock(days=2):
        feed_set_paused(feed=feed, paused=False)
    assert system_sweep(at(days=2, minutes=59)).opened == []
    assert len(system_sweep(at(days=2, minutes=61)).opened) == 1


def test_a_feed_that_never_sent_is_silent_from_its_creation(feed):
    Feed.objects.filter(pk=feed.pk).update(max_silence=timedelta(minutes=15))
    assert system_sweep(at(minutes=14)).opened == []
    system_sweep(at(minutes=16))
    [case] = cases("feed_silent")
    assert case.opened_at == at(minutes=15)


def test_each_feed_has_its_own_maximum(db):
    chatty, quiet = FeedFactory(), FeedFactory()
    Feed.objects.filter(pk=quiet.pk).update(max_silence=timedelta(hours=6))
    speak(chatty)
    speak(quiet)
    system_sweep(at(hours=2))
    assert [c.subject for c in cases("feed_silent")] == [f"feed:{chatty.slug}"]


def test_the_command_runs_the_sweep_as_of_a_time(feed, capsys):
    call_command("sweep_exceptions", "--now", at(hours=2).isoformat())
    out = capsys.readouterr().out
    assert f"opened feed_silent silent feed:{feed.slug}" in out
    assert "1 opened, 0 resolved" in out


# --- ingestion (dead letters) ---------------------------------------------------------------


class Breakage:
    """What processing raises for now (None: the fix is deployed)."""

    def __init__(self) -> None:
        self.error: Exception | None = RuntimeError("database went away")


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Breakage:
    """Processing fails for a reason of ours, and the first failure is the last attempt."""
    settings.INGEST_MAX_ATTEMPTS = 1
    breakage = Breakage()
    real_store = stages.events_store_batch

    def store(*args: Any, **kwargs: Any) -> Any:
        if breakage.error is not None:
            raise breakage.error
        return real_store(*args, **kwargs)

    monkeypatch.setattr(stages, "events_store_batch", store)
    return breakage


def dead_letter(feed: Feed, n: int) -> RawMessage:
    # The clock is frozen, so received_at ties: the new message is the one that was not there.
    before = set(RawMessage.objects.values_list("id", flat=True))
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the breakage raises
        speak(feed, event_id=f"dl-{n}")
    message = RawMessage.objects.exclude(id__in=before).get()
    assert message.status == "failed"
    return message


def test_a_dead_letter_opens_an_ingestion_case_per_feed_and_error_class(feed, broken):
    message = dead_letter(feed, 1)
    [case] = cases("ingestion")
    assert (case.code, case.subject, case.status) == ("RuntimeError", f"feed:{feed.slug}", CaseStatus.OPEN)
    assert (case.severity, case.queue, case.occurrences) == (Severity.HIGH, Queue.OPS, 1)
    [opened] = ExceptionActivity.objects.filter(case=case, action="opened")
    assert opened.detail["message"] == str(message.id)
    assert opened.detail["error"] == "RuntimeError: database went away"


def test_dead_letters_of_one_class_group_on_one_case(feed, broken):
    dead_letter(feed, 1)
    with clock(minutes=5):
        second = dead_letter(feed, 2)
    [case] = cases("ingestion")
    assert case.occurrences == 2
    assert (case.opened_at, case.last_seen_at) == (START, at(minutes=5))
    [seen] = ExceptionActivity.objects.filter(case=case, action="seen_again")
    assert seen.detail["message"] == str(second.id)


def test_a_failed_replay_of_the_same_message_is_not_counted_twice(feed, broken):
    message = dead_letter(feed, 1)
    with pytest.raises(RuntimeError):
        message_process(message_id=message.id, replay=True)
    [case] = cases("ingestion")
    assert case.occurrences == 1


def test_another_feed_or_error_class_is_another_case(feed, broken):
    other = FeedFactory()
    dead_letter(feed, 1)
    dead_letter(other, 2)
    broken.error = ValueError("bad mapping")
    dead_letter(feed, 3)
    assert sorted((c.code, c.subject) for c in cases("ingestion")) == [
        ("RuntimeError", f"feed:{feed.slug}"),
        ("RuntimeError", f"feed:{other.slug}"),
        ("ValueError", f"feed:{feed.slug}"),
    ]


def test_a_rejected_message_is_not_a_dead_letter(feed):
    message = speak(feed, type="no.such.type")
    assert message.status == "rejected"
    assert cases("ingestion") == []


def test_replaying_every_dead_letter_resolves_the_case(feed, broken):
    first = dead_letter(feed, 1)
    second = dead_letter(feed, 2)
    broken.error = None
    with clock(hours=1):
        assert message_process(message_id=first.id, replay=True) == "processed"
        assert cases("ingestion")[0].status == CaseStatus.OPEN  # one still failed
        assert message_process(message_id=second.id, replay=True) == "processed"
    [case] = cases("ingestion")
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "auto: dead letters replayed")
    assert case.cleared_at == at(hours=1)


def test_a_new_dead_letter_after_resolution_reopens(feed, broken):
    first = dead_letter(feed, 1)
    broken.error = None
    message_process(message_id=first.id, replay=True)
    broken.error = RuntimeError("database went away again")
    with clock(hours=1):
        dead_letter(feed, 2)
    old, new = cases("ingestion")
    assert old.status == CaseStatus.RESOLVED
    assert (new.status, new.previous_id, new.occurrences) == (CaseStatus.OPEN, old.id, 1)
    assert ExceptionActivity.objects.filter(case=new, action="reopened").count() == 1


def test_the_sweep_resolves_a_case_whose_dead_letters_are_gone(feed, broken):
    message = dead_letter(feed, 1)
    RawMessage.objects.filter(id=message.id).update(status="processed")  # e.g. fixed by hand
    result = system_sweep(at(minutes=1))
    [case] = cases("ingestion")
    assert result.resolved == [("ingestion", "RuntimeError", f"feed:{feed.slug}", case.id)]
    assert case.resolution == "auto: no dead letter left"


# --- unmatched_event ------------------------------------------------------------------------


def scan(world: Any, tracking: str, **delta: float) -> None:
    with clock(**delta):
        world.send("lastmile", "delivery.out_for_delivery", {"tracking_number": tracking}, "2026-11-26T08:00:00+00:00")


def bind(world: Any, tracking: str, order: str = "SO-1") -> None:
    world.send("tms", "shipment.planned", {"order": order, "shipment": f"SH-{tracking}", "tracking_number": tracking})


def test_an_event_unmatched_past_the_grace_period_opens_a_case(world):
    scan(world, "1Z1")
    assert system_sweep(at(minutes=29)).opened == []
    system_sweep(at(minutes=31))
    [case] = cases("unmatched_event")
    slug = world.feeds["lastmile"].slug
    assert (case.code, case.subject, case.status) == ("tracking_number", f"feed:{slug}", CaseStatus.OPEN)
    assert (case.severity, case.queue, case.occurrences) == (Severity.MEDIUM, Queue.OPS, 1)
    assert case.opened_at == START  # received_at of the event


def test_an_event_matched_within_the_grace_period_opens_nothing(world):
    scan(world, "1Z1")
    with clock(minutes=10):
        bind(world, "1Z1")
    system_sweep(at(hours=1))
    assert cases("unmatched_event") == []


def test_unmatched_events_of_one_feed_and_ref_kind_group_on_one_case(world):
    scan(world, "1Z1")
    scan(world, "1Z2", minutes=5)
    system_sweep(at(minutes=31))
    system_sweep(at(minutes=36))
    system_sweep(at(minutes=40))  # counted once, however many sweeps
    [case] = cases("unmatched_event")
    assert case.occurrences == 2
    assert (case.opened_at, case.last_seen_at) == (START, at(minutes=5))


def test_another_ref_kind_is_another_case(world):
    scan(world, "1Z1")
    with clock():
        world.send("lastmile", "delivery.out_for_delivery", {"lpn": "LPN-9"}, "2026-11-26T08:00:00+00:00")
    system_sweep(at(hours=1))
    assert sorted(c.code for c in cases("unmatched_event")) == ["lpn", "tracking_number"]


def test_the_case_resolves_once_every_event_is_matched(world):
    scan(world, "1Z1")
    scan(world, "1Z2")
    system_sweep(at(hours=1))
    with clock(hours=1, minutes=5):
        bind(world, "1Z1")
    assert system_sweep(at(hours=1, minutes=6)).resolved == []  # 1Z2 still on no order
    with clock(hours=1, minutes=10):
        bind(world, "1Z2", order="SO-2")
    result = system_sweep(at(hours=1, minutes=11))
    [case] = cases("unmatched_event")
    assert result.resolved == [("unmatched_event", "tracking_number", case.subject, case.id)]
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "auto: events matched")


def test_new_unmatched_events_after_resolution_reopen(world):
    scan(world, "1Z1")
    system_sweep(at(hours=1))
    with clock(hours=1, minutes=5):
        bind(world, "1Z1")
    system_sweep(at(hours=1, minutes=6))
    scan(world, "1Z3", hours=2)
    system_sweep(at(hours=3))
    old, new = cases("unmatched_event")
    assert old.status == CaseStatus.RESOLVED
    assert (new.status, new.previous_id, new.occurrences) == (CaseStatus.OPEN, old.id, 1)


def test_the_sweep_only_looks_back_one_day_past_the_grace_period(world):
    scan(world, "1Z-OLD")
    system_sweep(at(days=2))
    assert cases("unmatched_event") == []


def test_resolved_by_hand_during_a_silence_it_stays_resolved_until_the_feed_speaks(feed):
    lead = UserFactory(role="ops_lead")
    speak(feed)
    system_sweep(at(hours=2))
    [case] = cases("feed_silent")
    with clock(hours=2, minutes=5):
        exception_resolve(case=case, resolution="partner closed for inventory", actor=lead)
    system_sweep(at(hours=3))
    assert len(cases("feed_silent")) == 1
    with clock(hours=4):
        speak(feed)
    system_sweep(at(hours=5, minutes=1))
    old, new = cases("feed_silent")
    assert (new.status, new.previous_id) == (CaseStatus.OPEN, old.id)
