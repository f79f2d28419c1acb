"""Stored closures (Member rows): which orders a batch touches, and each order's closure as it
was before the batch, grown in memory by the batch's own new links and bindings.

Why it is exact. A link is only ever made between two ids named by one event, and a binding
between an alias and an entity named by one event. So if an order's closure grows in a batch,
the growth starts at a node that was already a member and that the batch names; and if the
batch names a member, the order is touched. Hence:

* the orders a batch touches = the orders whose stored closure holds a node the batch names,
  plus the order entities it names (`orders_touched`): one index probe, where walking the
  graph backwards took a dozen;
* an order's new closure = its stored closure grown through the batch's new edges only
  (`closures_grown`), as long as everything it gains was created by this batch (a node created
  now has no older edges). When it gains an older node (a shipment known before, now linked to
  the order), the caller recomputes that order from the whole graph (`graph.closures`), as it
  already did for its projection.

Roles follow §2 rule 4 as in graph.closures: aliases of order and shipment members, order →
task / shipment, task → shipment, shipment → run. `via` may name a different (equally valid)
establishing event than a walk from scratch when a batch adds a second path to a member."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from apps.common.lookups import array_param as literal

from .graph import Closure, Member
from .models import Member as MemberRow
from .models import Node
from .rules import ORDER_CLASS, RUN_CLASS, SHIPMENT_CLASS, TASK_CLASS

# (role of the member, kind of the link's target) → role of the target in the closure
_NEXT_ROLE: dict[tuple[str, str], str] = {
    **{("order", kind): "task" for kind in TASK_CLASS},
    **{("order", kind): "shipment" for kind in SHIPMENT_CLASS},
    **{("task", kind): "shipment" for kind in SHIPMENT_CLASS},
    **{("shipment", kind): "run" for kind in RUN_CLASS},
}
_ALIASED_ROLES = frozenset({"order", "shipment"})


@dataclass
class BatchEdges:
    """The edges a batch may have added: its links (both directions) and the bindings it made."""

    links: dict[int, list[tuple[int, str, int]]] = field(default_factory=lambda: defaultdict(list))
    aliases: dict[int, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(
        cls, links: dict[tuple[int, int], tuple[str, int]], bindings: dict[int, tuple[int, int]], bound: set[int]
    ) -> "BatchEdges":
        edges = cls()
        for (source, target), (target_kind, event) in links.items():
            edges.links[source].append((target, target_kind, event))
        for alias in bound:
            entity, event = bindings[alias]
            edges.aliases[entity].append((alias, event))
            edges.aliases[alias].append((entity, event))
        return edges


def members_of(order_ids: list[int]) -> dict[int, list[Member]]:
    """The stored closures of these orders (an order never refreshed has none)."""
    out: dict[int, list[Member]] = defaultdict(list)
    if not order_ids:
        return out
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT order_id, node_id, role, via_event_id FROM correlation_member "
                "WHERE order_id = ANY(%s::bigint[])",
                [literal(order_ids)],
            )
            rows: Iterable[tuple[int, int, str, int | None]] = cursor.fetchall()
    else:
        rows = MemberRow.objects.filter(order_id__any=order_ids).values_list(
            "order_id", "node_id", "role", "via_event_id"
        )
    for order_id, node_id, role, via_event_id in rows:
        out[order_id].append(Member(node_id, role, via_event_id))
    return out


def closures_grown(order_ids: list[int], edges: BatchEdges) -> tuple[dict[int, Closure], dict[int, set[int]]]:
    """Each order's stored closure grown through the batch's edges. Returns the closures and,
    per order, the node ids it gained (the caller checks they were all created now)."""
    stored = members_of(order_ids)
    closures: dict[int, Closure] = {}
    gained: dict[int, set[int]] = {}
    for order_id in order_ids:
        closure = Closure(order_id)
        for member in stored.get(order_id, []):
            closure.members[member.node_id] = member
        before = set(closure.members)  # empty for an order seen for the first time: it gains itself
        closure.add(order_id, "order", None)
        frontier = list(closure.members)
        while frontier:
            member = closure.members[frontier.pop()]
            if member.role in _ALIASED_ROLES:
                for other, event in edges.aliases.get(member.node_id, ()):
                    if closure.add(other, member.role, event):
                        frontier.append(other)
            for target, target_kind, event in edges.links.get(member.node_id, ()):
                role = _NEXT_ROLE.get((member.role, target_kind))
                if role is not None and closure.add(target, role, event):
                    frontier.append(target)
        closures[order_id] = closure
        gained[order_id] = set(closure.members) - before
    return closures, gained


def members_store(closures: Iterable[Closure], *, known: dict[int, set[int]] | None = None) -> None:
    """Store the members not stored yet (`known`: what each order has stored, when the caller
    knows; otherwise every member is offered and existing rows are kept)."""
    rows = [
        (c.order_id, m.node_id, m.role, m.via_event_id)
        for c in closures
        for m in c.members.values()
        if known is None or m.node_id not in known.get(c.order_id, ())
    ]
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO correlation_member (order_id, node_id, role, via_event_id) "
                "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[]) ON CONFLICT DO NOTHING",
                [
                    literal([r[0] for r in rows]),
                    literal([r[1] for r in rows]),
                    literal([r[2] for r in rows]),
                    [r[3] for r in rows],
                ],
            )
        return
    MemberRow.objects.bulk_create(
        [MemberRow(order_id=o, node_id=n, role=r, via_event_id=v) for o, n, r, v in rows],
        ignore_conflicts=True,
        batch_size=2000,
    )


def orders_touched(node_ids: Iterable[int]) -> set[int]:
    """The orders whose closure holds any of these nodes (as stored before this batch's refresh),
    and the order entities among them (an order id, or an order alias bound to its order)."""
    nodes = list(set(node_ids))
    if not nodes:
        return set()
    orders: set[int] = set()
    for nid, kind, entity in Node.objects.filter(id__any=nodes, kind__any=list(ORDER_CLASS)).values_list(
        "id", "kind", "entity_id"
    ):
        if kind == "order":
            orders.add(nid)
        elif entity is not None:
            orders.add(entity)
    orders.update(MemberRow.objects.filter(node_id__any=nodes).values_list("order_id", flat=True).distinct())
    return orders


def members_backfill(batch: int = 500) -> int:
    """Store the closure of every order that has a projection (a store built before Member
    existed). Walks the graph once per order batch; returns the number of orders."""
    from .graph import closures
    from .models import OrderProjection

    order_ids = list(OrderProjection.objects.order_by("order_id").values_list("order_id", flat=True))
    for start in range(0, len(order_ids), batch):
        members_store(closures(order_ids[start : start + batch]).values())
    return len(order_ids)
