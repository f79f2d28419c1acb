"""856 Ship Notice/Manifest (ASN) → one `shipment.confirmed` event per set (type from
`x12.transaction_set`).

BSN02 is the shipment (BSN03/BSN04 when it shipped); the HL hierarchy (S shipment, O order,
T tare, P pack, I item) carries the references: REF*BM bill of lading (the shipment only when
there is no BSN02), REF*CN the carrier's PRO (tracking number), PRF01 the purchase order,
MAN*GM/CP the SSCC of a pallet or carton (lpn), LIN + SN1 the items shipped."""

from datetime import datetime
from typing import Any

from .codes import SET_TABLE
from .common import (
    PARTY_TAGS,
    Parties,
    RefBag,
    SetEnv,
    compact,
    id_pairs,
    line,
    pick_sku,
)
from .times import iso, stamp
from .tokens import Segment

MAX_LINES = 1000  # what one canonical event may carry


def carrier(td5: Segment) -> dict[str, Any]:
    """TD5 routing: the SCAC when TD502 is 2, else the qualified carrier id."""
    scac = td5.el(2) == "2"
    return compact(
        {
            "scac": td5.el(3) if scac else "",
            "id_qualifier": "" if scac else td5.el(2),
            "id": "" if scac else td5.el(3),
            "transport_method": td5.el(4),
            "routing": td5.el(5),
        }
    )


def lines_attributes(lines: list[dict[str, Any]], ids: list[dict[str, Any]]) -> dict[str, Any]:
    """Which id became each line's sku, and every id the lines carried."""
    out: dict[str, Any] = {}
    if ids:
        out["line_ids"] = ids[:MAX_LINES]
    if len(lines) > MAX_LINES:
        out["lines_total"] = len(lines)
    return out


def map_856(env: SetEnv) -> None:
    bsn: tuple[Segment, int] | None = None
    bag = RefBag()
    parties = Parties()
    attrs: dict[str, Any] = {}
    dates: dict[str, Segment] = {}
    lines: list[dict[str, Any]] = []
    line_ids: list[dict[str, Any]] = []
    service_level = ""
    item: list[tuple[str, str]] | None = None
    levels: list[str] = []
    for pos, seg in enumerate(env.tx.segments[1:-1], start=2):
        tag = seg.tag
        if tag == "BSN":
            bsn = bsn or (seg, pos)
        elif tag == "HL":
            item = None
            if seg.el(3) and seg.el(3) not in levels:
                levels.append(seg.el(3))
        elif tag == "REF":
            bag.add(seg.el(1), seg.el(2))
        elif tag == "PRF":
            bag.add_kind("customer_po", seg.el(1))
        elif tag == "MAN":
            if seg.el(1) in ("GM", "CP"):
                bag.add_kind("lpn", seg.el(2))
            else:
                bag.add(f"MAN-{seg.el(1)}", seg.el(2))
        elif tag == "LIN":
            item = id_pairs(seg, 2, 30)
        elif tag == "SN1" and item is not None:
            sku = pick_sku(item)
            made = line(sku, seg.el(2), seg.el(3))
            if made is not None and sku is not None:
                lines.append(made)
                line_ids.append({"sku_qualifier": sku[0], "ids": dict(item)})
            item = None  # one SN1 per item
        elif tag == "TD5":
            attrs.setdefault("carrier", carrier(seg))
            service_level = service_level or seg.el(12)
        elif tag == "TD1":
            attrs.setdefault("packaging", []).append(
                compact({"code": seg.el(1), "quantity": seg.el(2), "weight": seg.el(7), "unit": seg.el(8)})
            )
        elif tag == "TD3":
            attrs.setdefault("equipment", compact({"type": seg.el(1), "initial": seg.el(2), "number": seg.el(3)}))
        elif tag == "MEA":
            attrs.setdefault("measurements", []).append(
                compact({"qualifier": seg.el(2), "value": seg.el(3), "unit": seg.el(4)})
            )
        elif tag == "DTM":
            dates.setdefault(seg.el(1), seg)
        elif tag in PARTY_TAGS:
            parties.feed(seg)
        elif tag == "CTT":
            attrs["totals"] = compact({"line_items": seg.el(1), "hash_total": seg.el(2)})
    if bsn is None:
        env.reject("no BSN segment; an 856 names its shipment in BSN02 and its date in BSN03")
        return
    seg, pos = bsn
    purpose, shipment_id, day, clock = seg.el(1), seg.el(2), seg.el(3), seg.el(4)
    refs = bag.refs(shipment_id)
    identity: list[Any] = [purpose, shipment_id, day]
    if not shipment_id:  # no BSN02: the references are what identifies the ASN
        identity.append(refs)
    event_id = env.event_id(*identity)
    occurred: datetime | None
    if day:
        when = stamp(day, clock, "", env.ctx.tz)
        if when.value is None:
            env.reject(f"BSN at segment {pos}: BSN03/BSN04 {when.problem}", event_id)
            return
        occurred = when.value
    else:
        shipped = dates.get("011")
        fallback = stamp(shipped.el(2), shipped.el(3), shipped.el(4), env.ctx.tz).value if shipped else None
        occurred = fallback or env.document_time()
        if occurred is None:
            env.reject("no date: BSN03, DTM*011 and GS04 are all missing or invalid", event_id)
            return
    if not refs:
        env.reject(
            "nothing identifies the shipment: no BSN02, bill of lading (REF*BM), PRO (REF*CN), purchase order (PRF) "
            "or SSCC (MAN*GM)",
            event_id,
        )
        return
    event: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": iso(occurred),
        "source_status": "856" if purpose != "01" else "856/01",
        "refs": refs,
    }
    for qualifier in ("017", "067"):  # estimated delivery, current schedule delivery
        dtm = dates.get(qualifier)
        eta = stamp(dtm.el(2), dtm.el(3), dtm.el(4), env.ctx.tz).value if dtm is not None else None
        if eta is not None:
            event["eta"] = iso(eta)
            break
    if lines:
        event["lines"] = lines[:MAX_LINES]
    if service_level:
        event["service_level"] = service_level[:50]
    event["attributes"] = compact(
        {
            "purpose": purpose,
            "bsn_time": clock,
            "hierarchy": "".join(levels),
            **attrs,
            **bag.attributes(),
            **lines_attributes(lines, line_ids),
            "parties": parties.by_code,
            "dates": {q: d.el(2) + (f" {d.el(3)}" if d.el(3) else "") for q, d in dates.items()},
            "x12": env.envelope(),
        }
    )
    env.emit(SET_TABLE, event["source_status"], event)
