"""An order's ledger: the facts reconciliation and invoice holds compare, folded like the
projection (projection.py) — every slot a commutative merge, so the stored state after any
arrival order or duplication equals a fold of the whole timeline.

What it keeps, per order:
* the quantities per SKU the ERP ordered (its latest `order.created` / `order.changed` with
  lines), picked (`pick.completed` lines, the latest per warehouse task) and delivered (POD
  lines of `delivery.completed`, the latest per shipment);
* each shipment's delivery outcome (the latest of delivered / failed / attempted);
* each invoice (`invoice.created` / `posted` / `cancelled`) with its amount;
* the first time each kind of milestone was seen (the ERP said shipped, the WMS ship-confirmed,
  a carrier moved it, the last mile delivered, an invoice was raised…);
* each system's stage reports per entity, to find a later report that goes backwards.

The stored state is `fold["ledger"]`; `ledger_finish` turns it into the `ledger` column that the
finance app reads (apps/finance/facts.py)."""

import bisect
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apps.events.taxonomy import STAGE_OF_TYPE, STAGE_ORDER, STAGE_RANK, EventType, Stage, System

if TYPE_CHECKING:
    from .projection import TimelineEvent

Key = list[int]
ORDER_SCOPE = ""  # an outcome or stage report naming no shipment / task of the order
SHIPPED = STAGE_RANK[Stage.SHIPPED]
INVOICED = STAGE_RANK[Stage.INVOICED]
OUTCOME_OF_TYPE: dict[str, str] = {
    EventType.DELIVERY_COMPLETED: "delivered",
    EventType.DELIVERY_FAILED: "failed",
    EventType.DELIVERY_ATTEMPTED: "attempted",
}
INVOICE_SLOT_OF_TYPE: dict[str, str] = {
    EventType.INVOICE_CREATED: "created",
    EventType.INVOICE_POSTED: "posted",
    EventType.INVOICE_CANCELLED: "cancelled",
}
# The types whose lines the ledger counts: the hot path reads `lines` of these only.
LINE_TYPES = frozenset(
    {EventType.ORDER_CREATED, EventType.ORDER_CHANGED, EventType.PICK_COMPLETED, EventType.DELIVERY_COMPLETED}
)
MAX_STAGE_REPORTS = 200  # per scope: enough for any real order, bounded for a runaway feed
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def empty_ledger() -> dict[str, Any]:
    return {"ordered": None, "picked": {}, "pod": {}, "invoices": {}, "first": {}, "stages": {}}


def _later(current: list[Any] | None, key: Key) -> bool:
    return current is None or key > current[0]


def _lines(body: dict[str, Any]) -> dict[str, float] | None:
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        return None
    out: dict[str, float] = {}
    for line in lines:
        if isinstance(line, dict) and isinstance(line.get("sku"), str) and isinstance(line.get("qty"), int | float):
            out[line["sku"]] = round(out.get(line["sku"], 0) + float(line["qty"]), 6)
    return out or None


def _first(ledger: dict[str, Any], name: str, key: Key, detail: str) -> None:
    current = ledger["first"].get(name)
    if current is None or key < current[0]:
        ledger["first"][name] = [key, detail]


def ledger_apply(ledger: dict[str, Any], e: "TimelineEvent", key: Key, named_shipments: list[str]) -> None:
    """Fold one event into the ledger (projection.apply calls it for every event, with the ids
    of the order's shipments the event names)."""
    body = e.body
    shipment_scope = min(named_shipments) if named_shipments else ORDER_SCOPE
    describe = f"{e.type} from {e.feed}"
    ordering = e.type in (EventType.ORDER_CREATED, EventType.ORDER_CHANGED)
    if ordering and (lines := _lines(body)) is not None and _later(ledger["ordered"], key):
        ledger["ordered"] = [key, lines]
    if e.type == EventType.PICK_COMPLETED and (lines := _lines(body)) is not None:
        scope = ",".join(sorted(e.refs.get("warehouse_task", []))) or ORDER_SCOPE
        if _later(ledger["picked"].get(scope), key):
            ledger["picked"][scope] = [key, lines]
    if (outcome := OUTCOME_OF_TYPE.get(e.type)) is not None:
        reason = body.get("reason") or {}
        code = reason.get("code", "") if isinstance(reason, dict) else ""
        lines = _lines(body)
        # One POD for several shipments is each one's outcome; its lines are counted once, on the
        # first (the others carry {}: "counted there", not "no lines").
        for index, scope in enumerate(sorted(named_shipments) or [ORDER_SCOPE]):
            if _later(ledger["pod"].get(scope), key):
                ledger["pod"][scope] = [key, outcome, lines if index == 0 or lines is None else {}, code]
    if (slot := INVOICE_SLOT_OF_TYPE.get(e.type)) is not None:
        amount = body.get("amount") if isinstance(body.get("amount"), dict) else None
        for number in e.refs.get("invoice", []):
            invoice = ledger["invoices"].setdefault(number, {})
            current = invoice.get(slot)
            # created: the latest raising wins (a re-sent invoice with a corrected amount);
            # posted / cancelled: the first time it happened.
            if current is None or (key > current[0] if slot == "created" else key < current[0]):
                invoice[slot] = [key, amount if slot == "created" else None]
    _firsts(ledger, e, key, describe)
    stage = STAGE_OF_TYPE.get(e.type)
    if stage in STAGE_RANK:
        task = sorted(e.refs.get("warehouse_task", []))
        scope = f"{e.system}:{task[0] if task and e.system == System.WMS else shipment_scope}"
        # Kept sorted, and only the earliest MAX_STAGE_REPORTS: the same list whatever the
        # arrival order (the fold must equal a rebuild's, tests/correlation/test_rebuild.py).
        reports = ledger["stages"].setdefault(scope, [])
        bisect.insort(reports, [key, STAGE_RANK[stage], e.type])
        del reports[MAX_STAGE_REPORTS:]


def _firsts(ledger: dict[str, Any], e: "TimelineEvent", key: Key, describe: str) -> None:
    stage = STAGE_OF_TYPE.get(e.type)
    rank = STAGE_RANK.get(stage, -1) if stage else -1
    if e.system == System.ERP:
        _first(ledger, "erp", key, describe)
        if SHIPPED <= rank < INVOICED:
            _first(ledger, "erp_shipped", key, describe)
    if e.type == EventType.INVOICE_POSTED:
        _first(ledger, "erp_posted", key, describe)
    if e.type in (EventType.INVOICE_CREATED, EventType.INVOICE_POSTED):
        _first(ledger, "invoiced", key, describe)
    if e.system != System.ERP and SHIPPED <= rank < INVOICED:
        _first(ledger, "field_shipped", key, describe)
    if e.system == System.WMS and SHIPPED <= rank < INVOICED:
        _first(ledger, "wms_shipped", key, describe)
    if e.system in (System.TMS, System.LASTMILE) and SHIPPED <= rank < INVOICED:
        _first(ledger, "carrier_moved", key, describe)
    if e.type == EventType.DELIVERY_COMPLETED:
        _first(ledger, "delivered", key, describe)
    ids = [*e.refs.get("shipment", []), *e.refs.get("tracking_number", [])]
    if e.system in (System.TMS, System.LASTMILE) and ids:
        _first(ledger, "carrier_known", key, f"{', '.join(ids[:3])} ({e.system.upper()})")


def _at(key: Key) -> str:
    return (_EPOCH + timedelta(microseconds=key[0])).isoformat()


def _sum(slots: list[dict[str, float]]) -> dict[str, float] | None:
    if not slots:
        return None
    out: dict[str, float] = {}
    for lines in slots:
        for sku, qty in sorted(lines.items()):
            out[sku] = round(out.get(sku, 0) + qty, 6)  # no 0.1 + 0.2 != 0.3 between two runs
    return out


def _regressions(stages: dict[str, list[list[Any]]]) -> list[dict[str, Any]]:
    """A later report (by occurred_at) of a system about one entity that names a stage behind
    one of its own earlier reports. Equal times never count: their order is unknown."""
    found = []
    for scope, reports in sorted(stages.items()):
        furthest: list[Any] | None = None
        for key, rank, type_ in sorted(reports):
            if furthest is not None and rank < furthest[1] and key[0] > furthest[0][0]:
                system, _, entity = scope.partition(":")
                found.append(
                    {
                        "system": system,
                        "entity": entity or None,
                        "earlier": {"type": furthest[2], "stage": STAGE_ORDER[furthest[1]], "at": _at(furthest[0])},
                        "later": {"type": type_, "stage": STAGE_ORDER[rank], "at": _at(key), "event": key[2]},
                    }
                )
                break  # one finding per entity is enough to send someone to look
            if furthest is None or rank > furthest[1]:
                furthest = [key, rank, type_]
    return found


def _delivered(pod: dict[str, list[Any]], shipments: list[str]) -> dict[str, float] | None:
    """Delivered quantities per SKU, once every delivered shipment's POD carries lines (else
    None: part of the deliveries is unknown, not zero). A POD naming the order only stands for
    the shipments without a POD of their own, and counts once."""
    own = [pod[s] for s in shipments if s in pod]
    slots = [slot for slot in own if slot[1] == "delivered"]
    if ORDER_SCOPE in pod and (len(own) < len(shipments) or not shipments) and pod[ORDER_SCOPE][1] == "delivered":
        slots.append(pod[ORDER_SCOPE])
    if not slots or any(slot[2] is None for slot in slots):
        return None
    return _sum([slot[2] for slot in slots])


def ledger_finish(ledger: dict[str, Any], shipments: list[str] | None = None) -> dict[str, Any]:
    """The readable ledger (the projection's `ledger` column): times as ISO strings, event ids
    beside them, quantities summed over tasks and shipments (`shipments`: the order's)."""
    picked = ledger["picked"]
    # Picks by task: a pick naming no task is counted only when no task reported one.
    by_task = [slot[1] for scope, slot in sorted(picked.items()) if scope != ORDER_SCOPE] or [
        slot[1] for _, slot in sorted(picked.items())
    ]
    return {
        "ordered": ledger["ordered"][1] if ledger["ordered"] else None,
        "ordered_event": ledger["ordered"][0][2] if ledger["ordered"] else None,
        "picked": _sum(by_task),
        "delivered": _delivered(ledger["pod"], sorted(shipments or [])),
        "deliveries": [
            {
                "shipment": scope or None,
                "outcome": slot[1],
                "at": _at(slot[0]),
                "event": slot[0][2],
                "has_lines": bool(slot[2]),
                "reason": slot[3],
            }
            for scope, slot in sorted(ledger["pod"].items())
        ],
        "invoices": [
            {
                "invoice": number,
                "amount": slots["created"][1] if "created" in slots else None,
                "created_at": _at(slots["created"][0]) if "created" in slots else None,
                "created_event": slots["created"][0][2] if "created" in slots else None,
                "posted_at": _at(slots["posted"][0]) if "posted" in slots else None,
                "cancelled_at": _at(slots["cancelled"][0]) if "cancelled" in slots else None,
                "cancelled_event": slots["cancelled"][0][2] if "cancelled" in slots else None,
            }
            for number, slots in sorted(ledger["invoices"].items())
        ],
        "first": {
            name: {"at": _at(key), "event": key[2], "detail": detail}
            for name, (key, detail) in sorted(ledger["first"].items())
        },
        "regressions": _regressions(ledger["stages"]),
    }
