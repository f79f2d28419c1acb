"""Stored closures (apps/correlation/membership.py) agree with walking the graph.

The hot path answers "which orders does this batch touch" from Member rows and grows each
order's stored closure with the batch's own edges; a walk of the whole graph is the reference.
A noisy world (reordered, resent, late-bound tracking numbers, split and consolidated
shipments, shared runs) is sent in small messages, then every node and every order is checked."""

from collections import defaultdict
from datetime import UTC, datetime

import orjson
import pytest

from apps.correlation.graph import closures, orders_reaching
from apps.correlation.membership import members_backfill, orders_touched
from apps.correlation.models import Member, Node, OrderProjection
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from apps.simulator.noise import make_noisy
from apps.simulator.world import generate_world, world_stats
from tests.factories import FeedFactory

START = datetime(2026, 11, 23, tzinfo=UTC)


def stored_closures() -> dict[int, set[tuple[int, str]]]:
    out: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for order_id, node_id, role in Member.objects.values_list("order_id", "node_id", "role"):
        out[order_id].add((node_id, role))
    return dict(out)


def walked_closures() -> dict[int, set[tuple[int, str]]]:
    orders = list(OrderProjection.objects.values_list("order_id", flat=True))
    return {o: {(m.node_id, m.role) for m in c.members.values()} for o, c in closures(orders).items()}


@pytest.fixture
def noisy_world(db: None) -> None:
    events = generate_world(orders=24, seed=17, start=START, id_prefix="MB")
    stats = world_stats(events)
    assert stats["split"], stats
    assert stats["consolidated"], stats
    assert stats["late_bound"], stats
    stream = make_noisy(events, seed=5, duplicate_rate=0.1, reorder_window=30, bad_rate=0)
    feeds = {s: FeedFactory(system=s) for s in ("erp", "wms", "tms", "lastmile")}
    for start in range(0, len(stream), 7):
        by_system: dict[str, list[dict]] = defaultdict(list)
        for sim in stream[start : start + 7]:
            by_system[sim.system].append(sim.event)
        for system, batch in by_system.items():
            message = message_receive(
                feed=feeds[system], body=orjson.dumps({"events": batch}), content_type="application/json"
            )
            message_process(message_id=message.id)


def test_every_orders_stored_closure_is_the_walked_one(noisy_world: None) -> None:
    walked = walked_closures()
    assert len(walked) >= 24
    assert stored_closures() == walked


def test_the_orders_a_node_touches_are_the_orders_reaching_it(noisy_world: None) -> None:
    nodes = list(Node.objects.values_list("id", flat=True))
    assert len(nodes) > 100
    touched_somewhere = 0
    for node_id in nodes:
        touched = orders_touched([node_id])
        assert touched == orders_reaching([node_id]), Node.objects.get(id=node_id)
        touched_somewhere += bool(touched)
    assert touched_somewhere > len(nodes) // 2


def test_backfill_rebuilds_the_stored_closures(noisy_world: None) -> None:
    before = stored_closures()
    Member.objects.all().delete()
    assert members_backfill(batch=5) == len(before)
    assert stored_closures() == before
