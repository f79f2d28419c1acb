"""Late binding moves a partner exception case from its tracking-number subject to the order,
merging it into the order's own case when there is one (frozen clock, real database)."""

from typing import Any

from apps.exceptions.choices import CaseStatus
from apps.exceptions.models import ExceptionActivity, ExceptionCase, ExceptionOccurrence
from apps.exceptions.services import exception_acknowledge, exception_assign
from tests.factories import UserFactory

from .conftest import T, attempt, send_many


def cases(**filters: Any) -> list[ExceptionCase]:
    return list(ExceptionCase.objects.filter(**filters).order_by("id"))


def bind(world: Any, tracking: str = "1Z1", orders: tuple[str, ...] = ("SO-1",), at: str = T(12)) -> None:
    """The TMS names the order(s), the shipment and the tracking number together."""
    world.send(
        "tms", "shipment.planned", {"order": list(orders), "shipment": "SH-1", "tracking_number": [tracking]}, at
    )


def test_a_case_on_a_tracking_number_moves_to_its_order_when_bound(world, client):
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    [before] = cases()
    assert (before.subject, before.order_id) == ("tracking_number:1Z1", None)
    bind(world)
    [case] = cases()
    assert case.id == before.id
    assert case.subject == "order:SO-1"
    assert case.order is not None
    assert case.order.value == "SO-1"
    assert case.fingerprint == "partner_exception:delivery.attempted:CUSTOMER_ABSENT:order:SO-1"
    assert (case.status, case.occurrences, case.opened_at.isoformat()) == (CaseStatus.OPEN, 1, T(10))
    assert list(ExceptionOccurrence.objects.values_list("fingerprint", flat=True)) == [case.fingerprint]
    [moved] = ExceptionActivity.objects.filter(case=case, action="moved")
    assert moved.detail == {
        "order": "SO-1",
        "subject": "tracking_number:1Z1",
        "fingerprint": "partner_exception:delivery.attempted:CUSTOMER_ABSENT:tracking_number:1Z1",
    }


def test_the_moved_case_is_listed_on_its_order(world, client):
    client.force_login(UserFactory(role="ops_lead"))
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    bind(world)
    listed = client.get("/api/v1/exceptions/", {"order": "SO-1"}).json()["results"]
    assert [(item["order"], item["kind"]) for item in listed] == [("SO-1", "partner_exception")]
    assert client.get("/api/v1/orders/SO-1/").json()["open_exceptions"] == 1


def test_it_merges_into_the_orders_unresolved_case_with_the_same_fingerprint(world):
    world.send("erp", "order.created", {"order": "SO-1"}, T(8))
    attempt(world, T(9))  # on the order already
    attempt(world, T(10), refs={"tracking_number": "1Z1"})  # the same condition, by tracking number
    on_order, on_ref = cases()
    bind(world)
    on_order.refresh_from_db()
    on_ref.refresh_from_db()
    assert on_order.status == CaseStatus.OPEN
    assert on_order.occurrences == 2
    assert (on_order.opened_at.isoformat(), on_order.last_seen_at.isoformat()) == (T(9), T(10))
    assert on_ref.status == CaseStatus.RESOLVED
    assert on_ref.resolution == f"merged into #{on_order.id}"
    assert on_ref.order_id == on_order.order_id
    assert ExceptionOccurrence.objects.filter(case=on_order).count() == 2
    assert not ExceptionOccurrence.objects.filter(case=on_ref).exists()
    assert ExceptionActivity.objects.get(case=on_ref, action="merged").detail == {"into": on_order.id, "order": "SO-1"}
    assert ExceptionActivity.objects.get(case=on_order, action="merged").detail == {
        "merged": on_ref.id,
        "subject": "tracking_number:1Z1",
        "occurrences": 1,
    }
    assert ExceptionCase.objects.filter(status__in=["open", "acknowledged", "snoozed"]).count() == 1


def test_a_merge_keeps_whoever_was_working_on_the_refs_case(world):
    agent = UserFactory(role="cs_agent")
    attempt(world, T(9))
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    on_order, on_ref = cases()
    exception_assign(case=on_ref, assignee=agent, actor=agent)
    bind(world)
    on_order.refresh_from_db()
    assert on_order.assignee == agent


def test_a_moved_case_keeps_its_status_and_assignee(world):
    lead = UserFactory(role="ops_lead")
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    [case] = cases()
    exception_assign(case=case, assignee=lead, actor=lead)
    exception_acknowledge(case=case, actor=lead)
    bind(world)
    case.refresh_from_db()
    assert (case.subject, case.status, case.assignee) == ("order:SO-1", CaseStatus.ACKNOWLEDGED, lead)


def test_an_attempt_in_the_binding_batch_joins_the_moved_case(world):
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    send_many(
        world,
        "tms",
        [
            {
                "type": "shipment.planned",
                "occurred_at": T(11),
                "refs": {"order": "SO-1", "shipment": "SH-1", "tracking_number": "1Z1"},
            },
            {
                "type": "delivery.attempted",
                "occurred_at": T(12),
                "refs": {"tracking_number": "1Z1"},
                "reason": {"code": "CUSTOMER_ABSENT"},
            },
        ],
    )
    [case] = cases()
    assert (case.subject, case.occurrences, case.last_seen_at.isoformat()) == ("order:SO-1", 2, T(12))


def test_a_clearing_already_on_the_order_resolves_the_moved_case(world):
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(11))
    bind(world)
    [case] = cases()
    assert (case.subject, case.status, case.resolution) == (
        "order:SO-1",
        CaseStatus.RESOLVED,
        "auto: delivery.completed",
    )
    assert case.cleared_at is not None
    assert case.cleared_at.isoformat() == T(11)


def test_a_resolved_case_stays_on_its_ref(world):
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z1"}, T(11))
    bind(world)
    [case] = cases()
    assert (case.subject, case.status, case.order_id) == ("tracking_number:1Z1", CaseStatus.RESOLVED, None)


def test_a_consolidated_shipment_counts_the_event_on_each_order(world):
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    [before] = cases()
    bind(world, orders=("SO-2", "SO-1"))
    first, second = cases()
    assert (first.id, first.subject, first.occurrences) == (before.id, "order:SO-1", 1)
    assert (second.subject, second.occurrences, second.status) == ("order:SO-2", 1, CaseStatus.OPEN)


def test_binding_unrelated_ids_moves_nothing(world):
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    bind(world, tracking="1Z-OTHER")
    [case] = cases()
    assert (case.subject, case.order_id) == ("tracking_number:1Z1", None)
    assert not ExceptionActivity.objects.filter(action="moved").exists()
