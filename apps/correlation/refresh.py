"""Bringing order timelines and projections up to date (correlation's second half).

`orders_refresh` is called by `services.events_correlate`, holding the locks of the orders a
batch touched (locks.py), and by the rebuild command. Which events an order's timeline holds
follows canonical-events.md §2 rule 4 (`_via`); the projection is a fold over them
(projection.py), so a batch's new events are folded into the stored state instead of
replaying the whole timeline whenever that gives the same result."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from django.db import connection

from apps.events.models import CanonicalEvent

from .graph import Closure, closures
from .ledger import LINE_TYPES
from .locks import GraphLocks
from .membership import BatchEdges, closures_grown, members_store
from .models import Link, Node, TimelineEntry
from .projection import ShipmentFacts, TimelineEvent, apply, empty_state, finish
from .rules import RUN_CLASS, is_run_level
from .writes import entries_insert, event_ids_naming, events_mark_matched, events_read, folds_read, projections_upsert


class NodeRow(NamedTuple):
    id: int
    kind: str
    value: str
    entity_id: int | None


def orders_refresh(
    order_ids: Iterable[int],
    *,
    new_event_ids: list[int] | None = None,
    new_event_rows: list[tuple] | None = None,
    created_nodes: set[int] | frozenset[int] = frozenset(),
    bound_aliases: set[int] | frozenset[int] = frozenset(),
    edges: BatchEdges | None = None,
    locks: GraphLocks | None = None,
    written: dict[int, dict[str, Any]] | None = None,
) -> set[int]:
    """Bring timeline membership and projections of these orders up to date.

    With `new_event_ids` (the hot path), those events are folded into each order's stored
    state (a new order: into the empty state). That is exact when the order's closure gained
    only nodes created by these same events (no older event can name them) and no alias in it
    that existed before was bound now (which could re-attribute older events to a shipment);
    other orders are recomputed from their whole timeline, which is also what happens without
    `new_event_ids`. With `edges` (the batch's new links and bindings), closures are the stored
    ones grown by those edges (membership.py) instead of walks of the graph.

    `locks`: the batch's graph locks; nodes a walk adds to a closure are locked before the
    events naming them are read (locks.py). None: the caller holds the graph (a rebuild).

    `written`: when given, filled with each projection written (order id → its field values),
    so that the later stages of the batch need not read them back.

    Returns the ids of the events now on the timeline of one of these orders."""
    order_list = sorted(set(order_ids))
    new_events = None
    if new_event_ids is not None:
        new_events = new_event_rows if new_event_rows is not None else events_by_id(new_event_ids)
    placed: set[int] = set()
    for start in range(0, len(order_list), 500):
        placed |= _refresh_batch(
            order_list[start : start + 500],
            new_events,
            created_nodes,
            bound_aliases,
            edges,
            locks=locks,
            written=written,
        )
    return placed


def _refresh_batch(
    order_ids: list[int],
    new_events: list[tuple] | None,
    created_nodes: set[int] | frozenset[int] = frozenset(),
    bound_aliases: set[int] | frozenset[int] = frozenset(),
    edges: BatchEdges | None = None,
    *,
    catch_up: bool = False,
    locks: GraphLocks | None = None,
    written: dict[int, dict[str, Any]] | None = None,
) -> set[int]:
    """One chunk of orders_refresh. Three ways, by what is known about the orders:

    * hot (`new_events` and `edges`): closures grown by the batch's edges, the new events folded
      into the stored state;
    * catch-up (`catch_up`): orders whose closure gained nodes older than the batch. Closures
      walked; the new events *and the older events naming the gained nodes* folded into the
      stored state — exact when no event already folded names a gained node (a gained shipment
      could otherwise change which shipment an already-folded event is counted for); orders
      where one does go the full way;
    * full (`new_events` None): every event of the closure folded into the empty state."""
    gained_now: dict[int, set[int]] | None = None
    if new_events is not None and edges is not None and not catch_up:
        cls, gained_now = closures_grown(order_ids, edges)
    else:
        cls = _walked(order_ids, locks)
    member_ids = {n for c in cls.values() for n in c.members}
    nodes = {
        nid: NodeRow(nid, kind, value, entity)
        for nid, kind, value, entity in Node.objects.filter(id__any=list(member_ids)).values_list(
            "id", "kind", "value", "entity_id"
        )
    }
    by_ref: dict[tuple[str, str], int] = {(n.kind, n.value): n.id for n in nodes.values()}
    states: dict[int, dict[str, Any]] = {}
    full: list[int] = []
    if new_events is None:
        candidates = events_naming(nodes.values())
        existing = set(TimelineEntry.objects.filter(order_id__any=order_ids).values_list("order_id", "event_id"))
    else:
        states = folds_read(order_ids)
        candidates = new_events
        if catch_up:
            candidates, full = _with_older_events(cls, nodes, states, new_events, created_nodes)
        # By event only: new events have no entries yet (a replayed or restored one may), so this
        # is a short probe of the event index, not one of the (order, event) cross product.
        wanted = set(order_ids)
        existing = {
            pair
            for pair in TimelineEntry.objects.filter(event_id__any=[e[0] for e in candidates]).values_list(
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
    fresh: list[tuple[int, int, datetime, str, int, int | None]] = []
    projections: list[dict[str, Any]] = []
    later: list[int] = []  # the hot path's orders that gained older nodes: caught up below
    skip = set(full)
    for cid in order_ids:
        if cid in skip:
            continue
        closure = cls[cid]
        shipments, tasks, aliases = _closure_facts(closure, nodes, runs_of)
        if new_events is not None:
            # An order without a stored fold starts from the empty state: exact when every node
            # of its closure was created by these events (a new order, the common case).
            state = states.get(cid) or empty_state()
            gained = set(closure.members) - set(state.get("members", []))
            if (bound_aliases - created_nodes) & closure.members.keys():
                # An alias that existed before was bound now: older events may now count for a
                # shipment. (An alias created now is named by these events only.)
                full.append(cid)
                continue
            if not catch_up and (
                gained - created_nodes or (gained_now is not None and gained_now[cid] - created_nodes)
            ):
                later.append(cid)
                continue
        else:
            state = empty_state()
        for index in sorted({i for n in closure.members for i in naming.get(n, [])}):
            eid, etype, system, feed, occurred, received, refs, body = candidates[index]
            via = _via(closure, refs, by_ref)
            if via is None:
                continue
            if new_events is None or (cid, eid) not in existing:
                apply(
                    state,
                    TimelineEvent(eid, etype, system, feed, occurred, received, refs, body, bool(body.get("_held"))),
                    shipments,
                )
            if (cid, eid) not in existing:
                fresh.append((cid, eid, occurred, etype, via[0], via[1]))
        state["members"] = sorted(closure.members)
        projections.append({"order_id": cid, **finish(nodes[cid].value, state, shipments, tasks, aliases)})
    # Membership only grows (links are never removed): insert just the new pairs.
    entries_insert(fresh)
    deferred = set(later) | set(full)
    done = [cls[cid] for cid in order_ids if cid not in deferred]
    if gained_now is None:
        members_store(done)
    else:
        members_store(done, known={c.order_id: set(c.members) - gained_now[c.order_id] for c in done})
    events_mark_matched(sorted({e[1] for e in fresh}))
    projections_upsert(projections)
    if written is not None:
        written.update((p["order_id"], p) for p in projections)
    placed = {event_id for _, event_id in existing} | {row[1] for row in fresh}
    if later:
        placed |= _refresh_batch(
            later, new_events, created_nodes, bound_aliases, catch_up=True, locks=locks, written=written
        )
    if full:
        placed |= _refresh_batch(full, None, locks=locks, written=written)
    return placed


def _walked(order_ids: list[int], locks: GraphLocks | None) -> dict[int, Closure]:
    """The orders' closures walked from the graph, with every member locked: a walk that had
    to lock new members is repeated, since a batch that held one may have linked it further
    before committing."""
    cls = closures(order_ids)
    while locks is not None and locks.more(n for c in cls.values() for n in c.members):
        cls = closures(order_ids)
    return cls


def _with_older_events(
    cls: dict[int, Closure],
    nodes: dict[int, NodeRow],
    states: dict[int, dict[str, Any]],
    new_events: list[tuple],
    created_nodes: set[int] | frozenset[int],
) -> tuple[list[tuple], list[int]]:
    """For catching up: the new events plus every event naming a node some order gained that
    is older than this batch, and the orders that cannot be caught up (an event already on
    their timeline names a node they gained), which take the full path."""
    gained: dict[int, set[int]] = {
        cid: set(closure.members) - set(states.get(cid, {}).get("members", [])) - created_nodes
        for cid, closure in cls.items()
    }
    named = {n for g in gained.values() for n in g if n in nodes}
    new_ids = {row[0] for row in new_events}
    older = [row for row in events_naming(nodes[n] for n in named) if row[0] not in new_ids] if named else []
    if not older:
        return new_events, []
    naming: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in older:
        for kind, values in row[6].items():
            for value in values:
                naming[(kind, value)].add(row[0])
    on_timeline: dict[int, set[int]] = defaultdict(set)
    for order_id, event_id in TimelineEntry.objects.filter(
        order_id__any=list(cls), event_id__any=[row[0] for row in older]
    ).values_list("order_id", "event_id"):
        on_timeline[order_id].add(event_id)
    full = []
    for cid, nodes_gained in gained.items():
        touching = {e for n in nodes_gained if n in nodes for e in naming.get((nodes[n].kind, nodes[n].value), ())}
        if touching & on_timeline.get(cid, set()):
            full.append(cid)
    return [*new_events, *older], full


def _runs_of(cls: dict[int, Closure], nodes: dict[int, NodeRow]) -> dict[int, list[str]]:
    runs_of: dict[int, list[str]] = defaultdict(list)
    shipment_like = sorted({n for c in cls.values() for n in c.ids("shipment")})
    run_like = {n for c in cls.values() for n in c.ids("run")}
    if shipment_like and run_like:
        # By source and target kind, the runs kept in Python: two `= ANY` arrays on the (source,
        # target) index make the planner cost every combination and scan the table instead.
        for source, target in Link.objects.filter(
            source_id__any=shipment_like, target_kind__any=sorted(RUN_CLASS)
        ).values_list("source_id", "target_id"):
            if target in run_like:
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
_BODY_KEYS = (
    "body__customer",
    "body__service_level",
    "body__promised_by",
    "body__eta",
    "body__pod",
    "body__amount",
    "body__reason",
    "body__lines",
)


def _feed_slugs() -> dict[int, str]:
    # A handful of feeds: one small query per correlation batch, never a stale cache.
    from apps.feeds.models import Feed

    return dict(Feed.objects.values_list("id", "slug"))


_EVENT_COLUMNS = ("id", "type", "system", "feed_id", "occurred_at", "received_at", "refs", *_BODY_KEYS, "held_until")


def _lean(row: tuple, slugs: dict[int, str]) -> tuple:
    body = {k[6:]: v for k, v in zip(_BODY_KEYS, row[7:-1], strict=True) if v is not None}
    if row[-1] is not None:
        body["_held"] = True  # as events_read marks it on PostgreSQL
    if row[1] not in LINE_TYPES:
        body.pop("lines", None)
    return (*row[:3], slugs.get(row[3], ""), *row[4:7], body)


def events_by_id(event_ids: list[int]) -> list[tuple]:
    slugs = _feed_slugs()
    if connection.vendor == "postgresql":
        return [
            (*row[:3], slugs.get(row[3], ""), *row[4:6], orjson.loads(row[6]), orjson.loads(row[7]))
            for row in events_read(event_ids)
        ]
    return [_lean(r, slugs) for r in CanonicalEvent.objects.filter(id__any=event_ids).values_list(*_EVENT_COLUMNS)]


def events_naming(nodes: Iterable[NodeRow]) -> list[tuple]:
    """Every event naming any of these nodes: one indexed (kind, value) lookup per kind."""
    if connection.vendor == "postgresql":
        return events_by_id(event_ids_naming({(n.kind, n.value) for n in nodes}))
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
