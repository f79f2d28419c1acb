"""An order's projection computed from its timeline: a pure function, so the incremental path
and `rebuild_projections` cannot disagree (a test checks they do not).

Stage (§3): the furthest stage the timeline reached, whatever the arrival order. Shipping stages
come from the order's least advanced shipment, and the order is *partial* while its shipments
disagree. Each system's view is its last report by occurred_at."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.common.time import parse_iso
from apps.events.taxonomy import STAGE_OF_TYPE, STAGE_ORDER, STAGE_RANK, EventType, Stage

SHIPPING_RANK = STAGE_RANK[Stage.SHIPPED]


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    event_id: int
    type: str
    system: str
    feed: str
    occurred_at: datetime
    received_at: datetime
    refs: dict[str, list[str]]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    id: str
    node_ids: frozenset[int]  # the shipment and its aliases
    ids_by_kind: dict[str, list[str]]  # tracking_number / lpn ids
    runs: list[str]


def _time(value: object) -> datetime | None:
    try:
        return parse_iso(str(value)) if value else None
    except ValueError:
        return None


def _names_shipment(event: TimelineEvent, shipment: ShipmentFacts) -> bool:
    if shipment.id in event.refs.get("shipment", []):
        return True
    return any(v in event.refs.get(kind, []) for kind, values in shipment.ids_by_kind.items() for v in values)


def compute(
    order_key: str,
    events: list[TimelineEvent],
    shipments: list[ShipmentFacts],
    tasks: list[str],
    aliases: dict[str, list[str]],
) -> dict[str, Any]:
    events = sorted(events, key=lambda e: (e.occurred_at, e.received_at, e.event_id))
    shipment_rank: dict[str, int | None] = {s.id: None for s in shipments}
    order_rank: int | None = None
    terminal: str | None = None
    systems: dict[str, dict[str, str] | None] = {"erp": None, "wms": None, "tms": None, "lastmile": None}
    facts: dict[str, Any] = {
        "customer": "",
        "service_level": "",
        "promised_by": None,
        "eta": None,
        "eta_feed": "",
        "pod": None,
        "on_hold": False,
    }
    for e in events:
        systems[e.system] = {"type": e.type, "occurred_at": e.occurred_at.isoformat()}
        stage = STAGE_OF_TYPE.get(e.type)
        if stage in (Stage.CANCELLED, Stage.RETURNED):
            terminal = stage
        elif stage is not None:
            rank = STAGE_RANK[stage]
            named = [s for s in shipments if _names_shipment(e, s)]
            if named and rank >= SHIPPING_RANK:
                for s in named:
                    current = shipment_rank[s.id]
                    shipment_rank[s.id] = rank if current is None else max(current, rank)
            else:
                order_rank = rank if order_rank is None else max(order_rank, rank)
        body = e.body
        if body.get("customer"):
            facts["customer"] = body["customer"]
        if body.get("service_level"):
            facts["service_level"] = body["service_level"]
        if body.get("promised_by"):
            facts["promised_by"] = _time(body["promised_by"])
        if body.get("eta"):  # events are in occurred_at order: the last one is the latest ETA
            facts["eta"], facts["eta_feed"] = _time(body["eta"]), e.feed
        if e.type == EventType.DELIVERY_COMPLETED:
            facts["pod"] = {**(body.get("pod") or {}), "delivered_at": e.occurred_at.isoformat()}
        if e.type == EventType.ORDER_ON_HOLD:
            facts["on_hold"] = True
        elif e.type == EventType.ORDER_HOLD_RELEASED:
            facts["on_hold"] = False

    ranks = list(shipment_rank.values())
    shipped_ranks = [r if r is not None else -1 for r in ranks]
    least = min(shipped_ranks) if shipped_ranks else -1
    overall = (
        max(r for r in (order_rank, least if least >= 0 else None) if r is not None)
        if (order_rank is not None or least >= 0)
        else None
    )
    stage = terminal or (STAGE_ORDER[overall] if overall is not None else "")
    partial = len(set(shipped_ranks)) > 1
    return {
        "order_key": order_key,
        "stage": stage,
        "partial": partial,
        "systems": systems,
        "shipments": [
            {
                "id": s.id,
                "stage": STAGE_ORDER[r] if (r := shipment_rank[s.id]) is not None else None,
                "tracking_numbers": sorted(s.ids_by_kind.get("tracking_number", [])),
                "lpns": sorted(s.ids_by_kind.get("lpn", [])),
                "delivery_runs": sorted(s.runs),
            }
            for s in sorted(shipments, key=lambda s: s.id)
        ],
        "warehouse_tasks": sorted(tasks),
        "aliases": {k: sorted(v) for k, v in aliases.items()},
        "event_count": len(events),
        "last_event_at": events[-1].occurred_at if events else None,
        **facts,
    }
