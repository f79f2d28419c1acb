"""Partner exception events open, count, clear and reopen exception cases (issue 4)."""

from typing import Any

from apps.exceptions.choices import CaseStatus, Queue, Severity
from apps.exceptions.models import ExceptionActivity, ExceptionCase, ExceptionOccurrence
from apps.ingestion.models import RawMessage
from apps.pipeline.runner import message_process

from .conftest import T, attempt, send_many


def cases(**filters: Any) -> list[ExceptionCase]:
    # Partner exceptions only: the same events also make reconciliation findings (tests/finance).
    filters.setdefault("kind", "partner_exception")
    return list(ExceptionCase.objects.filter(**filters).order_by("id"))


def test_it_opens_one_partner_exception_for_an_attempted_delivery(world):
    world.send("erp", "order.created", {"order": "SO-1"}, T(8))
    attempt(world, T(10))
    [case] = cases()
    assert (case.kind, case.code, case.status) == ("partner_exception", "CUSTOMER_ABSENT", CaseStatus.OPEN)
    assert case.order is not None
    assert case.order.value == "SO-1"
    assert case.queue == Queue.CUSTOMER_SERVICE
    assert case.severity == Severity.MEDIUM
    assert case.occurrences == 1
    assert case.opened_at.isoformat() == case.last_seen_at.isoformat() == T(10)
    assert ExceptionActivity.objects.filter(case=case, action="opened").count() == 1


def test_it_counts_a_second_attempt_on_the_same_case(world):
    attempt(world, T(10))
    attempt(world, T(11))
    [case] = cases()
    assert case.occurrences == 2
    assert case.last_seen_at.isoformat() == T(11)
    assert case.opened_at.isoformat() == T(10)


def test_it_does_not_double_count_a_reprocessed_event(world):
    attempt(world, T(10))
    message = RawMessage.objects.latest("received_at")
    assert message_process(message_id=message.id, replay=True) == "processed"
    [case] = cases()
    assert case.occurrences == 1
    assert ExceptionOccurrence.objects.count() == 1


def test_a_completed_delivery_resolves_the_attempt(world):
    attempt(world, T(10))
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(12))
    [case] = cases()
    assert case.status == CaseStatus.RESOLVED
    assert case.resolution == "auto: delivery.completed"
    assert case.cleared_at is not None
    assert case.cleared_at.isoformat() == T(12)
    assert ExceptionActivity.objects.filter(case=case, action="auto_resolved").count() == 1


def test_a_new_attempt_after_resolution_reopens_as_a_new_case(world):
    attempt(world, T(10))
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(12))
    attempt(world, T(14))
    old, new = cases()
    assert old.status == CaseStatus.RESOLVED
    assert old.occurrences == 1
    assert new.status == CaseStatus.OPEN
    assert new.occurrences == 1
    assert new.previous_id == old.id
    assert new.fingerprint == old.fingerprint
    assert ExceptionActivity.objects.filter(case=new, action="reopened").count() == 1


def test_a_clearing_that_occurred_before_the_attempt_does_not_resolve_it(world):
    attempt(world, T(14))
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(12))  # arrives late, happened earlier
    [case] = cases()
    assert case.status == CaseStatus.OPEN


def test_a_late_attempt_older_than_the_completion_does_not_reopen(world):
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(12))
    attempt(world, T(10))  # arrives after the completion, happened before it
    [case] = cases()
    assert case.status == CaseStatus.RESOLVED
    assert case.resolution == "auto: delivery.completed"
    assert case.occurrences == 1


def test_a_late_attempt_joins_the_resolved_case_it_belongs_to(world):
    attempt(world, T(10))
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(12))
    attempt(world, T(14))
    attempt(world, T(11))  # between the first attempt and the completion
    old, new = cases()
    assert (old.status, old.occurrences, old.last_seen_at.isoformat()) == (CaseStatus.RESOLVED, 2, T(11))
    assert (new.status, new.occurrences) == (CaseStatus.OPEN, 1)


def test_one_message_is_applied_in_occurred_order(world):
    world.send("erp", "order.created", {"order": "SO-1"}, T(8))
    send_many(
        world,
        "lastmile",
        [
            {"type": "delivery.attempted", "occurred_at": T(14), "refs": {"order": "SO-1"}, "reason": {"code": "X"}},
            {"type": "delivery.completed", "occurred_at": T(12), "refs": {"order": "SO-1"}},
            {"type": "delivery.attempted", "occurred_at": T(10), "refs": {"order": "SO-1"}, "reason": {"code": "X"}},
        ],
    )
    old, new = cases()
    assert (old.status, old.last_seen_at.isoformat()) == (CaseStatus.RESOLVED, T(10))
    assert (new.status, new.last_seen_at.isoformat()) == (CaseStatus.OPEN, T(14))


def test_exception_cleared_resolves_the_raised_exception_with_the_same_code(world):
    world.send("wms", "exception.raised", {"order": "SO-1"}, T(10), reason={"code": "DAMAGED"})
    world.send("wms", "exception.raised", {"order": "SO-1"}, T(10), reason={"code": "LABEL_MISSING"})
    world.send("wms", "exception.cleared", {"order": "SO-1"}, T(11), reason={"code": "DAMAGED"})
    by_code = {c.code: c for c in cases()}
    assert by_code["DAMAGED"].status == CaseStatus.RESOLVED
    assert by_code["DAMAGED"].resolution == "auto: exception.cleared"
    assert by_code["LABEL_MISSING"].status == CaseStatus.OPEN
    assert by_code["DAMAGED"].queue == Queue.OPS


def test_an_out_of_order_exception_cleared_does_not_resolve_a_newer_raise(world):
    world.send("wms", "exception.raised", {"order": "SO-1"}, T(12), reason={"code": "DAMAGED"})
    world.send("wms", "exception.cleared", {"order": "SO-1"}, T(11), reason={"code": "DAMAGED"})
    [case] = cases()
    assert case.status == CaseStatus.OPEN


def test_a_completion_does_not_clear_other_exception_types(world):
    world.send("lastmile", "delivery.failed", {"order": "SO-1"}, T(10), reason={"code": "REFUSED"})
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(12))
    [case] = cases()
    assert (case.status, case.severity, case.queue) == (CaseStatus.OPEN, Severity.HIGH, Queue.OPS)


def test_an_event_by_tracking_number_lands_on_its_order(world):
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-1", "tracking_number": "1Z1"}, T(9))
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    [case] = cases()
    assert case.subject == "order:SO-1"


def test_an_event_without_an_order_is_grouped_by_its_ref(world):
    attempt(world, T(10), refs={"tracking_number": "1Z-LOOSE"})
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z-LOOSE"}, T(11))
    [case] = cases()
    assert case.order is None
    assert case.subject == "tracking_number:1Z-LOOSE"
    assert case.status == CaseStatus.RESOLVED


def test_a_consolidated_shipment_opens_a_case_per_order(world):
    world.send("tms", "shipment.planned", {"order": ["SO-1", "SO-2"], "shipment": "SH-1"}, T(9))
    world.send("tms", "shipment.tender_rejected", {"shipment": "SH-1"}, T(10), reason={"code": "NO_CAPACITY"})
    assert sorted(c.subject for c in cases()) == ["order:SO-1", "order:SO-2"]
    assert {c.severity for c in cases()} == {Severity.HIGH}


def test_an_exception_without_a_reason_code_uses_its_type(world):
    world.send("wms", "inventory.short", {"order": "SO-1"}, T(10))
    [case] = cases()
    assert case.code == "inventory.short"
