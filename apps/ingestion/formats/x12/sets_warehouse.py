"""940 Warehouse Shipping Order and 945 Warehouse Shipping Advice → one event per set (type
from `x12.transaction_set`: 940 → order.released, 945 → shipment.confirmed).

940: W05 (W0501 order status, W0502 depositor order number → order, W0503 purchase order →
customer_po), N1 ship-to, N9 references, G62 requested dates (delivery requested or deliver
no later than → promised_by), W66 carrier, LX/W01 lines. It carries no date of its own: it
was released when the document was made (GS04/GS05).
945: W06 (W0601 reporting code, W0602 depositor order → order, W0603 ship date, W0604
shipment id → shipment, W0606 purchase order → customer_po), W27 carrier, LX/W12 lines with
the quantity shipped."""

from datetime import datetime
from typing import Any

from .codes import SET_TABLE
from .common import (
    PARTY_TAGS,
    Parties,
    RefBag,
    SetEnv,
    compact,
    g62,
    line,
    pick_sku,
    set_code,
)
from .sets_856 import MAX_LINES, lines_attributes
from .times import iso, stamp
from .tokens import Segment

CANCEL_STATUSES = ("F", "D")  # element 473: cancel, delete
# G62 date qualifiers (element 432) that state the latest acceptable delivery, best first.
PROMISE_QUALIFIERS = ("54", "02", "70", "68")


class _Body:
    """What 940 and 945 share: the header references, parties, dates and LX lines."""

    def __init__(self) -> None:
        self.bag = RefBag()
        self.parties = Parties()
        self.dates: dict[str, Segment] = {}
        self.attrs: dict[str, Any] = {}
        self.lines: list[dict[str, Any]] = []
        self.line_ids: list[dict[str, Any]] = []
        self.in_lines = False
        self.line_refs: dict[str, str] = {}  # an LX's N9s before its line
        self.lx_line: dict[str, Any] | None = None  # the line of the current LX

    def common(self, seg: Segment) -> None:
        tag = seg.tag
        if tag == "LX":
            self.in_lines, self.line_refs, self.lx_line = True, {}, None
        elif tag == "N9" and self.in_lines:  # a line's own references (item numbers…): attributes
            target = self.lx_line.setdefault("refs", {}) if self.lx_line is not None else self.line_refs
            target[seg.el(1)] = seg.el(2)
        elif tag == "G69" and self.lx_line is not None:
            self.lx_line["description"] = seg.el(1)
        elif tag in ("N9", "L11"):
            if tag == "N9":
                self.bag.add(seg.el(1), seg.el(2))
            else:
                self.bag.add(seg.el(2), seg.el(1))
        elif tag in PARTY_TAGS and not self.in_lines:
            self.parties.feed(seg)
        elif tag == "G62":
            self.dates.setdefault(seg.el(1), seg)
        elif tag == "NTE":
            self.attrs.setdefault("notes", []).append(seg.el(2))

    def add_line(self, pairs: list[tuple[str, str]], qty: str, uom: str) -> None:
        sku = pick_sku(pairs)
        made = line(sku, qty, uom)
        if made is None or sku is None:
            return
        self.lines.append(made)
        entry: dict[str, Any] = {"sku_qualifier": sku[0], "ids": dict(pairs)}
        if self.line_refs:
            entry["refs"] = dict(self.line_refs)
        self.line_ids.append(entry)
        self.lx_line = entry if self.in_lines else None

    def finish(self, env: SetEnv, event: dict[str, Any], extra: dict[str, Any]) -> None:
        if self.lines:
            event["lines"] = self.lines[:MAX_LINES]
        event["attributes"] = compact(
            {
                **extra,
                **self.attrs,
                **self.bag.attributes(),
                **lines_attributes(self.lines, self.line_ids),
                "parties": self.parties.by_code,
                "dates": {q: d.el(2) + (f" {d.el(4)}" if d.el(4) else "") for q, d in self.dates.items()},
                "x12": env.envelope(),
            }
        )


def _nothing_links(env: SetEnv, what: str, event_id: str) -> None:
    env.reject(f"nothing links this advice to an order or shipment: {what}", event_id)


def map_940(env: SetEnv) -> None:
    body = _Body()
    w05: tuple[Segment, int] | None = None
    for pos, seg in enumerate(env.tx.segments[1:-1], start=2):
        tag = seg.tag
        if tag == "W05":
            w05 = w05 or (seg, pos)
        elif tag == "W01":
            # W0103 is the U.P.C. case code; W0104/05 and W0106/07 qualified product ids.
            pairs = [("UA", seg.el(3)), (seg.el(4), seg.el(5)), (seg.el(6), seg.el(7))]
            body.add_line([(q, v) for q, v in pairs if v], seg.el(1), seg.el(2))
        elif tag == "W66":
            body.attrs.setdefault(
                "carrier",
                compact(
                    {"payment": seg.el(1), "transport_method": seg.el(2), "routing": seg.el(5), "scac": seg.el(10)}
                ),
            )
        elif tag == "W76":
            body.attrs["totals"] = compact({"quantity": seg.el(1), "weight": seg.el(2), "unit": seg.el(3)})
        else:
            body.common(seg)
    if w05 is None:
        env.reject("no W05 segment; a 940 names its order in W0502 (depositor order number)")
        return
    seg, _ = w05
    status, order, po = seg.el(1), seg.el(2), seg.el(3)
    event_id = env.event_id(status, order, po)
    if order:
        body.bag.add_kind("order", order)
    if po:
        body.bag.add_kind("customer_po", po)
    refs = body.bag.refs("")
    if not refs:
        _nothing_links(env, "W05 has no depositor order number (W0502) nor purchase order (W0503)", event_id)
        return
    occurred = env.document_time()
    if occurred is None:
        env.reject("a 940 is dated by its group (GS04/GS05), which is missing or invalid", event_id)
        return
    code = set_code(env, status in CANCEL_STATUSES, status)
    event: dict[str, Any] = {"event_id": event_id, "occurred_at": iso(occurred), "source_status": code, "refs": refs}
    for qualifier in PROMISE_QUALIFIERS:
        if qualifier in body.dates:
            promise = g62(body.dates[qualifier], env, end_of_day=True).value
            if promise is not None:
                event["promised_by"] = iso(promise)
                break
    ship_to = body.parties.by_code.get("ST") or body.parties.by_code.get("CN")
    if ship_to and ship_to.get("name"):
        event["customer"] = ship_to["name"][:200]
    body.finish(env, event, {"order_status": status, "ship_to": ship_to})
    env.emit(SET_TABLE, code, event)


def map_945(env: SetEnv) -> None:
    body = _Body()
    w06: tuple[Segment, int] | None = None
    for pos, seg in enumerate(env.tx.segments[1:-1], start=2):
        tag = seg.tag
        if tag == "W06":
            w06 = w06 or (seg, pos)
        elif tag == "W12":
            # W1203 units shipped (else W1202 ordered), W1205 unit, W1206 U.P.C. case code,
            # W1207/W1208 a qualified product id.
            pairs = [(q, v) for q, v in (("UA", seg.el(6)), (seg.el(7), seg.el(8))) if v]
            body.add_line(pairs, seg.el(3) or seg.el(2), seg.el(5))
        elif tag == "W27":
            body.attrs.setdefault(
                "carrier", compact({"transport_method": seg.el(1), "scac": seg.el(2), "routing": seg.el(3)})
            )
        elif tag == "W03":
            body.attrs["totals"] = compact({"quantity": seg.el(1), "weight": seg.el(2), "unit": seg.el(3)})
        else:
            body.common(seg)
    if w06 is None:
        env.reject("no W06 segment; a 945 names its order in W0602 and its shipment in W0604")
        return
    seg, pos = w06
    status, order, day, shipment, po = seg.el(1), seg.el(2), seg.el(3), seg.el(4), seg.el(6)
    event_id = env.event_id(status, order, day, shipment)
    if order:
        body.bag.add_kind("order", order)
    if po:
        body.bag.add_kind("customer_po", po)
    refs = body.bag.refs(shipment)
    if not refs:
        _nothing_links(env, "W06 has neither a depositor order number (W0602) nor a shipment id (W0604)", event_id)
        return
    occurred: datetime | None
    if day:
        when = stamp(day, "", "", env.ctx.tz)
        if when.value is None:
            env.reject(f"W06 at segment {pos}: W0603 {when.problem}", event_id)
            return
        shipped = body.dates.get("11")  # G62*11: shipped on this date, with its time
        precise = g62(shipped, env).value if shipped is not None and shipped.el(2) == day else None
        occurred = precise or when.value
    else:
        occurred = env.document_time()
        if occurred is None:
            env.reject("no date: W0603 and GS04 are both missing or invalid", event_id)
            return
    code = set_code(env, status in CANCEL_STATUSES, status)
    event: dict[str, Any] = {"event_id": event_id, "occurred_at": iso(occurred), "source_status": code, "refs": refs}
    extra = {"reporting_code": status, "agent_shipment_id": seg.el(5)}
    if not order:
        extra["unlinked_order"] = "W0602 (depositor order number) is empty: the order is not known"
    body.finish(env, event, extra)
    env.emit(SET_TABLE, code, event)
