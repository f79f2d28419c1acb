"""Walking the identity graph in batches: a handful of queries for any number of orders.

`closures(order_ids)` follows canonical-events.md §2 rule 4: the order and its aliases; the
warehouse tasks linked to it; the shipments (with their aliases) linked to the order or its
tasks; the runs and loads carrying those shipments. Every member remembers the event that
brought it in, which is the timeline's `via` explanation.
`orders_reaching(node_ids)` walks the same edges backwards: which orders' closures hold
any of these nodes."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models import Link, Node
from .rules import ORDER_CLASS, RUN_CLASS, SHIPMENT_CLASS, TASK_CLASS


@dataclass
class Member:
    node_id: int
    role: str  # "order" | "task" | "shipment" | "run"
    via_event_id: int | None  # the event that brought this node into the closure


@dataclass
class Closure:
    order_id: int
    members: dict[int, Member] = field(default_factory=dict)

    def add(self, node_id: int, role: str, via_event_id: int | None) -> bool:
        if node_id in self.members:
            return False
        self.members[node_id] = Member(node_id, role, via_event_id)
        return True

    def ids(self, *roles: str) -> set[int]:
        return {m.node_id for m in self.members.values() if m.role in roles}


def _links(sources: Iterable[int], kinds: Iterable[str]) -> dict[int, list[tuple[int, int | None]]]:
    """source → [(target, event)] for links to nodes of the given kinds."""
    out: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    source_list = list(set(sources))
    for start in range(0, len(source_list), 2000):
        rows = Link.objects.filter(
            source_id__any=source_list[start : start + 2000], target_kind__any=list(kinds)
        ).values_list("source_id", "target_id", "event_id")
        for source, target, event in rows:
            out[source].append((target, event))
    return out


def _alias_edges(node_ids: Iterable[int]) -> dict[int, list[tuple[int, int | None]]]:
    """Both directions of alias bindings: entity → its aliases, alias → its entity."""
    ids = list(set(node_ids))
    out: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        for alias, entity, event in Node.objects.filter(entity_id__any=chunk).values_list(
            "id", "entity_id", "bound_by_event_id"
        ):
            out[entity].append((alias, event))
        for alias, entity, event in Node.objects.filter(id__any=chunk, entity__isnull=False).values_list(
            "id", "entity_id", "bound_by_event_id"
        ):
            out[alias].append((entity, event))
    return out


def _expand_aliases(closures: list[Closure], role: str) -> None:
    """Add the aliases/entities of every member of `role` (repeat: alias → entity → its aliases)."""
    for _ in range(2):
        edges = _alias_edges(n for c in closures for n in c.ids(role))
        for c in closures:
            for node in list(c.ids(role)):
                for other, event in edges.get(node, []):
                    c.add(other, role, event if event is not None else c.members[node].via_event_id)


def closures(order_ids: Iterable[int]) -> dict[int, Closure]:
    result = {o: Closure(o) for o in set(order_ids)}
    cs = list(result.values())
    for c in cs:
        c.add(c.order_id, "order", None)
    _expand_aliases(cs, "order")
    for source_role, target_kinds, role in (
        ("order", TASK_CLASS, "task"),
        ("order", SHIPMENT_CLASS, "shipment"),
        ("task", SHIPMENT_CLASS, "shipment"),
    ):
        links = _links((n for c in cs for n in c.ids(source_role)), target_kinds)
        for c in cs:
            for node in c.ids(source_role):
                for target, event in links.get(node, []):
                    c.add(target, role, event)
    _expand_aliases(cs, "shipment")
    links = _links((n for c in cs for n in c.ids("shipment")), RUN_CLASS)
    for c in cs:
        for node in c.ids("shipment"):
            for target, event in links.get(node, []):
                c.add(target, "run", event)
    return result


def _order_entities(node_ids: set[int]) -> set[int]:
    """Order nodes among these, with order aliases replaced by the order they name."""
    rows = Node.objects.filter(id__any=list(node_ids), kind__any=list(ORDER_CLASS)).values_list(
        "id", "kind", "entity_id"
    )
    return {nid if kind == "order" else entity for nid, kind, entity in rows if kind == "order" or entity}


def orders_reaching(node_ids: Iterable[int]) -> set[int]:
    nodes = set(node_ids)
    if not nodes:
        return set()
    kinds = dict(Node.objects.filter(id__any=list(nodes)).values_list("id", "kind"))
    runs = {n for n, k in kinds.items() if k in RUN_CLASS}
    shipments = {n for n, k in kinds.items() if k in SHIPMENT_CLASS}
    tasks = {n for n, k in kinds.items() if k in TASK_CLASS}
    orders = {n for n, k in kinds.items() if k in ORDER_CLASS}
    for targets in _links(runs, SHIPMENT_CLASS).values():
        shipments.update(t for t, _ in targets)
    for _ in range(2):  # tracking number → shipment → its other aliases
        for targets in _alias_edges(shipments).values():
            shipments.update(t for t, _ in targets)
    for targets in _links(shipments, TASK_CLASS).values():
        tasks.update(t for t, _ in targets)
    for targets in _links(shipments | tasks, ORDER_CLASS).values():
        orders.update(t for t, _ in targets)
    return _order_entities(orders)
