"""Correlation: from stored events to nodes, links, timelines and order projections.

Runs inside the transaction of the message being processed (ingestion's AFTER_STORE stage).
On PostgreSQL the link-and-project phase takes one transaction-level advisory lock: events
are stored in parallel, but correlation is applied one message at a time, so a worker always
sees every link committed before it (no lost late binding between two concurrent messages).
Everything is set-based: a message of 1,000 events costs a fixed number of queries."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from django.db import connection

from apps.common.time import now
from apps.events.models import CanonicalEvent

from .graph import Closure, closures
from .live import orders_changed
from .membership import BatchEdges, closures_grown, members_store, orders_touched
from .models import Link, Node, TimelineEntry
from .projection import ShipmentFacts, TimelineEvent, apply, empty_state, finish
from .rules import alias_bindings, is_run_level, link_pairs
from .writes import (
    entries_insert,
    event_ids_naming,
    events_mark_matched,
    events_mark_unmatched,
    events_read,
    folds_read,
    links_insert,
    nodes_upsert,
    projections_upsert,
)


class NodeRow(NamedTuple):
    id: int
    kind: str
    value: str
    entity_id: int | None


CORRELATION_LOCK = 7_204_211  # arbitrary, fixed: pg_advisory_xact_lock key


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CORRELATION_LOCK])


def nodes_ensure(pairs: Iterable[tuple[str, str]]) -> tuple[dict[tuple[str, str], int], set[int]]:
    """Ids of these nodes, creating the missing ones; also returns the ids created now."""
    wanted = set(pairs)
    if not wanted:
        return {}, set()
    by_kind: dict[str, list[str]] = defaultdict(list)
    for k, v in wanted:
        by_kind[k].append(v)

    def lookup() -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for kind, values in by_kind.items():
            for start in range(0, len(values), 2000):
                rows = Node.objects.filter(kind=kind, value__any=values[start : start + 2000]).values_list(
                    "id", "value"
                )
                found.update({(kind, value): nid for nid, value in rows})
        return found

    found: dict[tuple[str, str], int] = {}
    created: set[int] = set()
    if connection.vendor == "postgresql":
        found, created = nodes_upsert(wanted)
        if len(found) == len(wanted):
            return found, created
    found.update(lookup())
    missing = wanted - set(found)
    if not missing:
        return found, created
    Node.objects.bulk_create([Node(kind=k, value=v) for k, v in missing], ignore_conflicts=True, batch_size=1000)
    ids = lookup()
    return ids, created | {ids[p] for p in missing}


def events_correlate(event_ids: list[int]) -> set[int]:
    """Link the ids these events carry, bind aliases, then bring the timelines and projections
    of every order they touch up to date. Returns the affected order node ids."""
    if not event_ids:
        return set()
    _lock()
    rows = sorted(_events_by_id(event_ids))  # one read serves linking and the projections
    events = [(row[0], row[6]) for row in rows]
    node_ids, created = nodes_ensure((k, v) for _, refs in events for k, vs in refs.items() for v in vs)
    at = now()
    # sorted by id: the earliest stored event of a batch is the provenance of what it establishes
    links: dict[tuple[int, int], tuple[str, int]] = {}  # (source, target) -> (target kind, event)
    bindings: dict[int, tuple[int, int]] = {}
    for event_id, refs in events:
        for a, b in link_pairs(refs):
            na, nb = node_ids[a], node_ids[b]
            links.setdefault((na, nb), (b[0], event_id))
            links.setdefault((nb, na), (a[0], event_id))
        for alias, entity in alias_bindings(refs):
            bindings.setdefault(node_ids[alias], (node_ids[entity], event_id))
    links_insert(links, at)
    bound = _bind_aliases(bindings, at)
    orders = orders_touched(node_ids.values())
    placed = orders_refresh(
        orders,
        new_event_ids=[e for e, _ in events],
        new_event_rows=rows,
        created_nodes=created,
        bound_aliases=bound,
        edges=BatchEdges.of(links, bindings, bound),
    )
    # Stored as matched (ingestion's STORE_PRESUMED_MATCHED) or not: either way, set it right.
    events_mark_unmatched([e for e, _ in events if e not in placed])
    orders_changed(orders)
    return orders


def _bind_aliases(bindings: dict[int, tuple[int, int]], at: datetime) -> set[int]:
    """Compare-and-set per alias (`entity IS NULL`): the first binding wins, with its provenance.
    Returns the aliases bound now (correlation runs under one lock, so the read is stable)."""
    if not bindings:
        return set()
    unbound = set(Node.objects.filter(id__any=list(bindings), entity__isnull=True).values_list("id", flat=True))
    bindings = {a: b for a, b in bindings.items() if a in unbound}
    if not bindings:
        return set()
    if connection.vendor == "postgresql":
        aliases = list(bindings)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE correlation_node AS n SET entity_id = v.entity, bound_by_event_id = v.event, bound_at = %s "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(alias, entity, event) "
                "WHERE n.id = v.alias AND n.entity_id IS NULL",
                [at, aliases, [bindings[a][0] for a in aliases], [bindings[a][1] for a in aliases]],
            )
        return set(bindings)
    for alias, (entity, event_id) in bindings.items():
        Node.objects.filter(id=alias, entity__isnull=True).update(
            entity_id=entity, bound_by_event_id=event_id, bound_at=at
        )
    return set(bindings)


def orders_refresh(
    order_ids: Iterable[int],
    *,
    new_event_ids: list[int] | None = None,
    new_event_rows: list[tuple] | None = None,
    created_nodes: set[int] | frozenset[int] = frozenset(),
    bound_aliases: set[int] | frozenset[int] = frozenset(),
    edges: BatchEdges | None = None,
) -> set[int]:
    """Bring timeline membership and projections of these orders up to date.

    With `new_event_ids` (the hot path), those events are folded into each order's stored
    state (a new order: into the empty state). That is exact when the order's closure gained
    only nodes created by these same events (no older event can name them) and no alias in it
    that existed before was bound now (which could re-attribute older events to a shipment);
    other orders are recomputed from their whole timeline, which is also what happens without
    `new_event_ids`. With `edges` (the batch's new links and bindings), closures are the stored
    ones grown by those edges (membership.py) instead of walks of the graph.

    Returns the ids of the events now on the timeline of one of these orders."""
    order_list = sorted(set(order_ids))
    new_events = None
    if new_event_ids is not None:
        new_events = new_event_rows if new_event_rows is not None else _events_by_id(new_event_ids)
    placed: set[int] = set()
    for start in range(0, len(order_list), 500):
        placed |= _refresh_batch(order_list[start : start + 500], new_events, created_nodes, bound_aliases, edges)
    return placed


def _refresh_batch(
    order_ids: list[int],
    new_events: list[tuple] | None,
    created_nodes: set[int] | frozenset[int] = frozenset(),
    bound_aliases: set[int] | frozenset[int] = frozenset(),
    edges: BatchEdges | None = None,
) -> set[int]:
    gained_now: dict[int, set[int]] | None = None
    if new_events is not None and edges is not None:
        cls, gained_now = closures_grown(order_ids, edges)
    else:
        cls = closures(order_ids)
    member_ids = {n for c in cls.values() for n in c.members}
    nodes = {
        nid: NodeRow(nid, kind, value, entity)
        for nid, kind, value, entity in Node.objects.filter(id__any=list(member_ids)).values_list(
            "id", "kind", "value", "entity_id"
        )
    }
    by_ref: dict[tuple[str, str], int] = {(n.kind, n.value): n.id for n in nodes.values()}
    states: dict[int, dict[str, Any]] = {}
    if new_events is None:
        candidates = _events_naming(nodes.values())
        existing = set(TimelineEntry.objects.filter(order_id__any=order_ids).values_list("order_id", "event_id"))
    else:
        candidates = new_events
        states = folds_read(order_ids)
        # By event only: new events have no entries yet (a replayed or restored one may), so this
        # is a short probe of the event index, not one of the (order, event) cross product.
        wanted = set(order_ids)
        existing = {
            pair
            for pair in TimelineEntry.objects.filter(event_id__any=[e[0] for e in new_events]).values_list(
                "order_id", "event_id"
            )
            if pair[0] in wanted
        }
    # node → candidate events naming it, so each closure looks only at its own events.
    naming: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(candidates):
        for kind, values in row[6].items():
            for value in values:
                nid = by_ref.get((kind, value))
                if nid is not None:
                    naming[nid].append(index)
    runs_of = _runs_of(cls, nodes)
    fresh: list[tuple[int, int, datetime, int, int | None]] = []
    projections: list[dict[str, Any]] = []
    recompute: list[int] = []
    for cid in order_ids:
        closure = cls[cid]
        shipments, tasks, aliases = _closure_facts(closure, nodes, runs_of)
        if new_events is not None:
            # An order without a stored fold starts from the empty state: exact when every node
            # of its closure was created by these events (a new order, the common case).
            state = states.get(cid) or empty_state()
            gained = set(closure.members) - set(state.get("members", []))
            # An alias created now is named by these events only, so binding it re-attributes
            # nothing already folded.
            if (
                gained - created_nodes
                or (gained_now is not None and gained_now[cid] - created_nodes)
                or (bound_aliases - created_nodes) & closure.members.keys()
            ):
                recompute.append(cid)
                continue
        else:
            state = empty_state()
        for index in sorted({i for n in closure.members for i in naming.get(n, [])}):
            eid, etype, system, feed, occurred, received, refs, body = candidates[index]
            via = _via(closure, refs, by_ref)
            if via is None:
                continue
            if new_events is None or (cid, eid) not in existing:
                apply(state, TimelineEvent(eid, etype, system, feed, occurred, received, refs, body), shipments)
            if (cid, eid) not in existing:
                fresh.append((cid, eid, occurred, via[0], via[1]))
        state["members"] = sorted(closure.members)
        projections.append({"order_id": cid, **finish(nodes[cid].value, state, shipments, tasks, aliases)})
    # Membership only grows (links are never removed): insert just the new pairs.
    entries_insert(fresh)
    later = set(recompute)
    done = [cls[cid] for cid in order_ids if cid not in later]
    if gained_now is None:
        members_store(done)
    else:
        members_store(done, known={c.order_id: set(c.members) - gained_now[c.order_id] for c in done})
    events_mark_matched(sorted({e[1] for e in fresh}))
    projections_upsert(projections)
    placed = {event_id for _, event_id in existing} | {row[1] for row in fresh}
    if recompute:
        placed |= _refresh_batch(recompute, None)
    return placed


def _runs_of(cls: dict[int, Closure], nodes: dict[int, NodeRow]) -> dict[int, list[str]]:
    runs_of: dict[int, list[str]] = defaultdict(list)
    shipment_like = [n for c in cls.values() for n in c.ids("shipment")]
    run_like = [n for c in cls.values() for n in c.ids("run")]
    if shipment_like and run_like:
        for source, target in Link.objects.filter(source_id__any=shipment_like, target_id__any=run_like).values_list(
            "source_id", "target_id"
        ):
            runs_of[source].append(nodes[target].value)
    return runs_of


def _closure_facts(
    closure: Closure, nodes: dict[int, NodeRow], runs_of: dict[int, list[str]]
) -> tuple[list[ShipmentFacts], list[str], dict[str, list[str]]]:
    shipment_nodes = [nodes[n] for n in closure.ids("shipment") if n in nodes]
    shipments = []
    for entity in (n for n in shipment_nodes if n.kind == "shipment"):
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
        if alias_id != closure.order_id and alias_id in nodes:
            aliases[nodes[alias_id].kind].append(nodes[alias_id].value)
    tasks = [nodes[n].value for n in closure.ids("task") if n in nodes]
    return shipments, tasks, dict(aliases)


# Only the parts of the body a projection reads: less JSON over the wire on the hot path.
_BODY_KEYS = ("body__customer", "body__service_level", "body__promised_by", "body__eta", "body__pod")


def _feed_slugs() -> dict[int, str]:
    # A handful of feeds: one small query per correlation batch, never a stale cache.
    from apps.feeds.models import Feed

    return dict(Feed.objects.values_list("id", "slug"))


_EVENT_COLUMNS = ("id", "type", "system", "feed_id", "occurred_at", "received_at", "refs", *_BODY_KEYS)


def _lean(row: tuple, slugs: dict[int, str]) -> tuple:
    body = {k[6:]: v for k, v in zip(_BODY_KEYS, row[7:], strict=True) if v is not None}
    return (*row[:3], slugs.get(row[3], ""), *row[4:7], body)


def _events_by_id(event_ids: list[int]) -> list[tuple]:
    slugs = _feed_slugs()
    if connection.vendor == "postgresql":
        return [
            (*row[:3], slugs.get(row[3], ""), *row[4:6], orjson.loads(row[6]), orjson.loads(row[7]))
            for row in events_read(event_ids)
        ]
    return [_lean(r, slugs) for r in CanonicalEvent.objects.filter(id__any=event_ids).values_list(*_EVENT_COLUMNS)]


def _events_naming(nodes: Iterable[NodeRow]) -> list[tuple]:
    """Every event naming any of these nodes: one indexed (kind, value) lookup per kind."""
    if connection.vendor == "postgresql":
        return _events_by_id(event_ids_naming({(n.kind, n.value) for n in nodes}))
    by_kind: dict[str, list[str]] = defaultdict(list)
    for n in nodes:
        by_kind[n.kind].append(n.value)
    rows: dict[int, tuple] = {}
    slugs = _feed_slugs()
    for kind, values in by_kind.items():
        for start in range(0, len(values), 2000):
            for row in CanonicalEvent.objects.filter(
                ref_rows__kind=kind, ref_rows__value__any=values[start : start + 2000]
            ).values_list(*_EVENT_COLUMNS):
                if row[0] not in rows:
                    rows[row[0]] = _lean(row, slugs)
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
