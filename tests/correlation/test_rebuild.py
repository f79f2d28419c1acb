"""`rebuild_projections` recomputes from the stored events exactly what the incremental path
built while the events arrived: noisy streams (duplicates, reordering, bad events, late
binding, splits, consolidations) sent in messages, snapshot, rebuild, compare."""

import itertools
from collections import defaultdict
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import orjson
import pytest
from django.core.management import CommandError, call_command

from apps.correlation.models import Link, Node, OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from apps.simulator.noise import make_noisy
from apps.simulator.world import SimEvent, generate_world, world_stats
from tests.factories import FeedFactory

START = datetime(2026, 11, 23, tzinfo=UTC)
_runs = itertools.count(1)

# Every stored projection field except the bookkeeping ones. That includes `fold`, the state
# the incremental path folds new events into: a rebuild must leave it as the stream did, or
# the next incremental update would start from a different place.
PROJECTION_FIELDS = [f.name for f in OrderProjection._meta.concrete_fields if f.name not in {"order", "updated_at"}]


def send_stream(stream: list[SimEvent], *, window: int) -> None:
    """The stream in windows of `window` events; each window is one message per system."""
    run = next(_runs)
    feeds = {s: FeedFactory(system=s, slug=f"rebuild-{run}-{s}") for s in ("erp", "wms", "tms", "lastmile")}
    for start in range(0, len(stream), window):
        by_system: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sim in stream[start : start + window]:
            by_system[sim.system].append(sim.event)
        for system, events in by_system.items():
            message = message_receive(
                feed=feeds[system], body=orjson.dumps({"events": events}), content_type="application/json"
            )
            message_process(message_id=message.id)


def snapshot() -> dict[str, Any]:
    """What users see: every projection, every (order, event) timeline pair, the unmatched
    list, the alias bindings and the links (without their provenance)."""
    return {
        "projections": {p["order_key"]: p for p in OrderProjection.objects.values(*PROJECTION_FIELDS)},
        "timeline": set(TimelineEntry.objects.values_list("order__value", "event__feed__slug", "event__event_key")),
        "unmatched": set(CanonicalEvent.objects.filter(matched=False).values_list("feed__slug", "event_key")),
        "bindings": set(
            Node.objects.filter(entity__isnull=False).values_list("kind", "value", "entity__kind", "entity__value")
        ),
        "links": set(Link.objects.values_list("source__kind", "source__value", "target__kind", "target__value")),
    }


def rebuild(**options: Any) -> str:
    out = StringIO()
    call_command("rebuild_projections", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(("seed", "orders", "window"), [(14, 30, 40), (28, 30, 7), (23, 40, 150)])
def test_rebuild_gives_what_the_incremental_path_built(seed, orders, window):
    clean = generate_world(orders=orders, seed=seed, start=START, id_prefix=f"RB{seed}")
    stats = world_stats(clean)
    # The world exercises split orders, consolidated shipments and late binding.
    assert stats["split"], stats
    assert stats["consolidated"], stats
    assert stats["late_bound"], stats
    noisy = make_noisy(clean, seed=seed, duplicate_rate=0.05, reorder_window=25, bad_rate=0.02)
    send_stream(noisy, window=window)
    before = snapshot()
    assert len(before["projections"]) >= orders  # orders cut by the horizon may still be referenced
    assert before["timeline"]

    out = rebuild()

    after = snapshot()
    for key in ("timeline", "unmatched", "bindings", "links"):
        assert after[key] == before[key], key
    assert after["projections"].keys() == before["projections"].keys()
    for order_key, projection in before["projections"].items():
        assert after["projections"][order_key] == projection, order_key
    matched = CanonicalEvent.objects.filter(matched=True).count()
    assert f"{len(before['projections'])} orders, {matched} events matched, {len(before['unmatched'])} unmatched" in out


@pytest.mark.django_db
def test_orders_gaining_older_nodes_are_caught_up_to_what_a_rebuild_gives(monkeypatch):
    """The catch-up path (refresh._with_older_events) folds the older events of nodes an order
    gains into its stored state instead of refolding the timeline: it must run on a noisy world
    (consolidations, late binding), hand some orders to the full path, and agree with a rebuild."""
    from apps.correlation import refresh

    seen = {"orders": 0, "full": 0, "older": 0}
    original = refresh._with_older_events

    def counting(cls, nodes, states, new_events, created_nodes):
        candidates, full = original(cls, nodes, states, new_events, created_nodes)
        seen["orders"] += len(cls)
        seen["full"] += len(full)
        seen["older"] += len(candidates) - len(new_events)
        return candidates, full

    monkeypatch.setattr(refresh, "_with_older_events", counting)
    clean = generate_world(orders=40, seed=31, start=START, id_prefix="RBC")
    send_stream(make_noisy(clean, seed=31, duplicate_rate=0.05, reorder_window=25, bad_rate=0), window=20)
    before = snapshot()
    assert seen["older"] > 0, seen  # older events were folded in...
    assert seen["orders"] > seen["full"], seen  # ...for orders that did not need the full path
    rebuild()
    assert snapshot() == before


@pytest.mark.django_db
def test_an_order_gaining_a_shipment_an_event_on_its_timeline_already_named_is_refolded():
    """An event already on the order's timeline (through shipment S1) also names S2, which the
    order gains later: S2 now counts that event too, so catching up (folding only S2's older
    events) would leave S2 behind. The order takes the full path, and agrees with a rebuild."""
    feed = FeedFactory(system="tms", slug="catchup-tms")

    def send(*events: dict[str, Any]) -> None:
        body = orjson.dumps({"events": list(events)})
        message_process(message_id=message_receive(feed=feed, body=body, content_type="application/json").id)

    def event(key: str, type_: str, hour: int, **refs: list[str]) -> dict[str, Any]:
        return {"event_id": key, "type": type_, "occurred_at": f"2026-11-23T{hour:02d}:00:00Z", "refs": refs}

    send(event("c1", "shipment.planned", 8, order=["SO-CU"], shipment=["S1"]))
    send(event("d1", "shipment.departed", 9, shipment=["S1", "S2"]))  # on SO-CU's timeline through S1
    send(event("c2", "shipment.planned", 10, order=["SO-CU"], shipment=["S2"]))  # SO-CU gains S2
    before = snapshot()
    assert before["projections"]["SO-CU"]["stage"] == "in_transit"  # both shipments departed
    assert before["projections"]["SO-CU"]["partial"] is False
    rebuild()
    assert snapshot() == before


@pytest.mark.django_db
def test_rebuild_repairs_damaged_read_models_and_is_idempotent():
    clean = generate_world(orders=12, seed=19, start=START, id_prefix="RBX")
    send_stream(make_noisy(clean, seed=3, bad_rate=0), window=50)
    before = snapshot()
    # Damage: lose some timeline entries, a projection, a link, a binding and the matched flags.
    TimelineEntry.objects.filter(id__in=list(TimelineEntry.objects.values_list("id", flat=True)[::3])).delete()
    OrderProjection.objects.filter(order_key=next(iter(before["projections"]))).delete()
    OrderProjection.objects.update(stage="created", partial=True, event_count=0)
    Link.objects.filter(id=Link.objects.values_list("id", flat=True).first()).delete()
    Node.objects.filter(kind="tracking_number").update(entity=None, bound_by_event=None, bound_at=None)
    CanonicalEvent.objects.update(matched=True)

    rebuild(batch_size=7)
    assert snapshot() == before
    rebuild(batch_size=10_000)
    assert snapshot() == before


@pytest.mark.django_db
def test_rebuild_of_an_empty_store_and_a_bad_batch_size():
    assert "rebuilt from 0 events: 0 orders, 0 events matched, 0 unmatched" in rebuild()
    with pytest.raises(CommandError, match="batch-size"):
        rebuild(batch_size=0)
