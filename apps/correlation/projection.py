"""An order's projection as a fold over its timeline events.

Every field is a commutative merge (a maximum, or "the latest by occurred_at, received_at,
id"), so folding new events into the stored state gives exactly what folding the whole timeline
from scratch gives, whatever the arrival order or duplication. That is what lets the hot path
update an order with only the new events, and `rebuild_projections` must agree with it (a test
checks). The state is stored as JSON beside the projection.

Stage (§3): the furthest stage the timeline reached. Shipping stages come from the order's least
advanced shipment, and the order is *partial* while its shipments disagree. Each system's view
is its last report by occurred_at. An event dated in the future beyond its feed's tolerance
counts, and moves nothing until its time comes (then the order is recomputed)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.common.time import parse_iso
from apps.events.taxonomy import STAGE_OF_TYPE, STAGE_ORDER, STAGE_RANK, EventType, Stage

from .ledger import empty_ledger, ledger_apply, ledger_finish

SHIPPING_RANK = STAGE_RANK[Stage.SHIPPED]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Key = list[int]  # [occurred µs, received µs, event id]: the timeline's total order


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
    # Future-dated and not yet released (CanonicalEvent.held_until): on the timeline and counted,
    # nothing else until the release sweep recomputes the order with it trusted.
    held: bool = False


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    id: str
    node_ids: frozenset[int]  # the shipment and its aliases
    ids_by_kind: dict[str, list[str]]  # tracking_number / lpn ids
    runs: list[str]


def _us(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def key_of(e: TimelineEvent) -> Key:
    return [_us(e.occurred_at), _us(e.received_at), e.event_id]


def _iso(value: object) -> str | None:
    try:
        return parse_iso(str(value)).astimezone(UTC).isoformat() if value else None
    except ValueError:
        return None


def _names_shipment(event: TimelineEvent, shipment: ShipmentFacts) -> bool:
    if shipment.id in event.refs.get("shipment", []):
        return True
    return any(v in event.refs.get(kind, []) for kind, values in shipment.ids_by_kind.items() for v in values)


def empty_state() -> dict[str, Any]:
    return {
        "systems": {},
        "facts": {},
        "order_rank": None,
        "shipment_rank": {},
        "terminal": None,
        "count": 0,
        "last": None,
        "ledger": empty_ledger(),
    }


def _latest(slot: dict[str, Any], name: str, key: Key, value: Any) -> None:
    current = slot.get(name)
    if current is None or key > current[0]:
        slot[name] = [key, value]


def apply(state: dict[str, Any], e: TimelineEvent, shipments: list[ShipmentFacts]) -> None:
    """Fold one event (not yet in the state) into the order's state."""
    key = key_of(e)
    state["count"] += 1
    if e.held:
        return
    if state["last"] is None or key > state["last"][0]:
        state["last"] = [key, e.occurred_at.isoformat()]
    _latest(state["systems"], e.system, key, {"type": e.type, "occurred_at": e.occurred_at.isoformat()})
    stage = STAGE_OF_TYPE.get(e.type)
    named = [s for s in shipments if _names_shipment(e, s)]
    # A state stored before the ledger existed: rebuild_projections fills it from the timeline.
    ledger_apply(state.setdefault("ledger", empty_ledger()), e, key, [s.id for s in named])
    if stage in (Stage.CANCELLED, Stage.RETURNED):
        if state["terminal"] is None or key > state["terminal"][0]:
            state["terminal"] = [key, stage]
    elif stage is not None:
        rank = STAGE_RANK[stage]
        if named and rank >= SHIPPING_RANK:
            for s in named:
                state["shipment_rank"][s.id] = max(rank, state["shipment_rank"].get(s.id, -1))
        else:
            state["order_rank"] = rank if state["order_rank"] is None else max(state["order_rank"], rank)
    body, facts = e.body, state["facts"]
    for name in ("customer", "service_level"):
        if body.get(name):
            _latest(facts, name, key, body[name])
    if body.get("promised_by"):
        _latest(facts, "promised_by", key, _iso(body["promised_by"]))
    if body.get("eta"):
        _latest(facts, "eta", key, [_iso(body["eta"]), e.feed])
    if e.type == EventType.DELIVERY_COMPLETED:
        _latest(facts, "pod", key, {**(body.get("pod") or {}), "delivered_at": e.occurred_at.isoformat()})
    if e.type in (EventType.ORDER_ON_HOLD, EventType.ORDER_HOLD_RELEASED):
        _latest(facts, "on_hold", key, e.type == EventType.ORDER_ON_HOLD)


def _fact(state: dict[str, Any], name: str, default: Any = None) -> Any:
    slot = state["facts"].get(name)
    return slot[1] if slot else default


def finish(
    order_key: str,
    state: dict[str, Any],
    shipments: list[ShipmentFacts],
    tasks: list[str],
    aliases: dict[str, list[str]],
) -> dict[str, Any]:
    ranks = [state["shipment_rank"].get(s.id, -1) for s in shipments]
    least = min(ranks) if ranks else -1
    candidates = [r for r in (state["order_rank"], least if least >= 0 else None) if r is not None]
    stage = state["terminal"][1] if state["terminal"] else (STAGE_ORDER[max(candidates)] if candidates else "")
    eta = _fact(state, "eta", [None, ""])
    systems = dict.fromkeys(("erp", "wms", "tms", "lastmile"))
    systems.update({name: slot[1] for name, slot in state["systems"].items()})
    return {
        "order_key": order_key,
        "stage": stage,
        "partial": len(set(ranks)) > 1,
        "systems": systems,
        "shipments": [
            {
                "id": s.id,
                "stage": STAGE_ORDER[r] if (r := state["shipment_rank"].get(s.id, -1)) >= 0 else None,
                "tracking_numbers": sorted(s.ids_by_kind.get("tracking_number", [])),
                "lpns": sorted(s.ids_by_kind.get("lpn", [])),
                "delivery_runs": sorted(s.runs),
            }
            for s in sorted(shipments, key=lambda s: s.id)
        ],
        "warehouse_tasks": sorted(tasks),
        "aliases": {k: sorted(v) for k, v in aliases.items()},
        "event_count": state["count"],
        "last_event_at": datetime.fromisoformat(state["last"][1]) if state["last"] else None,
        "customer": _fact(state, "customer", ""),
        "service_level": _fact(state, "service_level", ""),
        "promised_by": datetime.fromisoformat(p) if (p := _fact(state, "promised_by")) else None,
        "eta": datetime.fromisoformat(eta[0]) if eta[0] else None,
        "eta_feed": eta[1] if eta[0] else "",
        "pod": _fact(state, "pod"),
        "on_hold": _fact(state, "on_hold", False),
        "ledger": ledger_finish(state.get("ledger") or empty_ledger(), [s.id for s in shipments]),
        "fold": state,
    }


def compute(
    order_key: str,
    events: list[TimelineEvent],
    shipments: list[ShipmentFacts],
    tasks: list[str],
    aliases: dict[str, list[str]],
) -> dict[str, Any]:
    """The projection from the whole timeline (the rebuild path, and the reference)."""
    state = empty_state()
    for e in events:
        apply(state, e, shipments)
    return finish(order_key, state, shipments, tasks, aliases)
