"""The simulated world: deterministic, valid, and carrying every correlation case the control
tower must handle (splits, consolidations, shared runs, late binding, failed attempts)."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from apps.events.taxonomy import EventType
from apps.events.validation import ValidEvent, validate_one
from apps.simulator.world import SimEvent, generate_world, world_stats

START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def _ids(value):
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture(scope="module")
def world() -> list[SimEvent]:
    return generate_world(orders=300, seed=7, start=START)


def of_type(world, type_):
    return [(i, sim.event) for i, sim in enumerate(world) if sim.event["type"] == type_]


def test_the_same_seed_gives_the_same_world_and_another_seed_another(world):
    assert generate_world(orders=300, seed=7, start=START) == world
    assert generate_world(orders=300, seed=8, start=START) != world


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="naive"):
        generate_world(orders=1, start=datetime(2026, 11, 22))  # noqa: DTZ001


def test_every_event_is_a_valid_canonical_event(world):
    for index, sim in enumerate(world):
        result = validate_one(index, sim.event)
        assert isinstance(result, ValidEvent), (sim.event, result)
        assert sim.system in {"erp", "wms", "tms", "lastmile"}
        assert sim.event["event_id"].startswith(f"{sim.system}-")


def test_event_ids_are_unique_per_feed(world):
    keys = [(sim.system, sim.event["event_id"]) for sim in world]
    assert len(keys) == len(set(keys))


def test_times_carry_source_offsets_both_z_and_plus_one(world):
    stamps = [sim.event["occurred_at"] for sim in world]
    assert any(s.endswith("Z") for s in stamps)
    assert any(s.endswith("+01:00") for s in stamps)


def test_the_world_is_a_snapshot_in_progress(world):
    end = START + timedelta(days=3)
    times = [validate_one(0, sim.event).occurred_at for sim in world]
    assert max(times) <= end
    assert min(times) >= START
    created = {e["refs"]["order"] for _, e in of_type(world, EventType.ORDER_CREATED)}
    invoiced = {e["refs"]["order"] for _, e in of_type(world, EventType.INVOICE_POSTED)}
    delivered_scans = of_type(world, EventType.DELIVERY_COMPLETED)
    assert len(created) == 300
    assert invoiced
    assert delivered_scans
    assert len(invoiced) < len(created)  # not every order has finished
    assert of_type(world, EventType.ORDER_CANCELLED)


def test_orders_carry_customer_po_service_level_and_promise(world):
    for _, event in of_type(world, EventType.ORDER_CREATED):
        assert set(event["refs"]) == {"order", "customer_po"}
        assert event["service_level"] in {"express", "standard", "economy"}
        assert event["customer"]
        assert event["promised_by"]
        assert event["lines"]


def test_there_are_split_orders_and_consolidated_shipments(world):
    shipments_of = defaultdict(set)
    consolidated = []
    for _, event in of_type(world, EventType.SHIPMENT_PLANNED):
        refs = event["refs"]
        assert set(refs) == {"shipment", "order", "tracking_number"}
        for order in _ids(refs["order"]):
            shipments_of[order].add(refs["shipment"])
        if isinstance(refs["order"], list):
            consolidated.append(refs["order"])
    assert any(len(shipments) == 2 for shipments in shipments_of.values())
    assert consolidated
    assert all(2 <= len(orders) <= 3 for orders in consolidated)


def test_delivery_runs_carry_many_shipments_and_run_level_events_name_only_the_run(world):
    planned = of_type(world, EventType.RUN_PLANNED)
    assert max(len(e["refs"]["shipment"]) for _, e in planned) >= 10
    assert all(len(e["refs"]["shipment"]) <= 30 for _, e in planned)
    for type_ in (EventType.RUN_DISPATCHED, EventType.RUN_COMPLETED):
        for _, event in of_type(world, type_):
            assert set(event["refs"]) == {"delivery_run"}
    for type_ in (
        EventType.DELIVERY_OUT_FOR_DELIVERY,
        EventType.DELIVERY_COMPLETED,
        EventType.DELIVERY_ATTEMPTED,
    ):
        for _, event in of_type(world, type_):
            assert set(event["refs"]) == {"delivery_run", "tracking_number"}


def test_a_tracking_number_is_scanned_before_the_plan_that_binds_it_is_sent(world):
    first_scan: dict[str, int] = {}
    for i, sim in enumerate(world):
        refs = sim.event["refs"]
        if sim.system == "lastmile" and "tracking_number" in refs:
            first_scan.setdefault(refs["tracking_number"], i)
    late = [
        i
        for i, event in of_type(world, EventType.SHIPMENT_PLANNED)
        if event["refs"]["tracking_number"] in first_scan and first_scan[event["refs"]["tracking_number"]] < i
    ]
    assert late


def test_failed_attempts_are_retried_the_next_day(world):
    attempted = of_type(world, EventType.DELIVERY_ATTEMPTED)
    assert attempted
    for _, event in attempted:
        assert event["reason"]["code"] in {
            "CUSTOMER_ABSENT",
            "BUSINESS_CLOSED",
            "ACCESS_RESTRICTED",
            "ADDRESS_NOT_FOUND",
        }
        assert event["source_status"] == "AH"
    outcome_after = {
        e["refs"]["tracking_number"]: e
        for _, e in of_type(world, EventType.DELIVERY_COMPLETED) + of_type(world, EventType.DELIVERY_FAILED)
    }
    retried = [e for _, e in attempted if e["refs"]["tracking_number"] in outcome_after]
    assert retried
    for event in retried:
        later = outcome_after[event["refs"]["tracking_number"]]
        assert later["refs"]["delivery_run"] != event["refs"]["delivery_run"]  # the next day's run


def test_completed_deliveries_carry_proof_of_delivery_and_invoices_an_amount(world):
    for _, event in of_type(world, EventType.DELIVERY_COMPLETED):
        assert event["pod"]["signed_by"]
        assert event["pod"]["photo_ref"].endswith(".jpg")
    for _, event in of_type(world, EventType.INVOICE_POSTED):
        assert set(event["refs"]) == {"order", "invoice"}
        assert event["amount"]["currency"] in {"EUR", "GBP", "USD"}


def test_the_warehouse_links_tasks_to_orders_and_shipments(world):
    packed = of_type(world, EventType.PACK_COMPLETED)
    assert all(set(e["refs"]) == {"order", "warehouse_task", "lpn"} for _, e in packed)
    loaded = of_type(world, EventType.SHIPMENT_LOADED)
    assert loaded
    assert all({"shipment", "warehouse_task", "lpn"} == set(e["refs"]) for _, e in loaded)
    assert of_type(world, EventType.PICK_SHORT)


def test_an_id_prefix_keeps_two_worlds_apart():
    one = generate_world(orders=20, seed=1, start=START, id_prefix="A1")
    two = generate_world(orders=20, seed=1, start=START, id_prefix="B2")
    assert not {s.event["event_id"] for s in one} & {s.event["event_id"] for s in two}
    assert all("A1" in s.event["event_id"] for s in one)
    orders = {e.event["refs"]["order"] for e in one if e.event["type"] == EventType.ORDER_CREATED}
    assert all(o.startswith("SO-A1-") for o in orders)


def test_world_stats_counts_the_structure(world):
    stats = world_stats(world)
    assert stats["events"] == len(world)
    assert stats["orders"] == 300
    assert stats["shipments"] > 200
    assert stats["split"] >= 1
    assert stats["consolidated"] >= 1
    assert stats["runs"] >= 1
    assert stats["late_bound"] >= 1
    assert (stats["duplicates"], stats["bad"]) == (0, 0)
