"""204 Motor Carrier Load Tender and 210 Motor Carrier Freight Details and Invoice → one event
per set (type from `x12.transaction_set`: 204 → shipment.tendered, 210 → freight.cost_updated).

204: B2 (B202 SCAC, B204 shipment id), B2A purpose (01 cancellation), L11 references, S5
stops with G62 windows (the promise is the latest window of the last delivery stop), OID
order lines (OID02 purchase order → customer_po; OID01 is an unqualified reference, kept in
attributes). A tender has no date of its own: it happened when the document was made.
210: B3 (B302 the carrier's freight invoice number — not the canonical `invoice`, which is
the customer's invoice — B303 shipment id, B306 billing date, B307 net amount due with two
implied decimals), C3 currency (else USD), N9/L11 references (BM → bill of lading)."""

import re
from datetime import UTC, datetime
from typing import Any

from .codes import SET_TABLE
from .common import (
    PARTY_TAGS,
    Parties,
    RefBag,
    SetEnv,
    compact,
    g62,
    implied_decimal,
    set_code,
)
from .times import iso, stamp
from .tokens import Segment

DELIVERY_STOPS = frozenset({"UL", "CU", "PU"})  # element 163: unload, complete / part unload


def _ref(bag: RefBag, seg: Segment) -> None:
    if seg.tag == "L11":
        bag.add(seg.el(2), seg.el(1))
    else:
        bag.add(seg.el(1), seg.el(2))


def map_204(env: SetEnv) -> None:
    b2: Segment | None = None
    purpose = ""
    bag = RefBag()
    parties = Parties()
    attrs: dict[str, Any] = {}
    stops: list[dict[str, Any]] = []
    windows: list[list[str]] = []  # per stop: the ISO times of its G62s
    orders: list[dict[str, Any]] = []
    in_stop = False
    for seg in env.tx.segments[1:-1]:
        tag = seg.tag
        if tag == "B2":
            b2 = b2 or seg
        elif tag == "B2A":
            purpose = purpose or seg.el(1)
        elif tag == "S5":
            in_stop = True
            stops.append(compact({"sequence": seg.el(1), "reason": seg.el(2), "weight": seg.el(3)}))
            windows.append([])
        elif tag == "G62":
            when = g62(seg, env, end_of_day=True).value
            if in_stop and when is not None:
                windows[-1].append(iso(when))
                stops[-1].setdefault("dates", {})[seg.el(1)] = iso(when)
            elif when is not None:
                attrs.setdefault("dates", {})[seg.el(1)] = iso(when)
        elif tag == "OID":
            bag.add_kind("customer_po", seg.el(2))
            orders.append(
                compact(
                    {
                        "reference": seg.el(1),
                        "purchase_order": seg.el(2),
                        "quantity": seg.el(5),
                        "unit": seg.el(4),
                        "weight": seg.el(7),
                        "stop": stops[-1].get("sequence") if stops else None,
                    }
                )
            )
        elif tag == "L11" and orders and in_stop:
            orders[-1].setdefault("refs", {})[seg.el(2)] = seg.el(1)
        elif tag in ("L11", "N9"):
            _ref(bag, seg)
        elif tag == "N1" and in_stop:
            stops[-1]["party"] = compact({"code": seg.el(1), "name": seg.el(2), "id": seg.el(4)})
        elif tag == "N4" and in_stop:
            stops[-1].setdefault("city", ", ".join(x for x in (seg.el(1), seg.el(2)) if x))
        elif tag in PARTY_TAGS and not in_stop:
            parties.feed(seg)
        elif tag == "NTE":
            (stops[-1] if in_stop else attrs).setdefault("notes", []).append(seg.el(2))
        elif tag == "N7":
            attrs.setdefault("equipment", compact({"initial": seg.el(1), "number": seg.el(2)}))
        elif tag == "MS3":
            attrs.setdefault("carrier", compact({"scac": seg.el(1), "transport_method": seg.el(4)}))
        elif tag == "L3":
            attrs["totals"] = compact(
                {"weight": seg.el(1), "weight_qualifier": seg.el(2), "charge": implied_decimal(seg.el(5))}
            )
    if b2 is None:
        env.reject("no B2 segment; a 204 names its shipment in B204")
        return
    scac, shipment = b2.el(2), b2.el(4)
    event_id = env.event_id(purpose, shipment, scac)
    refs = bag.refs(shipment)
    if not refs:
        env.reject("nothing identifies the load: B204 (shipment id) is empty and there is no reference", event_id)
        return
    occurred = env.document_time()
    if occurred is None:
        env.reject("a 204 is dated by its group (GS04/GS05), which is missing or invalid", event_id)
        return
    code = set_code(env, purpose == "01", purpose)
    event: dict[str, Any] = {"event_id": event_id, "occurred_at": iso(occurred), "source_status": code, "refs": refs}
    delivery = [i for i, s in enumerate(stops) if s.get("reason") in DELIVERY_STOPS and windows[i]]
    if delivery:
        # The latest window of the last delivery stop: ISO strings of one offset compare as times,
        # mixed offsets do not, so compare the parsed values.
        last = windows[delivery[-1]]
        event["promised_by"] = max(last, key=_instant)
    event["attributes"] = compact(
        {
            "purpose": purpose,
            "scac": scac,
            "payment_method": b2.el(6),
            **attrs,
            **bag.attributes(),
            "stops": stops,
            "orders": orders,
            "parties": parties.by_code,
            "x12": env.envelope(),
        }
    )
    env.emit(SET_TABLE, code, event)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def map_210(env: SetEnv) -> None:
    b3: tuple[Segment, int] | None = None
    currency = ""
    bag = RefBag()
    parties = Parties()
    attrs: dict[str, Any] = {}
    dates: list[Segment] = []
    for pos, seg in enumerate(env.tx.segments[1:-1], start=2):
        tag = seg.tag
        if tag == "B3":
            b3 = b3 or (seg, pos)
        elif tag == "C3":
            currency = currency or seg.el(1)
        elif tag in ("N9", "L11"):
            _ref(bag, seg)
        elif tag == "G62":
            dates.append(seg)
        elif tag in PARTY_TAGS:
            parties.feed(seg)
        elif tag == "N7":
            attrs.setdefault("equipment", compact({"initial": seg.el(1), "number": seg.el(2)}))
        elif tag == "L1":
            attrs.setdefault("charges", []).append(
                compact(
                    {
                        "rate": seg.el(2),
                        "rate_qualifier": seg.el(3),
                        "charge": implied_decimal(seg.el(4)),
                        "special_charge": seg.el(8),
                        "description": seg.el(12),
                    }
                )
            )
        elif tag == "L3":
            attrs["totals"] = compact(
                {"weight": seg.el(1), "weight_qualifier": seg.el(2), "charge": implied_decimal(seg.el(5))}
            )
    if b3 is None:
        env.reject("no B3 segment; a 210 carries its invoice number, shipment and amount in B3")
        return
    seg, pos = b3
    invoice, shipment, day, amount_text = seg.el(2), seg.el(3), seg.el(6), seg.el(7)
    event_id = env.event_id(invoice, shipment, day, amount_text)
    refs = bag.refs(shipment)
    if not refs:
        env.reject("nothing identifies the shipment: B303 is empty and there is no bill of lading (N9*BM)", event_id)
        return
    amount = implied_decimal(amount_text)
    if amount is None:
        env.reject(f"B3 at segment {pos}: B307 (net amount due) {amount_text!r} is not an amount in cents", event_id)
        return
    currency = currency or "USD"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        env.reject(f"C3: currency {currency!r} is not an ISO 4217 code", event_id)
        return
    occurred: datetime | None
    if day:
        when = stamp(day, "", "", env.ctx.tz)
        if when.value is None:
            env.reject(f"B3 at segment {pos}: B306 {when.problem}", event_id)
            return
        occurred = when.value
    else:
        dated = [d for d in (g62(x, env).value for x in dates) if d is not None]
        occurred = dated[0] if dated else env.document_time()
        if occurred is None:
            env.reject("no date: B306, G62 and GS04 are all missing or invalid", event_id)
            return
    event: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": iso(occurred),
        "source_status": "210",
        "refs": refs,
        "amount": {"value": amount, "currency": currency},
    }
    event["attributes"] = compact(
        {
            "freight_invoice": invoice,
            "payment_method": seg.el(4),
            "scac": seg.el(11),
            "delivery_date": seg.el(9),
            "correction": seg.el(8),
            **attrs,
            **bag.attributes(),
            "parties": parties.by_code,
            "dates": {d.el(1): d.el(2) + (f" {d.el(4)}" if d.el(4) else "") for d in dates},
            "x12": env.envelope(),
        }
    )
    env.emit(SET_TABLE, set_code(env, False, ""), event)
