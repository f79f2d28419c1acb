"""Each correlation rule of canonical-events.md §2 and the stage model of §3, on its own."""

from apps.events.models import CanonicalEvent

T = "2026-11-25T{:02d}:00:00+00:00".format


def test_a_wms_event_links_the_task_to_the_order_and_joins_its_timeline(world):
    world.send("erp", "order.created", {"order": "SO-1"}, T(8))
    pick = world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-5"}, T(9))
    later = world.send("wms", "pack.completed", {"warehouse_task": "WT-5"}, T(10))
    assert world.timeline("SO-1")[1:] == [pick, later]
    assert world.order("SO-1").warehouse_tasks == ["WT-5"]
    assert world.order("SO-1").stage == "packed"


def test_a_split_order_takes_its_least_advanced_shipment_and_is_partial(world):
    world.send("erp", "order.created", {"order": "SO-1"}, T(1))
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-1"}, T(2))
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-2"}, T(2))
    world.send("lastmile", "delivery.completed", {"shipment": "SH-1"}, T(5))
    world.send("tms", "shipment.departed", {"shipment": "SH-2"}, T(4))
    order = world.order("SO-1")
    assert order.stage == "in_transit"
    assert order.partial is True
    assert {s["id"]: s["stage"] for s in order.shipments} == {"SH-1": "delivered", "SH-2": "in_transit"}
    world.send("lastmile", "delivery.completed", {"shipment": "SH-2"}, T(7))
    order = world.order("SO-1")
    assert (order.stage, order.partial) == ("delivered", False)


def test_a_consolidated_shipment_joins_both_orders_without_merging_them(world):
    a = world.send("erp", "order.created", {"order": "SO-1"}, T(1))
    b = world.send("erp", "order.created", {"order": "SO-2"}, T(1))
    planned = world.send("tms", "shipment.planned", {"shipment": "SH-7", "order": ["SO-1", "SO-2"]}, T(2))
    departed = world.send("tms", "shipment.departed", {"shipment": "SH-7"}, T(3))
    assert world.timeline("SO-1") == [a, planned, departed]
    assert world.timeline("SO-2") == [b, planned, departed]


def test_a_shared_run_gives_run_level_events_to_all_and_stop_events_to_their_orders(world):
    world.send("tms", "shipment.planned", {"shipment": "SH-7", "order": "SO-1"}, T(1))
    world.send("tms", "shipment.planned", {"shipment": "SH-8", "order": "SO-2"}, T(1))
    world.send("lastmile", "run.planned", {"delivery_run": "R-9", "shipment": ["SH-7", "SH-8"]}, T(2))
    dispatched = world.send("lastmile", "run.dispatched", {"delivery_run": "R-9"}, T(3))
    stop = world.send("lastmile", "delivery.completed", {"delivery_run": "R-9", "shipment": "SH-8"}, T(4))
    assert dispatched in world.timeline("SO-1")
    assert dispatched in world.timeline("SO-2")
    assert stop in world.timeline("SO-2")
    assert stop not in world.timeline("SO-1")
    assert world.order("SO-1").shipments[0]["delivery_runs"] == ["R-9"]
    assert world.order("SO-1").stage == ""  # nothing with a stage reached SO-1
    assert world.order("SO-2").stage == "delivered"


def test_an_alias_seen_before_its_entity_is_unmatched_until_bound(world):
    world.send("erp", "order.created", {"order": "SO-1"}, T(1))
    scan = world.send(
        "lastmile", "delivery.attempted", {"tracking_number": "1Z99"}, T(5), reason={"code": "CUSTOMER_ABSENT"}
    )
    assert scan not in world.timeline("SO-1")
    assert CanonicalEvent.objects.get(event_key=scan).matched is False
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-7", "tracking_number": "1Z99"}, T(2))
    assert scan in world.timeline("SO-1")
    assert CanonicalEvent.objects.get(event_key=scan).matched is True


def test_an_entity_seen_before_its_alias_binds_when_the_alias_appears(world):
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-7"}, T(1))
    world.send("tms", "shipment.tender_accepted", {"shipment": "SH-7", "tracking_number": "1Z1"}, T(2))
    scan = world.send("lastmile", "delivery.out_for_delivery", {"tracking_number": "1Z1"}, T(3))
    assert scan in world.timeline("SO-1")
    assert world.order("SO-1").shipments[0]["tracking_numbers"] == ["1Z1"]
    assert world.order("SO-1").stage == "out_for_delivery"


def test_late_binding_through_a_run_and_a_tracking_number(world):
    stop = world.send("lastmile", "delivery.completed", {"delivery_run": "R-1", "tracking_number": "1Z5"}, T(9))
    run = world.send("lastmile", "run.dispatched", {"delivery_run": "R-1"}, T(8))
    world.send("erp", "order.created", {"order": "SO-3"}, T(1))
    assert world.timeline("SO-3") == [world.timeline("SO-3")[0]]
    world.send("tms", "shipment.planned", {"order": "SO-3", "shipment": "SH-5", "tracking_number": "1Z5"}, T(2))
    assert run in world.timeline("SO-3")
    assert stop in world.timeline("SO-3")
    assert world.order("SO-3").stage == "delivered"


def test_the_stage_never_moves_backwards_for_a_late_event(world):
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "SH-1"}, T(1))
    world.send("lastmile", "delivery.completed", {"shipment": "SH-1"}, T(9), pod={"signed_by": "A. Jones"})
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, T(3))
    order = world.order("SO-1")
    assert order.stage == "delivered"
    assert order.pod["signed_by"] == "A. Jones"


def test_exceptions_and_plans_change_no_stage(world):
    world.send("erp", "order.created", {"order": "SO-1"}, T(1))
    world.send("tms", "shipment.planned", {"order": "SO-1", "shipment": "S", "tracking_number": "T"}, T(2))
    world.send("lastmile", "delivery.attempted", {"tracking_number": "T"}, T(3), reason={"code": "X"})
    assert world.order("SO-1").stage == "created"


def test_each_systems_view_is_its_last_report_by_occurred_at(world):
    world.send("erp", "order.released", {"order": "SO-1"}, T(5))
    world.send("erp", "order.created", {"order": "SO-1"}, T(4))  # arrives later, happened earlier
    world.send("wms", "pick.started", {"order": "SO-1", "warehouse_task": "W"}, T(6))
    systems = world.order("SO-1").systems
    assert systems["erp"]["type"] == "order.released"
    assert systems["wms"]["type"] == "pick.started"
    assert systems["tms"] is None
    assert systems["lastmile"] is None


def test_order_aliases_find_the_order(world):
    po = world.send("erp", "order.created", {"order": "SO-1", "customer_po": "PO-77"}, T(1), customer="ACME")
    inv = world.send("erp", "invoice.posted", {"customer_po": "PO-77", "invoice": "INV-3"}, T(9))
    assert world.timeline("SO-1") == [po, inv]
    assert world.order("SO-1").customer == "ACME"


def test_a_cancelled_order_is_terminal(world):
    world.send("erp", "order.released", {"order": "SO-1"}, T(1))
    world.send("erp", "order.cancelled", {"order": "SO-1"}, T(2))
    assert world.order("SO-1").stage == "cancelled"
