"""Reads for lookup: search any id, an order's projection, its timeline with the `via` story."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from apps.events.models import CanonicalEvent, EventRef

from .membership import orders_touched
from .models import Member, Node, OrderProjection, TimelineEntry
from .rules import is_run_level


@dataclass(frozen=True)
class SearchHit:
    kind: str
    id: str
    orders: list[str]


def search(*, q: str, limit: int = 50) -> list[SearchHit]:
    """Any id of any kind, compared exactly after trimming (§2 rule 5)."""
    value = q.strip()
    if not value:
        return []
    nodes = list(Node.objects.filter(value=value).order_by("kind")[:limit])
    hits = []
    for node in nodes:
        order_ids = orders_touched([node.id])  # stored closures: two index probes, not a walk
        keys = sorted(Node.objects.filter(id__in=order_ids).values_list("value", flat=True))
        hits.append(SearchHit(kind=node.kind, id=node.value, orders=keys))
    return hits


def orders_of_refs(refs: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """(kind, id) → the keys of the orders whose stored closure holds that id now (an order id
    names itself even before it exists). Aliases count through their entity."""
    out: dict[tuple[str, str], list[str]] = {}
    for kind, value in refs:
        if kind == "order":
            out[(kind, value)] = [value]
    others = [(k, v) for k, v in refs if k != "order"]
    if not others:
        return out
    nodes = Node.objects.filter(value__in={v for _, v in others}).values_list("id", "kind", "value", "entity_id")
    wanted = set(others)
    found = {(kind, value): entity or nid for nid, kind, value, entity in nodes if (kind, value) in wanted}
    for ref, nid in found.items():
        order_ids = orders_touched([nid])
        out[ref] = sorted(Node.objects.filter(id__in=order_ids).values_list("value", flat=True))
    return out


def order_get(*, order_key: str) -> OrderProjection | None:
    return OrderProjection.objects.filter(order_key=order_key.strip()).first()


def order_list(*, stage: str | None = None) -> QuerySet[OrderProjection]:
    qs = OrderProjection.objects.order_by("-last_event_at")
    if stage:
        qs = qs.filter(stage=stage)
    return qs


def timeline(*, order: OrderProjection) -> list[dict[str, Any]]:
    """The order's events by occurred_at then received_at, each with why it is on this order."""
    rows = (
        TimelineEntry.objects.filter(order_id=order.order_id)
        .select_related("event__feed", "via", "via_event__feed")
        .order_by("occurred_at", "event__received_at", "event_id")
    )
    out = []
    for entry in rows:
        e = entry.event
        item: dict[str, Any] = {
            "type": e.type,
            "occurred_at": e.occurred_at,
            "occurred_offset_minutes": e.occurred_offset_minutes,
            "received_at": e.received_at,
            "system": e.system,
            "feed": e.feed.slug,
            "event_id": e.event_key,
            "refs": e.refs,
        }
        if e.source_status:
            item["source_status"] = e.source_status
        for key in ("reason", "location", "pod", "eta", "lines", "amount"):
            if key in e.body:
                item[key] = e.body[key]
        if e.future_dated:
            # Sent dated beyond its feed's tolerance; `held_until` while it moves no stage yet.
            item["future_dated"] = True
            item["held_until"] = e.held_until
        item["via"] = _via(entry, order)
        out.append(item)
    return out


def _via(entry: TimelineEntry, order: OrderProjection) -> dict[str, Any]:
    via = entry.via
    established = entry.via_event
    explanation = (
        f"names the order {order.order_key}"
        if via.id == order.order_id
        else f"names {via.kind} {via.value}, linked to {order.order_key}"
        + (f" by {established.type} ({established.feed.slug} {established.event_key})" if established else "")
    )
    return {
        "kind": via.kind,
        "id": via.value,
        "established_by": (
            {"event_id": established.event_key, "feed": established.feed.slug, "type": established.type}
            if established
            else None
        ),
        "explanation": explanation,
    }


def unmatched_events() -> QuerySet[CanonicalEvent]:
    return CanonicalEvent.objects.filter(matched=False).select_related("feed").order_by("-received_at")


# --- Reads for the web pages (appended; the functions above are shared with the API) ---------


def order_stages(*, order_keys: list[str]) -> dict[str, str]:
    """order_key → stage ("" when nothing with a stage has reached it), one query."""
    return dict(OrderProjection.objects.filter(order_key__in=order_keys).values_list("order_key", "stage"))


def unmatched_event_list(
    *, feed_slug: str | None = None, type_: str | None = None, ref: str | None = None
) -> QuerySet[CanonicalEvent]:
    """Events on no order yet, newest received first; `ref` is any id they carry, compared exactly."""
    qs = unmatched_events()
    if feed_slug:
        qs = qs.filter(feed__slug=feed_slug)
    if type_:
        qs = qs.filter(type=type_)
    if ref and ref.strip():
        qs = qs.filter(id__in=EventRef.objects.filter(value=ref.strip()).values("event_id"))
    return qs


def orders_placing(refs_by_event: dict[int, dict[str, list[str]]]) -> dict[int, list[tuple[int, str]]]:
    """event id → the (order node id, order key) pairs whose timeline the event belongs on by the
    graph as committed (stored closures, canonical-events.md §2 rule 4: a node reached only as a
    run counts for run-level events alone). Read-only and lock-free: what an early stage can know
    before correlation runs. Correlation may add orders (the event's own links), never remove."""
    pairs = {(kind, value) for refs in refs_by_event.values() for kind, values in refs.items() for value in values}
    if not pairs:
        return {}
    ids = {
        (kind, value): nid
        for nid, kind, value in Node.objects.filter(value__any=sorted({v for _, v in pairs})).values_list(
            "id", "kind", "value"
        )
        if (kind, value) in pairs
    }
    memberships: dict[int, list[tuple[int, str]]] = {}
    for order_id, node_id, role in Member.objects.filter(node_id__any=list(ids.values())).values_list(
        "order_id", "node_id", "role"
    ):
        memberships.setdefault(node_id, []).append((order_id, role))
    keys = dict(
        Node.objects.filter(id__any=sorted({o for ms in memberships.values() for o, _ in ms})).values_list(
            "id", "value"
        )
    )
    out: dict[int, list[tuple[int, str]]] = {}
    for event_id, refs in refs_by_event.items():
        run_level = is_run_level(refs)
        found = {
            order_id
            for kind, values in refs.items()
            for value in values
            for order_id, role in memberships.get(ids.get((kind, value), -1), [])
            if role != "run" or run_level
        }
        if found:
            out[event_id] = sorted((order_id, keys[order_id]) for order_id in found if order_id in keys)
    return out
