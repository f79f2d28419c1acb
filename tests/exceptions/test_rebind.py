"""Late binding moves a partner exception case from its tracking-number subject to the order,
merging it into the order's own case when there is one (frozen clock, real database)."""

from typing import Any

from apps.exceptions.choices import CaseStatus
from apps.exceptions.models import ExceptionActivity, ExceptionCase, ExceptionOccurrence
from apps.exceptions.services import exception_acknowledge, exception_assign
from tests.factories import UserFactory

from .conftest import T, attempt, send_many


def cases(**filters: Any) -> list[ExceptionCase]:
    # Partner exceptions only: the same events also make reconciliation findings (tests/finance).
    filters.setdefault("kind", "partner_exception")
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
    listed = client.get("/api/v1/exceptions/", {"order": "SO-1", "kind": "partner_exception"}).json()["results"]
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


def test_a_case_resolved_before_the_binding_moves_to_its_order_as_history(world, client):
    """The attempt failed and the delivery then succeeded, both on a tracking number no order
    knew; the binding comes last. The order's history must show the failed attempt."""
    client.force_login(UserFactory(role="ops_lead"))
    attempt(world, T(10), refs={"tracking_number": "1Z9"})
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z9"}, T(11))
    [before] = cases()
    assert (before.subject, before.status, before.order_id) == ("tracking_number:1Z9", CaseStatus.RESOLVED, None)

    world.send("tms", "shipment.planned", {"order": "SO-9", "shipment": "SH-9", "tracking_number": "1Z9"}, T(12))

    listed = client.get("/api/v1/exceptions/", {"order": "SO-9", "kind": "partner_exception"}).json()["results"]
    assert [(item["id"], item["order"], item["status"], item["occurrences"]) for item in listed] == [
        (before.id, "SO-9", "resolved", 1)
    ]
    [case] = cases()  # nothing reopened, nothing opened
    assert (case.subject, case.status, case.resolution, case.occurrences) == (
        "order:SO-9",
        CaseStatus.RESOLVED,
        "auto: delivery.completed",
        1,
    )
    assert case.fingerprint == "partner_exception:delivery.attempted:CUSTOMER_ABSENT:order:SO-9"
    assert (case.resolved_at, case.cleared_at) == (before.resolved_at, before.cleared_at)
    assert list(ExceptionOccurrence.objects.values_list("fingerprint", flat=True)) == [case.fingerprint]
    activity = client.get(f"/api/v1/exceptions/{case.id}/").json()["activity"]
    assert [entry["action"] for entry in activity] == ["opened", "auto_resolved", "moved"]
    assert activity[-1]["detail"] == {
        "order": "SO-9",
        "subject": "tracking_number:1Z9",
        "fingerprint": "partner_exception:delivery.attempted:CUSTOMER_ABSENT:tracking_number:1Z9",
    }
    assert client.get("/api/v1/orders/SO-9/").json()["open_exceptions"] == 0


def test_a_resolved_case_is_not_merged_into_the_orders_open_case(world):
    attempt(world, T(9), refs={"tracking_number": "1Z1"})
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z1"}, T(10))
    attempt(world, T(11))  # the same condition, open on SO-1 itself
    on_ref, on_order = cases()
    assert (on_ref.status, on_order.status) == (CaseStatus.RESOLVED, CaseStatus.OPEN)

    bind(world)

    on_ref.refresh_from_db()
    on_order.refresh_from_db()
    assert (on_ref.fingerprint, on_ref.order_id, on_ref.status, on_ref.occurrences) == (
        on_order.fingerprint,
        on_order.order_id,
        CaseStatus.RESOLVED,
        1,
    )
    assert on_ref.resolution == "auto: delivery.completed"
    assert (on_order.status, on_order.occurrences) == (CaseStatus.OPEN, 1)
    assert not ExceptionActivity.objects.filter(action="merged").exists()


def test_a_moved_resolved_case_links_the_orders_earlier_resolved_case(world):
    attempt(world, T(8))  # on SO-1, then over
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(9))
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z1"}, T(11))
    earlier, on_ref = cases()
    bind(world)
    on_ref.refresh_from_db()
    assert (on_ref.subject, on_ref.status, on_ref.previous_id) == ("order:SO-1", CaseStatus.RESOLVED, earlier.id)


def test_a_late_attempt_older_than_the_clearing_joins_the_moved_resolved_case(world):
    attempt(world, T(10), refs={"tracking_number": "1Z1"})
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z1"}, T(12))
    bind(world, at=T(13))
    attempt(world, T(11), refs={"tracking_number": "1Z1"})  # arrives last, happened before the delivery
    [case] = cases()
    assert (case.subject, case.status, case.occurrences) == ("order:SO-1", CaseStatus.RESOLVED, 2)


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
