"""Reads for lookup: search any id, an order's projection, its timeline with the `via` story."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.db.models import Max, Q, QuerySet

from apps.events.models import CanonicalEvent, EventRef
from apps.events.taxonomy import RefKind

from .membership import orders_touched
from .models import Member, Node, OrderProjection, TimelineEntry
from .rules import ORDER_CLASS, is_run_level

SEARCH_ORDERS = 50  # orders listed per hit: a delivery run can carry thousands


@dataclass(frozen=True)
class SearchHit:
    kind: str
    id: str
    orders: list[str]  # at most SEARCH_ORDERS order keys, sorted (this page of them)
    orders_total: int  # how many orders the id is on in all


def search(*, q: str, limit: int = 50, orders_page: int = 1) -> list[SearchHit]:
    """Any id of any kind, compared exactly after trimming (§2 rule 5). Each hit lists one page
    of SEARCH_ORDERS of its orders (`orders_page`, from 1) and counts them all."""
    value = q.strip()
    if not value:
        return []
    offset = (max(orders_page, 1) - 1) * SEARCH_ORDERS
    hits = []
    for node in Node.objects.filter(value=value).order_by("kind")[:limit]:
        orders = _orders_of_node(node)
        keys = list(orders.order_by("value").values_list("value", flat=True)[offset : offset + SEARCH_ORDERS])
        total = len(keys) if offset == 0 and len(keys) < SEARCH_ORDERS else orders.count()
        hits.append(SearchHit(kind=node.kind, id=node.value, orders=keys, orders_total=total))
    return hits


def _orders_of_node(node: Node) -> QuerySet[Node, Any]:
    """The order nodes whose stored closure holds `node` (membership.orders_touched of one node,
    as a query to page and count instead of a set of every id): its members' orders, and the
    node itself if it is an order, or the order an alias is bound to."""
    orders = Node.objects.filter(id__in=Member.objects.filter(node_id=node.id).values("order_id")).values("value")
    own = node.id if node.kind == "order" else node.entity_id if node.kind in ORDER_CLASS else None
    if own is None:
        return orders
    return orders.union(Node.objects.filter(id=own).values("value"))


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


# An order's timeline is read a window at a time: a run shared by thousands of orders, or a
# long-lived order, can hold more events than a page or an API answer should carry.
TIMELINE_LIMIT = 500  # the API's default window
TIMELINE_MAX_LIMIT = 1000


@dataclass(frozen=True)
class TimelineKey:
    """Where an event sits in the timeline's order (occurred_at, received_at, event id); as a
    cursor, an opaque URL-safe string."""

    occurred_at: datetime
    received_at: datetime
    event_pk: int

    def encode(self) -> str:
        raw = orjson.dumps([self.occurred_at.isoformat(), self.received_at.isoformat(), self.event_pk])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "TimelineKey":
        """ValueError for anything this did not encode."""
        try:
            occurred, received, pk = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            key = cls(datetime.fromisoformat(occurred), datetime.fromisoformat(received), int(pk))
        except (ValueError, TypeError, binascii.Error) as exc:
            raise ValueError("not a timeline cursor") from exc
        if key.occurred_at.tzinfo is None or key.received_at.tzinfo is None:
            raise ValueError("not a timeline cursor")
        return key


@dataclass(frozen=True)
class TimelineWindow:
    events: list[dict[str, Any]]  # oldest first, as the whole timeline is
    older: TimelineKey | None  # the first event's key when events before it exist
    newer: TimelineKey | None  # the last event's key when events after it exist


def _beyond(key: TimelineKey, *, later: bool) -> Q:
    """Entries strictly after (or before) `key` in timeline order. The plain bound on
    occurred_at lets the (order, occurred_at) index start the scan there."""
    op = "gt" if later else "lt"
    bound = Q(**{f"occurred_at__{'gte' if later else 'lte'}": key.occurred_at})
    return bound & (
        Q(**{f"occurred_at__{op}": key.occurred_at})
        | Q(occurred_at=key.occurred_at, **{f"event__received_at__{op}": key.received_at})
        | Q(occurred_at=key.occurred_at, event__received_at=key.received_at, **{f"event_id__{op}": key.event_pk})
    )


def timeline_window(
    *,
    order: OrderProjection,
    limit: int = TIMELINE_LIMIT,
    after: TimelineKey | None = None,
    before: TimelineKey | None = None,
    newest: bool = False,
) -> TimelineWindow:
    """At most `limit` events of the order's timeline, oldest first: the first ones (or those
    just `after` a key), or with `newest` / `before` the last ones (before that key). One query
    with a LIMIT, read through the (order, occurred_at) index from the end it starts at."""
    limit = max(1, min(limit, TIMELINE_MAX_LIMIT))
    backwards = newest or before is not None
    rows = TimelineEntry.objects.filter(order_id=order.order_id).select_related("event__feed", "via", "via_event__feed")
    if after is not None:
        rows = rows.filter(_beyond(after, later=True))
    if before is not None:
        rows = rows.filter(_beyond(before, later=False))
    ordering = ("occurred_at", "event__received_at", "event_id")
    entries = list(rows.order_by(*(f"-{f}" for f in ordering) if backwards else ordering)[: limit + 1])
    more = len(entries) > limit
    entries = entries[:limit]
    if backwards:
        entries.reverse()
    keys = [TimelineKey(e.occurred_at, e.event.received_at, e.event_id) for e in entries[:1] + entries[-1:]]
    older = keys[0] if keys and (more if backwards else after is not None) else None
    newer = keys[-1] if keys and (before is not None if backwards else more) else None
    return TimelineWindow([_timeline_item(entry, order) for entry in entries], older, newer)


def _timeline_item(entry: TimelineEntry, order: OrderProjection) -> dict[str, Any]:
    """One event of the order's timeline, with why it is on this order."""
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
    return item


def stage_reports(*, order: OrderProjection, types: list[str]) -> list[tuple[str, str, str, datetime]]:
    """(system, event type, feed, latest occurred_at) of the order's events of these types (the
    ones that set a stage): each system's furthest stage, whatever the page's window shows. One
    grouped query over the (order, event_type, occurred_at) index; a few rows per system."""
    rows = (
        TimelineEntry.objects.filter(order_id=order.order_id, event_type__any=types)
        .values("event__system", "event_type", "event__feed__slug")
        .annotate(last=Max("occurred_at"))
        .order_by("last", "event__system", "event_type")
        .values_list("event__system", "event_type", "event__feed__slug", "last")
    )
    return list(rows)


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
        # Every kind named: the (kind, value) index then serves a lookup by value alone, one
        # probe per kind (by value alone it has no leading column to search on).
        refs = EventRef.objects.filter(kind__any=list(RefKind.values), value=ref.strip())
        qs = qs.filter(id__in=refs.values("event_id"))
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
