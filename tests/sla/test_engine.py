"""SLA expectations from order timelines, the breach sweep and automatic resolution (issue 4)."""

from datetime import datetime

import pytest

from apps.exceptions.choices import CaseStatus, ExceptionKind
from apps.exceptions.models import ExceptionCase
from apps.sla.choices import ExpectationStatus
from apps.sla.models import Expectation
from apps.sla.services import sla_sweep

from .conftest import T, express_order, pick_policy, picked, released


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(T(hour, minute))


def expectation(order: str = "SO-1") -> Expectation:
    return Expectation.objects.select_related("breach_case").get(order__value=order)


def test_it_marks_a_pick_in_time_met_without_a_case(world):
    pick_policy()
    express_order(world)
    released(world)
    exp = expectation()
    assert (exp.status, exp.started_at, exp.due_at) == (ExpectationStatus.PENDING, at(10), at(14))
    picked(world, at=T(13))
    assert sla_sweep(at(15)).opened == []
    exp = expectation()
    assert (exp.status, exp.met_at) == (ExpectationStatus.MET, at(13))
    assert not ExceptionCase.objects.exists()


def test_it_opens_a_breach_after_the_deadline_and_resolves_it_when_the_pick_arrives(world):
    pick_policy()
    express_order(world)
    released(world)
    assert sla_sweep(at(13, 59)).opened == []
    result = sla_sweep(at(14))
    [case] = ExceptionCase.objects.all()
    assert result.opened == [("pick-within-4h", "SO-1", case.id)]
    assert (case.kind, case.code, case.status) == (ExceptionKind.SLA_BREACH, "pick-within-4h", CaseStatus.OPEN)
    assert (case.severity, case.queue, case.order.value) == ("high", "ops", "SO-1")
    assert case.fingerprint == "sla_breach:pick-within-4h:SO-1"
    assert expectation().status == ExpectationStatus.BREACHED
    assert sla_sweep(at(16)).opened == []  # one case per (policy, order)

    picked(world, at=T(15))
    case.refresh_from_db()
    exp = expectation()
    assert (exp.status, exp.met_at, exp.breach_case_id) == (ExpectationStatus.MET_LATE, at(15), case.id)
    assert case.status == CaseStatus.RESOLVED
    assert case.cleared_at == at(15)
    assert case.resolution == "auto: pick.completed"
    assert ExceptionCase.objects.count() == 1


def test_it_records_a_resolved_breach_when_the_pick_is_late_before_any_sweep(world):
    pick_policy()
    express_order(world)
    released(world)
    picked(world, at=T(16))
    exp = expectation()
    assert exp.status == ExpectationStatus.MET_LATE
    assert exp.breach_case is not None
    assert (exp.breach_case.kind, exp.breach_case.status) == (ExceptionKind.SLA_BREACH, CaseStatus.RESOLVED)
    assert exp.breach_case.opened_at == at(14)
    assert (exp.breach_case.cleared_at, exp.breach_case.resolution) == (at(16), "auto: pick.completed")
    assert exp.breach_case.cleared_by_event_id is not None
    assert list(exp.breach_case.activity.values_list("action", "detail__late")) == [("auto_resolved", True)]
    assert sla_sweep(at(20)).opened == []


@pytest.mark.parametrize(("pick_hour", "status"), [(12, ExpectationStatus.MET), (15, ExpectationStatus.MET_LATE)])
def test_it_handles_the_stop_arriving_before_the_start(world, pick_hour, status):
    pick_policy()
    express_order(world)
    picked(world, at=T(pick_hour))
    assert not Expectation.objects.exists()
    released(world)
    assert expectation().status == status
    assert ExceptionCase.objects.filter(status=CaseStatus.RESOLVED).count() == (status == ExpectationStatus.MET_LATE)
    assert not ExceptionCase.objects.filter(status=CaseStatus.OPEN).exists()


def test_it_counts_a_stop_that_joins_the_order_through_late_binding(world):
    pick_policy(start="order.released", stop=["delivery.completed"])
    express_order(world)
    released(world)
    world.send("lastmile", "delivery.completed", {"tracking_number": "TRK-1"}, T(12))
    assert expectation().status == ExpectationStatus.PENDING
    world.send("tms", "shipment.confirmed", {"order": "SO-1", "shipment": "SH-1", "tracking_number": "TRK-1"}, T(11))
    assert expectation().status == ExpectationStatus.MET


def test_a_policy_created_after_the_events_applies_to_open_orders(world):
    express_order(world, "SO-1")
    released(world, "SO-1")
    express_order(world, "SO-2")
    released(world, "SO-2")
    picked(world, "SO-2", at=T(11))
    express_order(world, "SO-3")
    released(world, "SO-3")
    world.send("erp", "order.cancelled", {"order": "SO-3"}, T(10, 30))
    pick_policy()
    assert dict(Expectation.objects.values_list("order__value", "status")) == {
        "SO-1": ExpectationStatus.PENDING,
        "SO-2": ExpectationStatus.MET,
    }
    assert [key for _, key, _ in sla_sweep(at(14)).opened] == ["SO-1"]


def test_it_uses_the_promised_by_deadline(world):
    pick_policy(name="deliver-by-promise", within=None, deadline="promised_by", stop=["delivery.completed"])
    express_order(world, promised_by=T(18))
    released(world)
    exp = expectation()
    assert exp.due_at == at(18)
    assert sla_sweep(at(17)).opened == []
    assert len(sla_sweep(at(18)).opened) == 1


def test_it_applies_only_to_the_orders_its_filter_selects(world):
    pick_policy()
    pick_policy(name="acme-pick", applies_to={"customer": "Acme Retail"})
    express_order(world, "SO-1")
    released(world, "SO-1")
    express_order(world, "SO-2", service_level="standard")
    released(world, "SO-2")
    world.send("erp", "order.created", {"order": "SO-3"}, T(8), customer="Other", service_level="standard")
    released(world, "SO-3")
    rows = set(Expectation.objects.values_list("policy__name", "order__value"))
    assert rows == {("pick-within-4h", "SO-1"), ("acme-pick", "SO-1"), ("acme-pick", "SO-2")}


def test_it_filters_on_the_partner_of_the_feeds(world):
    partner = world.feeds["erp"].partner.name
    pick_policy(applies_to={"partner": partner})
    pick_policy(name="other-partner", applies_to={"partner": "Nobody"})
    express_order(world)
    released(world)
    assert list(Expectation.objects.values_list("policy__name", flat=True)) == ["pick-within-4h"]


def test_an_inactive_policy_starts_no_clock(world):
    pick_policy(active=False)
    express_order(world)
    released(world)
    assert not Expectation.objects.exists()


def test_a_stop_evaluated_from_a_read_the_sweep_overtook_resolves_the_sweep_s_case(world):
    """The evaluation read the row pending; the sweep breached it before the evaluation's write.
    The compare-and-set fails, the evaluation reads again and closes the breach instead."""
    from apps.events.models import CanonicalEvent
    from apps.sla.deadlines import Stop, Stored
    from apps.sla.models import SlaPolicy
    from apps.sla.services.transitions import Facts, expectation_reconcile

    pick_policy()
    express_order(world)
    released(world)
    exp = expectation()
    stale = Stored(exp.status, exp.started_at, exp.due_at, exp.met_at, None)
    [(_, _, case_id)] = sla_sweep(at(14, 30)).opened
    # The pick itself never reaches the pipeline here: any stored event stands in for it.
    event_id = CanonicalEvent.objects.values_list("id", flat=True).first()
    assert event_id is not None
    stop = Stop(event_id=event_id, occurred_at=at(13), type="pick.completed")
    target = expectation_reconcile(
        SlaPolicy.objects.get(), exp.id, exp.order_id, "SO-1", Facts(None, stop, None), stale
    )
    assert target is not None
    assert target.status == ExpectationStatus.MET
    exp = expectation()
    assert (exp.status, exp.breach_case_id) == (ExpectationStatus.MET, case_id)
    assert ExceptionCase.objects.get().status == CaseStatus.RESOLVED
