"""Deadlines that move after the expectation exists: an earlier start milestone arriving late,
a new promised_by, an earlier stop — each against every state the expectation can be in."""

from datetime import datetime

from apps.exceptions.choices import CaseStatus
from apps.exceptions.models import ExceptionCase
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation
from apps.sla.services import sla_sweep

from .conftest import T, express_order, pick_policy, picked, released


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(T(hour, minute))


def expectation(order: str = "SO-1") -> Expectation:
    return Expectation.objects.select_related("breach_case").get(order__value=order)


def changed_promise(w, promised_by: str, at_: str = T(11), order: str = "SO-1") -> None:
    w.send("erp", "order.changed", {"order": order}, at_, promised_by=promised_by)


def promise_policy() -> None:
    pick_policy(name="deliver-by-promise", within=None, deadline="promised_by", stop=["delivery.completed"])


# --- an earlier start arriving later -------------------------------------------------------


def test_an_earlier_start_moves_a_pending_deadline_earlier(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    released(world, at=T(9))  # the first release, delivered late by the ERP
    exp = expectation()
    assert (exp.status, exp.started_at, exp.due_at) == (ExpectationStatus.PENDING, at(9), at(13))
    assert sla_sweep(at(12, 59)).opened == []
    assert [key for _, key, _ in sla_sweep(at(13)).opened] == ["SO-1"]


def test_a_later_start_changes_nothing(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    released(world, at=T(11))
    exp = expectation()
    assert (exp.started_at, exp.due_at) == (at(10), at(14))


def test_an_earlier_start_turns_a_pick_in_time_into_a_late_one(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    picked(world, at=T(13))
    assert expectation().status == ExpectationStatus.MET
    released(world, at=T(8))  # due 12: the pick at 13 was late
    exp = expectation()
    assert (exp.status, exp.due_at, exp.met_at) == (ExpectationStatus.MET_LATE, at(12), at(13))
    case = exp.breach_case
    assert case is not None
    assert (case.status, case.opened_at, case.cleared_at) == (CaseStatus.RESOLVED, at(12), at(13))
    assert case.resolution == "auto: pick.completed"


def test_an_earlier_start_keeps_a_pick_in_time_met_when_it_still_is(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    picked(world, at=T(11))
    released(world, at=T(9))
    exp = expectation()
    assert (exp.status, exp.due_at) == (ExpectationStatus.MET, at(13))
    assert not ExceptionCase.objects.exists()


def test_an_earlier_start_moves_the_open_breach_to_the_earlier_deadline(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    [(_, _, case_id)] = sla_sweep(at(14, 30)).opened
    released(world, at=T(9))
    exp = expectation()
    assert (exp.status, exp.due_at, exp.breach_case_id) == (ExpectationStatus.BREACHED, at(13), case_id)
    case = ExceptionCase.objects.get()
    assert (case.status, case.opened_at) == (CaseStatus.OPEN, at(13))
    picked(world, at=T(15))
    case.refresh_from_db()
    assert expectation().status == ExpectationStatus.MET_LATE
    assert (case.status, case.opened_at, case.cleared_at) == (CaseStatus.RESOLVED, at(13), at(15))


def test_an_earlier_start_moves_a_late_pick_s_recorded_breach(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    picked(world, at=T(15))
    released(world, at=T(9))
    exp = expectation()
    assert (exp.status, exp.due_at) == (ExpectationStatus.MET_LATE, at(13))
    assert ExceptionCase.objects.get().opened_at == at(13)


# --- the stop: judged by when it happened, whenever it arrives -------------------------------


def test_a_pick_in_time_that_arrives_after_the_sweep_breached_it_is_met(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    [(_, _, case_id)] = sla_sweep(at(14, 30)).opened
    picked(world, at=T(13, 30))  # the WMS was late to say so, the warehouse was not
    exp = expectation()
    assert (exp.status, exp.met_at) == (ExpectationStatus.MET, at(13, 30))
    case = ExceptionCase.objects.get(id=case_id)
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "auto: pick.completed")


def test_an_earlier_pick_arriving_later_makes_a_late_one_in_time(world):
    pick_policy()
    express_order(world)
    released(world, at=T(10))
    picked(world, at=T(15))
    assert expectation().status == ExpectationStatus.MET_LATE
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-2"}, T(13))
    exp = expectation()
    assert (exp.status, exp.met_at) == (ExpectationStatus.MET, at(13))
    assert ExceptionCase.objects.get().status == CaseStatus.RESOLVED  # the record stays, closed


# --- a new promise ----------------------------------------------------------------------------


def test_a_later_promise_moves_a_pending_deadline(world):
    promise_policy()
    express_order(world, promised_by=T(18))
    released(world)
    assert expectation().due_at == at(18)
    changed_promise(world, T(20))
    assert expectation().due_at == at(20)
    assert sla_sweep(at(19)).opened == []
    assert len(sla_sweep(at(20)).opened) == 1


def test_an_earlier_promise_moves_a_pending_deadline_earlier(world):
    promise_policy()
    express_order(world, promised_by=T(18))
    released(world)
    changed_promise(world, T(16))
    assert expectation().due_at == at(16)
    assert len(sla_sweep(at(16)).opened) == 1


def test_a_promise_sent_before_the_latest_one_does_not_move_it(world):
    promise_policy()
    express_order(world, promised_by=T(18))
    released(world)
    changed_promise(world, T(20), at_=T(11))
    changed_promise(world, T(16), at_=T(9))  # older news: the order's promise is still 20:00
    assert expectation().due_at == at(20)


def test_a_new_promise_does_not_undo_a_breach(world):
    promise_policy()
    express_order(world, promised_by=T(18))
    released(world)
    [(_, _, case_id)] = sla_sweep(at(18, 30)).opened
    changed_promise(world, "2026-11-27T12:00:00+00:00", at_=T(19))
    exp = expectation()
    assert (exp.status, exp.due_at) == (ExpectationStatus.BREACHED, at(18))
    assert ExceptionCase.objects.get(id=case_id).status == CaseStatus.OPEN


def test_a_promise_arriving_after_the_start_starts_the_clock(world):
    promise_policy()
    express_order(world)  # no promise yet
    released(world)
    assert not Expectation.objects.exists()
    changed_promise(world, T(18))
    exp = expectation()
    assert (exp.status, exp.started_at, exp.due_at) == (ExpectationStatus.PENDING, at(10), at(18))
