"""Each reconciliation rule matched, mismatched and pending (inside its grace period), through
the real pipeline with a frozen clock (NOW = 2026-11-26 09:00 UTC); the sweep that turns a
pending finding into a mismatch when its grace runs out; exceptions that open and resolve."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from apps.exceptions.models import ExceptionCase
from apps.finance.models import OrderReconciliation
from apps.finance.selectors import order_reconciliation
from apps.finance.services.reconciliation import reconciliation_sweep
from tests.correlation.conftest import World

from .conftest import T, delivered, invoiced, ordered, shipped

pytestmark = pytest.mark.django_db


def verdict(w: World, order: str = "SO-1") -> tuple[str, dict[str, Any]]:
    _, v = order_reconciliation(order_id=w.order(order).order_id)
    assert v is not None
    return v.status, {f.rule: f for f in v.findings}


def cases(rule: str) -> list[ExceptionCase]:
    return list(ExceptionCase.objects.filter(kind="reconciliation", code=rule).order_by("id"))


def test_an_order_whose_systems_agree_is_matched(world: World) -> None:
    ordered(world, A_1=9)
    world.send(
        "wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(10), lines=[{"sku": "A-1", "qty": 9}]
    )
    shipped(world)
    delivered(world, A_1=9)
    invoiced(world, at=T(17))
    assert verdict(world) == ("matched", {})
    assert not OrderReconciliation.objects.exists()


def test_quantity_ordered_against_picked_once_the_order_has_left_the_warehouse(world: World) -> None:
    ordered(world, A_1=9, B_2=3)
    short = [{"sku": "A-1", "qty": 8}, {"sku": "B-2", "qty": 3}]
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(10), lines=short)
    assert verdict(world)[0] == "matched"  # another task may still pick the rest
    shipped(world)
    status, found = verdict(world)
    assert status == "mismatched"
    assert found["quantity"].detail == "A-1: ordered 9, picked 8"
    assert cases("quantity")[0].queue == "finance"
    # The warehouse corrects its pick (the latest report per task counts): the case resolves itself.
    full = [{"sku": "A-1", "qty": 9}, {"sku": "B-2", "qty": 3}]
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(11), lines=full)
    assert verdict(world) == ("matched", {})
    assert cases("quantity")[0].status == "resolved"


def test_quantity_delivered_is_compared_once_every_shipment_has_its_pod(world: World) -> None:
    ordered(world, A_1=9, B_2=3)
    shipped(world, shipment="SH-1", tracking="1Z1")
    shipped(world, shipment="SH-2", tracking="1Z2")
    delivered(world, tracking="1Z1", A_1=9)
    assert "quantity" not in verdict(world)[1]  # half delivered is not short
    delivered(world, tracking="1Z2", at=T(17), B_2=2)
    status, found = verdict(world)
    assert status == "mismatched"
    assert found["quantity"].detail == "B-2: ordered 3, delivered 2"


def test_quantity_within_the_tolerance_agrees(world: World, settings: Any) -> None:
    settings.RECONCILIATION_QTY_TOLERANCE = 1
    ordered(world, A_1=9)
    world.send("wms", "pick.completed", {"order": "SO-1"}, T(10), lines=[{"sku": "A-1", "qty": 8}])
    assert verdict(world)[0] == "matched"


def test_erp_posted_with_no_field_milestone_is_pending_then_mismatched(world: World) -> None:
    ordered(world)
    world.send("erp", "invoice.posted", {"order": "SO-1", "invoice": "INV-1"}, T(7, day=26))  # 2 h ago; grace 4 h
    status, found = verdict(world)
    assert status == "pending"
    assert found["erp_ahead"].pending_until.isoformat() == "2026-11-26T11:00:00+00:00"
    assert not cases("erp_ahead")
    with time_machine.travel("2026-11-26T11:30:00+00:00", tick=False):
        swept = reconciliation_sweep()
        assert swept.evaluated == 1
        assert swept.cases_opened
        assert verdict(world)[0] == "mismatched"
    case = cases("erp_ahead")[0]
    assert (case.queue, case.status) == ("finance", "open")
    shipped(world, at=T(6, day=26))  # the carrier's pickup arrives: the systems agree
    assert cases("erp_ahead")[0].status == "resolved"


def test_erp_says_shipped_long_ago_with_no_field_milestone_goes_to_ops(world: World) -> None:
    ordered(world)
    world.send("erp", "shipment.confirmed", {"order": "SO-1"}, T(20, day=24))
    status, found = verdict(world)
    assert status == "mismatched"
    assert found["erp_ahead"].queue == "ops"


def test_delivered_but_not_invoiced_within_the_grace(world: World) -> None:
    ordered(world)
    shipped(world)
    delivered(world, at=T(16))  # 17 h ago; grace 48 h
    assert verdict(world)[0] == "pending"
    with time_machine.travel("2026-11-27T17:00:00+00:00", tick=False):
        reconciliation_sweep()
    assert cases("delivered_not_invoiced")[0].queue == "finance"
    invoiced(world, at=T(9, day=26))
    assert cases("delivered_not_invoiced")[0].status == "resolved"


def test_ship_confirmed_without_carrier_movement(world: World) -> None:
    ordered(world)
    world.send("wms", "shipment.confirmed", {"order": "SO-1", "shipment": "SH-1"}, T(6))  # 27 h ago; grace 24 h
    status, found = verdict(world)
    assert status == "mismatched"
    assert found["shipped_no_movement"].queue == "ops"
    ordered(world, order="SO-2")
    world.send("wms", "shipment.confirmed", {"order": "SO-2", "shipment": "SH-2"}, T(20))
    assert verdict(world, "SO-2")[0] == "pending"


def test_a_shipment_on_an_order_the_erp_never_reported(world: World) -> None:
    world.send("tms", "shipment.planned", {"order": "SO-X", "shipment": "SH-X"}, T(8, day=26))  # 1 h ago; grace 2 h
    assert verdict(world, "SO-X")[0] == "pending"
    world.send("tms", "shipment.planned", {"order": "SO-Y", "shipment": "SH-Y"}, T(1, day=26))
    status, found = verdict(world, "SO-Y")
    assert status == "mismatched"
    assert "SH-Y" in found["no_erp_order"].detail
    world.send("erp", "order.created", {"order": "SO-Y"}, T(2, day=26))
    assert verdict(world, "SO-Y")[0] == "matched"


def test_a_stale_feed_reports_an_earlier_stage_with_a_later_time(world: World) -> None:
    ordered(world)
    world.send("wms", "pack.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(10))
    world.send("wms", "pick.started", {"order": "SO-1", "warehouse_task": "WT-1"}, T(11))
    status, found = verdict(world)
    assert status == "mismatched"
    assert "pick.started (picking)" in found["stale_feed"].detail
    assert "WT-1" in found["stale_feed"].detail


def test_arrival_order_alone_never_makes_a_finding(world: World) -> None:
    ordered(world)
    world.send("wms", "pack.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(11))
    world.send("wms", "pick.started", {"order": "SO-1", "warehouse_task": "WT-1"}, T(9))  # arrives late, happened first
    world.send("wms", "task.created", {"order": "SO-1", "warehouse_task": "WT-2"}, T(12))  # another task starts later
    assert verdict(world) == ("matched", {})


def test_a_difference_opens_its_case_only_once_it_has_settled(world: World, settings: Any) -> None:
    """Events of one order come in any order and batch: a mismatch the next message removes is
    transit. The case opens when the finding has stood RECONCILIATION_SETTLE (the sweep)."""
    settings.RECONCILIATION_SETTLE = timedelta(seconds=90)
    ordered(world)
    world.send("wms", "shipment.confirmed", {"order": "SO-1", "shipment": "SH-1"}, T(6))
    assert verdict(world)[0] == "mismatched"
    assert not cases("shipped_no_movement")
    row = OrderReconciliation.objects.get()
    assert row.next_check_at.isoformat() == "2026-11-26T09:01:30+00:00"
    with time_machine.travel("2026-11-26T09:01:00+00:00", tick=False):
        reconciliation_sweep()
    assert not cases("shipped_no_movement")
    with time_machine.travel("2026-11-26T09:02:00+00:00", tick=False):
        reconciliation_sweep()
    assert cases("shipped_no_movement")[0].status == "open"


def test_a_transient_difference_never_reaches_the_queue(world: World, settings: Any) -> None:
    settings.RECONCILIATION_SETTLE = timedelta(seconds=90)
    ordered(world)
    world.send("wms", "shipment.confirmed", {"order": "SO-1", "shipment": "SH-1"}, T(6))
    shipped(world, at=T(7))  # the carrier's pickup was in the next message
    with time_machine.travel("2026-11-26T09:05:00+00:00", tick=False):
        reconciliation_sweep()
    assert not ExceptionCase.objects.filter(kind="reconciliation").exists()
    assert not OrderReconciliation.objects.exists()


def test_a_cancelled_invoice_does_not_count_as_invoiced(world: World) -> None:
    ordered(world)
    shipped(world)
    delivered(world, at=T(16, day=22))
    invoiced(world, at=T(17, day=22))
    world.send("erp", "invoice.cancelled", {"order": "SO-1", "invoice": "INV-1"}, T(18, day=22))
    assert "delivered_not_invoiced" in verdict(world)[1]


def test_a_finding_a_person_resolved_does_not_reopen_while_it_stands(world: World) -> None:
    from apps.exceptions.services import exception_resolve
    from tests.factories import UserFactory

    ordered(world)
    world.send("wms", "pack.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(10))
    world.send("wms", "pick.started", {"order": "SO-1", "warehouse_task": "WT-1"}, T(11))
    [case] = cases("stale_feed")
    lead = UserFactory(role="ops_lead")
    exception_resolve(case=case, resolution="the WMS replayed an old file; told them", actor=lead)
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(12))
    assert [c.status for c in cases("stale_feed")] == ["resolved"]
