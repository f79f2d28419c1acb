"""DESADV (despatch advice) → one `shipment.confirmed` (type from `edifact.message_type`) per
message: the despatch advice number (BGM) is the shipment; RFF+ON / CO / … its orders;
DTM+11 (despatch date/time, else 137 document date) the time; GIN+BJ (SSCC) the LPNs of its
CPS/PAC packaging; LIN (item id, else PIA) with QTY+12 (despatch quantity) its lines."""

from typing import Any

from ..base import IGNORE, Candidate, FeedContext, reject
from .codes import MESSAGE_TYPE_TABLE
from .common import add_refs, compact, dates, dtm, event_id, number, parse_dtm, party, place, refs_of, transport
from .envelope import Message
from .syntax import Segment

TIMES = ("11", "137")  # despatch date/time; document date/time
ETA_DATES = ("17", "132")  # delivery estimated; arrival estimated
SSCC = "BJ"
DESPATCH_QTY = "12"


def _line(lin: Segment, segments: list[Segment]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """A LIN group → (canonical line or None, what it carried for attributes)."""
    sku = lin.value(2, 0)
    ids = [s.value(1, 0) for s in segments if s.tag == "PIA" and s.value(1, 0)]
    quantities = {s.value(0, 0): s for s in segments if s.tag == "QTY"}
    info: dict[str, Any] = {"line": lin.value(0), "item": sku, "item_type": lin.value(2, 1), "other_ids": ids}
    info["quantities"] = {q: s.value(0, 1) for q, s in quantities.items()}
    sku = sku or (ids[0] if ids else "")
    qty_segment = quantities.get(DESPATCH_QTY)
    qty = number(qty_segment.value(0, 1)) if qty_segment else None
    if not sku or qty is None or qty < 0:
        return None, {k: v for k, v in info.items() if v}
    line: dict[str, Any] = {"sku": sku[:100], "qty": qty}
    if qty_segment is not None and qty_segment.value(0, 2):
        line["uom"] = qty_segment.value(0, 2)
    return line, {}


def map_desadv(msg: Message, ctx: FeedContext, message_key: str) -> list[Candidate]:
    """The despatch advice → [candidate] (or [] when DESADV is mapped to ignore)."""
    kind = ctx.codes.lookup(MESSAGE_TYPE_TABLE, "DESADV")
    bgm = next((s for s in msg.segments if s.tag == "BGM"), None)
    document = bgm.value(1, 0) if bgm else ""
    eid = event_id("DESADV", msg.interchange.sender, document) if document else message_key
    where = f"{msg.label} (DESADV {document or 'without number'})"
    if kind is None:
        return [reject(f"{where}: {ctx.codes.unmapped(MESSAGE_TYPE_TABLE, 'DESADV')}", eid)]
    if kind == IGNORE:
        return []
    if not document:
        return [reject(f"{where}: BGM02 has no despatch advice number; it identifies the shipment", eid)]
    if bgm is not None and bgm.value(2) == "1":
        return [reject(f"{where}: BGM03 1 is a cancellation; a cancelled despatch advice confirms no shipment", eid)]
    references: dict[str, list[str]] = {}
    header_dates: list[Segment] = []
    lpns: list[str] = []
    parties: dict[str, dict[str, str]] = {}
    places: list[dict[str, str]] = []
    legs: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    packages = 0
    in_body = False  # after the first CPS: packaging and lines, no more header dates
    current: tuple[Segment, list[Segment]] | None = None
    groups: list[tuple[Segment, list[Segment]]] = []
    for segment in msg.segments[1:]:
        tag = segment.tag
        if tag in ("UNT", "UNS", "CNT"):
            break
        if tag == "LIN":
            current = (segment, [])
            groups.append(current)
        elif tag == "CPS":
            in_body, current = True, None
        elif tag == "GIN" and segment.value(0) == SSCC:
            for element in range(1, 6):
                for ident in segment.components(element)[:2]:
                    if ident and ident[:100] not in lpns:
                        lpns.append(ident[:100])
        elif tag == "RFF":
            add_refs([segment], references)  # line-level RFF+ON: the order of that line
        elif current is not None:
            current[1].append(segment)
        elif tag == "DTM":
            if not in_body:
                header_dates.append(segment)
        elif tag == "NAD" and segment.value(0):
            parties[segment.value(0)] = party(segment)
        elif tag == "LOC":
            places.append(place(segment))
        elif tag == "TDT":
            legs.append(transport(segment))
        elif tag == "PAC":
            packages += int(segment.value(0)) if segment.value(0).isascii() and segment.value(0).isdigit() else 0
    for lin, segments in groups:
        line, info = _line(lin, segments)
        if line is not None:
            lines.append(line)
        elif len(skipped) < 50:
            skipped.append(info)
    chosen = next((s for q in TIMES for s in header_dates if dtm(s)[0] == q), None)
    if chosen is None:
        return [reject(f"{where}: no despatch date/time (DTM+11) nor document date (DTM+137)", eid)]
    occurred, why = parse_dtm(chosen.value(0, 1), chosen.value(0, 2), ctx.tz)
    if occurred is None:
        return [reject(f"{where}: DTM+{dtm(chosen)[0]}: {why}", eid)]
    refs, other_refs = refs_of(references)
    refs.setdefault("shipment", [])
    if document[:100] not in refs["shipment"]:
        refs["shipment"].insert(0, document[:100])
    if lpns:
        refs["lpn"] = lpns[:1000]
    candidate: dict[str, Any] = {
        "event_id": eid,
        "type": kind,
        "occurred_at": occurred,
        "source_status": "DESADV",
        "refs": compact(refs),
    }
    if "SF" in parties and parties["SF"].get("id"):
        ship_from = parties["SF"]
        candidate["location"] = {
            "code": ship_from["id"],
            **({"name": ship_from["name"]} if "name" in ship_from else {}),
        }
    eta = next((s for q in ETA_DATES for s in header_dates if dtm(s)[0] == q), None)
    if eta is not None:
        parsed, _ = parse_dtm(eta.value(0, 1), eta.value(0, 2), ctx.tz)
        if parsed:
            candidate["eta"] = parsed
    if lines:
        candidate["lines"] = lines[:1000]
    attributes = {
        "message": {
            "type": "DESADV",
            "version": ":".join(msg.identifier[1:4]),
            "function": bgm.value(2) if bgm else "",
        },
        "dates": dates(header_dates, ctx.tz),
        "references": other_refs,
        "parties": parties,
        "locations": places,
        "transport": legs,
        "packages": packages,
        "lines_without_despatch_quantity": skipped,
    }
    candidate["attributes"] = {k: v for k, v in attributes.items() if v}
    return [candidate]
