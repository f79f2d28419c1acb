"""Invoice holds as a finance user sees them: placed when an invoice is raised before delivery,
released by the POD that clears them (recorded), kept on a failed delivery, ended by a
cancelled invoice, released by hand with a reason — through the real pipeline."""

import pytest

from apps.events.models import CanonicalEvent
from apps.exceptions.models import ExceptionCase
from apps.finance.choices import HoldAction, HoldOutcome, HoldReason, HoldStatus
from apps.finance.models import HoldActivity, InvoiceHold
from apps.finance.services.holds import HoldConflict, hold_place, hold_release
from apps.finance.services.reconciliation import facts_read
from tests.correlation.conftest import World
from tests.factories import UserFactory

from .conftest import T, delivered, failed, held, invoiced, ordered, shipped, the_hold

pytestmark = pytest.mark.django_db


def test_an_invoice_raised_before_delivery_is_held_awaiting_pod_with_what_would_release_it(world: World) -> None:
    ordered(world)
    shipped(world)
    invoiced(world)
    hold = the_hold()
    assert hold.status == HoldStatus.HELD
    assert hold.reason == HoldReason.AWAITING_POD
    assert hold.release_hint == "POD of SH-1 missing; 0 of 1 shipments delivered"
    assert (hold.amount, hold.currency, hold.customer, hold.order_key) == (125, "EUR", "Acme Retail", "SO-1")
    assert hold.held_since.isoformat() == "2026-11-25T13:00:00+00:00"  # the invoice's own time


def test_a_late_pod_releases_the_hold_and_records_the_event_that_did(world: World) -> None:
    ordered(world)
    shipped(world)
    invoiced(world)
    pod_event = delivered(world, at=T(18), A_1=9)
    hold = the_hold()
    assert hold.status == HoldStatus.RELEASED
    assert hold.outcome == HoldOutcome.CLEARED
    assert hold.released_by_event_id == CanonicalEvent.objects.get(event_key=pod_event).id
    assert list(HoldActivity.objects.filter(hold=hold).values_list("action", flat=True)) == ["placed", "released"]


def test_an_invoice_raised_after_every_pod_is_not_held(world: World) -> None:
    ordered(world)
    shipped(world)
    delivered(world, A_1=9)
    invoiced(world, at=T(20))
    assert not InvoiceHold.objects.exists()


def test_a_split_order_stays_held_until_the_last_shipment_is_delivered(world: World) -> None:
    ordered(world, A_1=9, B_2=3)
    shipped(world, shipment="SH-1", tracking="1Z1")
    shipped(world, shipment="SH-2", tracking="1Z2")
    invoiced(world)
    delivered(world, tracking="1Z1", A_1=9)
    hold = the_hold()
    assert hold.status == HoldStatus.HELD
    assert hold.release_hint == "POD of SH-2 missing; 1 of 2 shipments delivered"
    delivered(world, tracking="1Z2", at=T(17), B_2=3)
    assert the_hold().status == HoldStatus.RELEASED


def test_a_failed_delivery_keeps_the_hold_with_its_reason_until_a_pod_arrives(world: World) -> None:
    ordered(world)
    shipped(world)
    invoiced(world)
    failed(world)
    hold = the_hold()
    assert (hold.status, hold.reason) == (HoldStatus.HELD, HoldReason.DELIVERY_FAILED)
    assert "ADDRESS_UNKNOWN" in hold.release_hint
    assert HoldActivity.objects.filter(hold=hold, action=HoldAction.REASON_CHANGED).exists()
    delivered(world, at=T(8, day=26), A_1=9)  # the retry succeeds the next day
    assert the_hold().status == HoldStatus.RELEASED


def test_a_short_delivery_holds_for_the_quantity_difference(world: World) -> None:
    ordered(world, A_1=9)
    shipped(world)
    invoiced(world)
    delivered(world, A_1=8)
    hold = the_hold()
    assert (hold.status, hold.reason) == (HoldStatus.HELD, HoldReason.QUANTITY_MISMATCH)
    assert hold.release_hint.startswith("A-1: ordered 9, delivered 8")


def test_a_cancelled_invoice_ends_its_hold(world: World) -> None:
    ordered(world)
    shipped(world)
    invoiced(world)
    world.send("erp", "invoice.cancelled", {"order": "SO-1", "invoice": "INV-1"}, T(14))
    hold = the_hold()
    assert (hold.status, hold.outcome) == (HoldStatus.RELEASED, HoldOutcome.CANCELLED)
    delivered(world)
    assert InvoiceHold.objects.count() == 1  # a cancelled invoice is never held again


def test_events_in_any_arrival_order_give_the_same_holds(world: World) -> None:
    # POD first (by tracking number, before the TMS binds it), then the invoice, then the binding.
    ordered(world)
    delivered(world, A_1=9)
    invoiced(world)
    assert held()  # no shipment known yet: nothing proves delivery of the order's shipments
    shipped(world)  # the binding places the early POD on the order's shipment
    assert not held()
    assert the_hold().outcome == HoldOutcome.CLEARED


def test_an_invoice_posted_while_held_is_a_finding_in_the_finance_queue(world: World) -> None:
    ordered(world)
    shipped(world)
    invoiced(world)
    world.send("erp", "invoice.posted", {"order": "SO-1", "invoice": "INV-1"}, T(14))
    hold = the_hold()
    assert hold.posted_while_held_at is not None
    case = ExceptionCase.objects.get(kind="reconciliation", code="posted_while_held")
    assert (case.queue, case.severity, case.status) == ("finance", "critical", "open")


def test_finance_releases_by_hand_with_a_reason_audited_and_the_next_event_does_not_hold_it_again(
    world: World,
) -> None:
    ordered(world)
    shipped(world)
    invoiced(world)
    finance = UserFactory(role="finance")
    hold = hold_release(hold=the_hold(), actor=finance, reason="customer paid upfront")
    assert (hold.status, hold.outcome, hold.released_by, hold.release_note) == (
        "released",
        "manual",
        finance,
        "customer paid upfront",
    )
    from apps.accounts.models import AuditLog

    assert AuditLog.objects.filter(action="invoice_hold.released", target="invoice:INV-1", actor=finance).exists()
    failed(world)
    assert not held()
    with pytest.raises(HoldConflict):
        hold_release(hold=hold, actor=finance, reason="again")
    with pytest.raises(ValueError, match="reason"):
        hold_release(hold=hold, actor=finance, reason="  ")


def test_a_disputed_hold_placed_by_hand_stays_until_released_by_hand(world: World) -> None:
    ordered(world)
    shipped(world)
    delivered(world, A_1=9)
    invoiced(world, at=T(20))
    admin = UserFactory(role="admin")
    hold = hold_place(
        facts=facts_read([world.order("SO-1").order_id])[0], invoice_number="INV-1", actor=admin, reason="price dispute"
    )
    assert (hold.status, hold.reason, hold.manual) == ("held", "disputed", True)
    world.send("lastmile", "delivery.completed", {"tracking_number": "1Z1"}, T(21), event_id="again")
    assert held()
    with pytest.raises(HoldConflict, match="already held"):
        hold_place(facts=facts_read([world.order("SO-1").order_id])[0], invoice_number="INV-1", actor=admin, reason="x")
    with pytest.raises(ValueError, match="no invoice"):
        hold_place(facts=facts_read([world.order("SO-1").order_id])[0], invoice_number="INV-9", actor=admin, reason="x")


def test_a_hold_that_cleared_is_placed_again_when_the_facts_get_worse(world: World) -> None:
    ordered(world)
    shipped(world, shipment="SH-1", tracking="1Z1")
    invoiced(world)
    delivered(world, A_1=9)
    assert the_hold().outcome == HoldOutcome.CLEARED
    shipped(world, shipment="SH-2", tracking="1Z2", at=T(17))  # a second shipment turns up
    hold = the_hold()
    assert (hold.status, hold.reason) == (HoldStatus.HELD, HoldReason.AWAITING_POD)
    assert InvoiceHold.objects.count() == 2


def test_posted_after_a_pod_that_arrives_late_is_not_posted_while_held(world: World) -> None:
    """By event time: the POD occurred at 16:00, the posting at 17:00; the POD reaches the tower
    after the posting. The invoice was never posted while undelivered."""
    ordered(world)
    shipped(world)
    invoiced(world)
    world.send("erp", "invoice.posted", {"order": "SO-1", "invoice": "INV-1"}, T(17))
    assert the_hold().posted_while_held_at is not None  # as far as anyone knew then
    delivered(world, at=T(16), A_1=9)
    hold = the_hold()
    assert hold.status == HoldStatus.RELEASED
    assert hold.posted_while_held_at is None
    assert not ExceptionCase.objects.filter(code="posted_while_held", status="open").exists()


def test_one_pod_for_two_shipments_delivers_both_and_counts_its_lines_once(world: World) -> None:
    ordered(world, A_1=4)
    shipped(world, shipment="SH-1", tracking="1Z1")
    shipped(world, shipment="SH-2", tracking="1Z2")
    invoiced(world)
    world.send(
        "lastmile",
        "delivery.completed",
        {"delivery_run": "R-1", "shipment": ["SH-1", "SH-2"]},
        T(16),
        lines=[{"sku": "A-1", "qty": 4}],
    )
    assert the_hold().status == HoldStatus.RELEASED
    assert world.order("SO-1").ledger["delivered"] == {"A-1": 4}


def test_a_pod_for_the_order_beside_the_shipments_own_is_not_counted_twice(world: World) -> None:
    ordered(world, A_1=9)
    shipped(world)
    invoiced(world)
    delivered(world, A_1=9)
    world.send("lastmile", "delivery.completed", {"order": "SO-1"}, T(16, 30), lines=[{"sku": "A-1", "qty": 9}])
    assert world.order("SO-1").ledger["delivered"] == {"A-1": 9}
    assert the_hold().status == HoldStatus.RELEASED
