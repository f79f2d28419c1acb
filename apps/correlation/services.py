"""Correlation: from stored events to nodes, links, timelines and order projections.

Runs inside the transaction of the message being processed (ingestion's AFTER_STORE stage).
On PostgreSQL the link-and-project phase takes one transaction-level advisory lock: events
are stored in parallel, but correlation is applied one message at a time, so a worker always
sees every link committed before it (no lost late binding between two concurrent messages).
Everything is set-based: a message of 1,000 events costs a fixed number of queries."""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection

from apps.common.time import now
from apps.events.models import CanonicalEvent

from .graph import Closure, closures, orders_reaching
from .models import Link, Node, OrderProjection, TimelineEntry
from .projection import ShipmentFacts, TimelineEvent, compute
from .rules import alias_bindings, is_run_level, link_pairs

CORRELATION_LOCK = 7_204_211  # arbitrary, fixed: pg_advisory_xact_lock key


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CORRELATION_LOCK])


def nodes_ensure(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    wanted = set(pairs)
    if not wanted:
        return {}
    Node.objects.bulk_create([Node(kind=k, value=v) for k, v in wanted], ignore_conflicts=True, batch_size=1000)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for k, v in wanted:
        by_kind[k].append(v)
    ids: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        for start in range(0, len(values), 2000):
            for nid, value in Node.objects.filter(kind=kind, value__in=values[start : start + 2000]).values_list(
                "id", "value"
            ):
                ids[(kind, value)] = nid
    return ids


def events_correlate(event_ids: list[int]) -> set[int]:
    """Link the ids these events carry, bind aliases, then bring the timelines and projections
    of every order they touch up to date. Returns the affected order node ids."""
    if not event_ids:
        return set()
    _lock()
    events = list(CanonicalEvent.objects.filter(id__in=event_ids).values_list("id", "refs"))
    node_ids = nodes_ensure((k, v) for _, refs in events for k, vs in refs.items() for v in vs)
    at = now()
    links = []
    for event_id, refs in events:
        for a, b in link_pairs(refs):
            na, nb = node_ids[a], node_ids[b]
            links.append(Link(source_id=na, target_id=nb, target_kind=b[0], event_id=event_id, created_at=at))
            links.append(Link(source_id=nb, target_id=na, target_kind=a[0], event_id=event_id, created_at=at))
    Link.objects.bulk_create(links, ignore_conflicts=True, batch_size=2000)
    for event_id, refs in events:
        for alias, entity in alias_bindings(refs):
            # Compare-and-set: the first binding wins and keeps its provenance.
            Node.objects.filter(id=node_ids[alias], entity__isnull=True).update(
                entity_id=node_ids[entity], bound_by_event_id=event_id, bound_at=at
            )
    orders = orders_reaching(node_ids.values())
    orders_refresh(orders)
    return orders


def orders_refresh(order_ids: Iterable[int]) -> None:
    """Recompute timeline membership and projection of these orders from the graph."""
    order_list = sorted(set(order_ids))
    for start in range(0, len(order_list), 200):
        _refresh_batch(order_list[start : start + 200])


def _refresh_batch(order_ids: list[int]) -> None:
    cls = closures(order_ids)
    member_ids = {n for c in cls.values() for n in c.members}
    nodes = {n.id: n for n in Node.objects.filter(id__in=member_ids).only("id", "kind", "value", "entity_id")}
    by_ref: dict[tuple[str, str], int] = {(n.kind, n.value): n.id for n in nodes.values()}
    candidates = _events_naming(nodes.values())
    # node → candidate events naming it, so each closure looks only at its own events.
    naming: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(candidates):
        for kind, values in row[6].items():
            for value in values:
                nid = by_ref.get((kind, value))
                if nid is not None:
                    naming[nid].append(index)
    runs_of: dict[int, list[str]] = defaultdict(list)
    shipment_like = {n for c in cls.values() for n in c.ids("shipment")}
    run_like = {n for c in cls.values() for n in c.ids("run")}
    for source, target in Link.objects.filter(source_id__in=shipment_like, target_id__in=run_like).values_list(
        "source_id", "target_id"
    ):
        runs_of[source].append(nodes[target].value)
    entries: list[TimelineEntry] = []
    projections: list[OrderProjection] = []
    for cid in order_ids:
        closure = cls[cid]
        timeline: list[TimelineEvent] = []
        for index in sorted({i for n in closure.members for i in naming.get(n, [])}):
            eid, etype, system, feed, occurred, received, refs, body = candidates[index]
            via = _via(closure, refs, by_ref)
            if via is None:
                continue
            entries.append(
                TimelineEntry(order_id=cid, event_id=eid, occurred_at=occurred, via_id=via[0], via_event_id=via[1])
            )
            timeline.append(TimelineEvent(eid, etype, system, feed, occurred, received, refs, body))
        projections.append(_projection(closure, nodes, runs_of, timeline))
    TimelineEntry.objects.bulk_create(entries, ignore_conflicts=True, batch_size=2000)
    CanonicalEvent.objects.filter(id__in={e.event_id for e in entries}, matched=False).update(matched=True)
    OrderProjection.objects.bulk_create(
        projections,
        update_conflicts=True,
        unique_fields=["order"],
        update_fields=[f.name for f in OrderProjection._meta.concrete_fields if f.name != "order"],
        batch_size=500,
    )


def _events_naming(nodes: Iterable[Node]) -> list[tuple]:
    """Every event naming any of these nodes: one indexed (kind, value) lookup per kind."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for n in nodes:
        by_kind[n.kind].append(n.value)
    rows: dict[int, tuple] = {}
    for kind, values in by_kind.items():
        for start in range(0, len(values), 2000):
            for row in CanonicalEvent.objects.filter(
                ref_rows__kind=kind, ref_rows__value__in=values[start : start + 2000]
            ).values_list("id", "type", "system", "feed__slug", "occurred_at", "received_at", "refs", "body"):
                rows[row[0]] = row
    return list(rows.values())


_ROLE_PRIORITY = {"order": 0, "task": 1, "shipment": 2, "run": 3}


def _via(
    closure: Closure, refs: dict[str, list[str]], by_ref: dict[tuple[str, str], int]
) -> tuple[int, int | None] | None:
    """The closure node through which this event belongs to the order, or None (§2 rule 4)."""
    best: tuple[int, int, int | None] | None = None
    run_level = is_run_level(refs)
    for kind, values in refs.items():
        for value in values:
            nid = by_ref.get((kind, value))
            member = closure.members.get(nid) if nid is not None else None
            if member is None or (member.role == "run" and not run_level):
                continue
            rank = _ROLE_PRIORITY[member.role] * 2 + (0 if member.via_event_id is None else 1)
            if best is None or rank < best[0]:
                best = (rank, nid, member.via_event_id)  # type: ignore[assignment]
    return (best[1], best[2]) if best else None


def _projection(
    closure: Closure, nodes: dict[int, Node], runs_of: dict[int, list[str]], events: list[TimelineEvent]
) -> OrderProjection:
    order_id = closure.order_id
    order = nodes[order_id]
    shipment_nodes = [nodes[n] for n in closure.ids("shipment") if n in nodes]
    entities = [n for n in shipment_nodes if n.kind == "shipment"]
    shipments = []
    for entity in entities:
        group = [n for n in shipment_nodes if n.id == entity.id or n.entity_id == entity.id]
        ids_by_kind: dict[str, list[str]] = defaultdict(list)
        runs: set[str] = set()
        for n in group:
            if n.kind != "shipment":
                ids_by_kind[n.kind].append(n.value)
            runs.update(runs_of.get(n.id, []))
        shipments.append(ShipmentFacts(entity.value, frozenset(n.id for n in group), dict(ids_by_kind), sorted(runs)))
    aliases: dict[str, list[str]] = defaultdict(list)
    for alias_id in closure.ids("order"):
        if alias_id != order_id and alias_id in nodes:
            aliases[nodes[alias_id].kind].append(nodes[alias_id].value)
    tasks = [nodes[n].value for n in closure.ids("task") if n in nodes]
    data = compute(order.value, events, shipments, tasks, dict(aliases))
    return OrderProjection(order_id=order_id, **data)
