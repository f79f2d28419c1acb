"""Correlation: from stored events to nodes, links, timelines and order projections.

Runs inside the transaction of the batch being processed (the pipeline's `correlate` stage,
apps/pipeline/stages.py). Batches correlate in parallel: each holds row locks on the nodes it
names, the orders it touches and the nodes its walks reach (locks.py), so two batches that
share nothing never wait for each other, and one that depends on another's links, bindings or
events sees them committed (no lost late binding between two concurrent messages).
Everything is set-based: a message of 1,000 events costs a fixed number of queries."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from apps.common.time import now

from .locks import GraphLocks, LocksBusy
from .membership import BatchEdges, orders_touched
from .models import Node
from .refresh import events_by_id, orders_refresh
from .rules import alias_bindings, link_pairs
from .writes import (
    events_mark_unmatched,
    links_insert,
    nodes_upsert,
)


class Correlated(NamedTuple):
    orders: set[int]  # the order nodes the batch touched
    placed: set[int]  # the events now on the timeline of one of them (the batch's and older ones)
    projections: dict[int, dict[str, Any]]  # order id → the projection written (OrderProjection fields)


# Attempts that start over without waiting when a node is busy, before one that waits (locks.py).
LOCK_RESTARTS = 5


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


def events_correlate(event_ids: list[int]) -> Correlated:
    """Link the ids these events carry, bind aliases, then bring the timelines and projections
    of every order they touch up to date. Returns the touched orders and the events placed.

    Runs in a savepoint: when a node it needs is held by another batch, the attempt is rolled
    back and started over holding everything it wanted (locks.py). The locks of the attempt
    that succeeds are held until the caller's transaction commits, so the stages after this
    one (exceptions, SLA) work on the touched orders under them too."""
    if not event_ids:
        return Correlated(set(), set(), {})
    rows = sorted(events_by_id(event_ids))  # one read serves linking and the projections
    prelock: set[int] = set()
    for attempt in range(LOCK_RESTARTS + 1):
        locks = GraphLocks(wait=attempt == LOCK_RESTARTS)
        try:
            with transaction.atomic():
                return _correlate(rows, locks, prelock)
        except LocksBusy as busy:
            prelock = busy.wanted
    raise AssertionError("unreachable: the last attempt waits instead of raising LocksBusy")


def _correlate(rows: list[tuple], locks: GraphLocks, prelock: set[int]) -> Correlated:
    events = [(row[0], row[6]) for row in rows]
    node_ids, created = nodes_ensure((k, v) for _, refs in events for k, vs in refs.items() for v in vs)
    locks.take(prelock | set(node_ids.values()))
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
    locks.more(orders)  # what was read so far depends on named nodes only: nothing to re-read
    written: dict[int, dict[str, Any]] = {}
    placed = orders_refresh(
        orders,
        written=written,
        new_event_ids=[e for e, _ in events],
        new_event_rows=rows,
        created_nodes=created,
        bound_aliases=bound,
        edges=BatchEdges.of(links, bindings, bound),
        locks=locks,
    )
    # Stored as matched (ingestion's STORE_PRESUMED_MATCHED) or not: either way, set it right.
    events_mark_unmatched([e for e, _ in events if e not in placed])
    return Correlated(orders, placed, written)


def _bind_aliases(bindings: dict[int, tuple[int, int]], at: datetime) -> set[int]:
    """Compare-and-set per alias (`entity IS NULL`): the first binding wins, with its provenance.
    Returns the aliases bound now (the batch holds the aliases' locks, so the read is stable)."""
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


def events_corrected(event_ids: list[int], *, written: dict[int, dict[str, Any]] | None = None) -> set[int]:
    """Events changed in place (apps/events/corrections.py): their timeline entries take the
    new type and time, and every order holding one is recomputed from its whole timeline (a
    fold cannot take an event back). Runs after `events_correlate` of the same batch, whose
    locks cover these orders (the corrected events are among the batch's events). Returns the
    orders recomputed."""
    if not event_ids:
        return set()
    from apps.events.models import CanonicalEvent

    from .models import TimelineEntry

    entries = TimelineEntry.objects.filter(event_id__in=event_ids)
    source = CanonicalEvent.objects.filter(id=OuterRef("event_id"))
    entries.update(
        event_type=Subquery(source.values("type")[:1]), occurred_at=Subquery(source.values("occurred_at")[:1])
    )
    orders = set(entries.values_list("order_id", flat=True))
    if orders:
        orders_refresh(orders, written=written)
    return orders


def message_events_unplaced(message_id: UUID) -> None:
    """The events this message stored that are on no order's timeline go back on the unmatched
    list. For a message that became a dead letter after its `store` committed its new events
    presumed matched (apps/pipeline/stages.py, "Two transactions"): correlation never ran on
    them, and an agent must find them among the unmatched."""
    from apps.events.models import CanonicalEvent

    events_mark_unmatched(
        list(CanonicalEvent.objects.filter(message_id=message_id, matched=True).values_list("id", flat=True))
    )
