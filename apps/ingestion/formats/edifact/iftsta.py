"""IFTSTA (international multimodal status report) → one canonical event per STS.

An STS belongs to its consignment (CNI group) and the message header: references apply from
the message down, the innermost level winning (a status's RFF+EQ over the header's), and a
level that disagrees with the one kept is noted in `attributes.reference_mismatch`. Within
the status group, TDT opens a transport leg (its LOC/DTM are the route), EQD an equipment
item, GID a goods item; the status's own DTM/LOC/NAD/FTX/RFF are the ones before those."""

from dataclasses import dataclass, field
from typing import Any

from ..base import IGNORE, Candidate, FeedContext, reject
from .codes import IFTSTA_TABLE
from .common import add_refs, compact, dates, dtm, event_id, location, parse_dtm, party, place, refs_of, transport
from .envelope import Message
from .syntax import Segment

EVENT_DATES = ("334", "7")  # status event date/time; effective date/time
ETA_DATES = ("17", "132")  # delivery estimated; arrival estimated
FINAL_PLACES = ("7", "8")  # place of delivery; place of destination


@dataclass
class Scope:
    refs: list[Segment] = field(default_factory=list)
    dates: list[Segment] = field(default_factory=list)
    places: list[Segment] = field(default_factory=list)
    parties: list[Segment] = field(default_factory=list)
    texts: list[Segment] = field(default_factory=list)
    equipment: list[Segment] = field(default_factory=list)
    other: list[Segment] = field(default_factory=list)

    def add(self, segment: Segment) -> None:
        target = {
            "RFF": self.refs,
            "DTM": self.dates,
            "LOC": self.places,
            "NAD": self.parties,
            "FTX": self.texts,
            "EQD": self.equipment,
        }.get(segment.tag, self.other)
        target.append(segment)


@dataclass
class Leg:
    tdt: Segment
    refs: list[Segment] = field(default_factory=list)
    places: list[tuple[Segment, list[Segment]]] = field(default_factory=list)
    other: list[Segment] = field(default_factory=list)

    def add(self, segment: Segment) -> None:
        if segment.tag == "LOC":
            self.places.append((segment, []))
        elif segment.tag == "DTM" and self.places:
            self.places[-1][1].append(segment)
        elif segment.tag == "RFF":
            self.refs.append(segment)
        else:
            self.other.append(segment)


@dataclass
class Item:
    """An EQD or GID sub-group of a status: its segments, kept for attributes."""

    head: Segment
    other: list[Segment] = field(default_factory=list)

    def add(self, segment: Segment) -> None:
        self.other.append(segment)


@dataclass
class Status:
    sts: Segment
    index: int
    consignment: "Consignment | None"
    scope: Scope = field(default_factory=Scope)
    legs: list[Leg] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)


@dataclass
class Consignment:
    cni: Segment
    scope: Scope = field(default_factory=Scope)


def walk(msg: Message) -> tuple[Segment | None, Scope, list[Status]]:
    """The message's BGM, header scope and statuses (each with its consignment)."""
    bgm: Segment | None = None
    header = Scope()
    consignment: Consignment | None = None
    status: Status | None = None
    sub: Leg | Item | None = None
    statuses: list[Status] = []
    for segment in msg.segments[1:]:
        tag = segment.tag
        if tag == "UNT":
            break
        if tag == "BGM" and bgm is None:
            bgm = segment
        elif tag == "CNI":
            consignment, status, sub = Consignment(segment), None, None
        elif tag == "STS":
            status, sub = Status(segment, len(statuses) + 1, consignment), None
            statuses.append(status)
        elif status is not None and tag == "TDT":
            sub = Leg(segment)
            status.legs.append(sub)
        elif status is not None and tag in ("EQD", "GID"):
            sub = Item(segment)
            status.items.append(sub)
        elif sub is not None:
            sub.add(segment)
        elif status is not None:
            status.scope.add(segment)
        elif consignment is not None:
            consignment.scope.add(segment)
        else:
            header.add(segment)
    return bgm, header, statuses


def _references(header: Scope, status: Status) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    levels: list[tuple[str, dict[str, list[str]]]] = []
    for name, scope in (
        ("message", header),
        ("consignment", status.consignment.scope if status.consignment else None),
        ("status", status.scope),
    ):
        found: dict[str, list[str]] = {}
        if scope is not None:
            add_refs(scope.refs, found)
        levels.append((name, found))
    merged: dict[str, list[str]] = {}
    mismatches: list[dict[str, Any]] = []
    for qualifier in dict.fromkeys(q for _, found in levels for q in found):
        present = [(name, found[qualifier]) for name, found in levels if qualifier in found]
        kept = present[-1][1]
        merged[qualifier] = kept
        differing = [(name, ids) for name, ids in present[:-1] if set(ids) != set(kept)]
        if differing:
            mismatches.append({"qualifier": qualifier, present[-1][0]: kept, **dict(differing)})
    return merged, mismatches


def _eta(status: Status, ctx: FeedContext) -> str | None:
    candidates = [s for s in status.scope.dates if dtm(s)[0] in ETA_DATES]
    for leg in reversed(status.legs):
        for loc, loc_dates in reversed(leg.places):
            if loc.value(0) in FINAL_PLACES:
                candidates.extend(s for s in loc_dates if dtm(s)[0] in ETA_DATES)
    for segment in candidates:
        parsed, _ = parse_dtm(segment.value(0, 1), segment.value(0, 2), ctx.tz)
        if parsed:
            return parsed
    return None


def _legs(status: Status, ctx: FeedContext) -> list[dict[str, Any]]:
    out = []
    for leg in status.legs:
        info = transport(leg.tdt)
        stops = []
        for loc, loc_dates in leg.places:
            stop: dict[str, Any] = place(loc)
            if loc_dates:
                stop["dates"] = dates(loc_dates, ctx.tz)
            stops.append(stop)
        if stops:
            info["locations"] = stops
        leg_refs: dict[str, list[str]] = {}
        add_refs(leg.refs, leg_refs)
        if leg_refs:
            info["references"] = leg_refs
        if leg.other:
            info["segments"] = [s.text() for s in leg.other[:10]]
        out.append(info)
    return out


def _equipment(items: list[Item], consignment: Consignment | None) -> tuple[list[str], list[dict[str, Any]]]:
    ids: list[str] = []
    details: list[dict[str, Any]] = []
    heads = (consignment.scope.equipment if consignment else []) + [i.head for i in items if i.head.tag == "EQD"]
    for eqd in heads:
        number = eqd.value(1, 0)
        if number and number not in ids:
            ids.append(number)
        detail = {"qualifier": eqd.value(0), "id": number, "size_type": eqd.value(2, 0), "full_empty": eqd.value(5)}
        details.append({k: v for k, v in detail.items() if v})
    return ids, details


def map_status(msg: Message, bgm: Segment | None, header: Scope, status: Status, ctx: FeedContext) -> Candidate | None:
    """One STS → its candidate (None when the status code is mapped to ignore)."""
    sts = status.sts
    where = f"{msg.label}, STS {status.index}"
    code, status_text = sts.value(1, 0), sts.value(1, 3)
    references, mismatches = _references(header, status)
    refs, other_refs = refs_of(references)
    consignment_number = status.consignment.cni.value(1, 0) if status.consignment else ""
    if consignment_number and "shipment" not in refs:
        refs["shipment"] = [consignment_number[:100]]
    containers, equipment_details = _equipment(status.items, status.consignment)
    status_loc = status.scope.places[0] if status.scope.places else None
    event_dates = [s for q in EVENT_DATES for s in status.scope.dates if dtm(s)[0] == q]
    occurred, why = (None, "")
    source_time = ""
    if event_dates:
        _, raw_time, fmt = dtm(event_dates[0])
        occurred, why = parse_dtm(raw_time, fmt, ctx.tz)
        # the id takes the time as the source wrote it: a feed's time zone setting changed and
        # replayed corrects the event instead of duplicating it
        source_time = parse_dtm(raw_time, fmt, None)[0] or raw_time
    eid = event_id(
        "IFTSTA",
        msg.interchange.sender,
        references,
        consignment_number,
        containers,
        code,
        source_time,
        status_loc.value(1, 0) if status_loc else "",
    )
    label = f"{where} ({code or 'no code'}{': ' + status_text if status_text else ''})"
    if not code:
        return reject(f"{label}: STS02 has no status event code (C555, first component); send one", eid)
    # a code of a named list (C555 3055, e.g. a carrier's) may be mapped as "<agency>:<code>"
    agency = sts.value(1, 2)
    kind = (ctx.codes.lookup(IFTSTA_TABLE, f"{agency}:{code}") if agency else None) or ctx.codes.lookup(
        IFTSTA_TABLE, code
    )
    if kind is None:
        return reject(f"{label}: {ctx.codes.unmapped(IFTSTA_TABLE, code)}", eid)
    if kind == IGNORE:
        return None
    if not event_dates:
        return reject(f"{label}: no status event date/time (DTM+334) in the status group", eid)
    if occurred is None:
        return reject(f"{label}: DTM+{dtm(event_dates[0])[0]}: {why}", eid)
    if not refs:
        return reject(
            f"{label}: no reference to correlate it by (RFF+BN booking, BM bill of lading, ON/CO/CU order, "
            "or a CNI consignment number)",
            eid,
        )
    candidate: dict[str, Any] = {
        "event_id": eid,
        "type": kind,
        "occurred_at": occurred,
        "source_status": code[:100],
        "refs": compact(refs),
    }
    where_loc = location(status_loc) if status_loc else None
    if where_loc:
        candidate["location"] = where_loc
    reasons = [sts.components(i) for i in range(2, 7) if sts.value(i, 0) or sts.value(i, 3)]
    if reasons and reasons[0][0]:
        text = reasons[0][3] if len(reasons[0]) > 3 else ""
        candidate["reason"] = {"code": reasons[0][0][:100], **({"text": text[:2000]} if text else {})}
        reasons = reasons[1:]
    eta = _eta(status, ctx)
    if eta:
        candidate["eta"] = eta
    attributes: dict[str, Any] = {
        "message": {
            "type": "IFTSTA",
            "version": ":".join(msg.identifier[1:4]),
            "document": bgm.value(1, 0) if bgm else "",
            "document_name": bgm.value(0, 0) if bgm else "",
            "dates": dates(header.dates, ctx.tz),
        },
        "status_category": sts.value(0, 0),
        "status_text": status_text,
        "status_code_list": ":".join(c for c in sts.components(1)[1:3] if c),
        "status_location": place(status_loc) if status_loc else {},
        "other_locations": [place(s) for s in status.scope.places[1:]],
        "reasons": [{"code": r[0], "text": r[3] if len(r) > 3 else ""} for r in reasons],
        "dates": {q: v for q, v in dates(status.scope.dates, ctx.tz).items() if q not in EVENT_DATES[:1]},
        "references": {q: ids for q, ids in other_refs.items() if q != "EQ"},
        "equipment": other_refs.get("EQ", []),
        "containers": containers,
        "equipment_details": [d for d in equipment_details if set(d) - {"id", "qualifier"}],
        "reference_mismatch": mismatches,
        "consignment": {
            k: v for k, v in (("item", status.consignment.cni.value(0)), ("number", consignment_number)) if v
        }
        if status.consignment
        else {},
        "transport": _legs(status, ctx),
        "parties": {s.value(0): party(s) for s in header.parties + status.scope.parties if s.value(0)},
        "remarks": [" ".join(c for c in s.components(3) if c) for s in status.scope.texts],
        "segments": [s.text() for s in (status.scope.other + [o for i in status.items for o in i.other])[:20]],
    }
    attributes["message"] = {k: v for k, v in attributes["message"].items() if v}
    candidate["attributes"] = {k: v for k, v in attributes.items() if v}
    return candidate


def map_iftsta(msg: Message, ctx: FeedContext, message_key: str) -> list[Candidate]:
    """The status report → a candidate per STS (none for a status mapped to ignore)."""
    bgm, header, statuses = walk(msg)
    if not statuses:
        return [reject(f"{msg.label}: the IFTSTA holds no status (STS segment)", message_key)]
    out: list[Candidate] = []
    for status in statuses:
        candidate = map_status(msg, bgm, header, status, ctx)
        if candidate is not None:
            out.append(candidate)
    return out
