"""One EPCIS event → one canonical event candidate (or a rejection, or nothing).

**event_id**: the event's eventID as sent (``ni:///sha-256;…``, ``urn:uuid:…``), else its EPCIS
event hash (event_hash.py). Never derived from the mapped type: a code-table change replayed hits
the same id.

**type**: bizStep and disposition, both read as CBV short names (codes.short):

1. no bizStep → rejected (EPCIS makes it optional, but nothing else says what happened);
2. the bizStep is looked up in ``epcis.bizstep``: unmapped → rejected naming the code and the
   table (a partner's own bizStep URI, or CBV ``other``); else it gives a type or IGNORE;
3. if the event has a disposition, ``epcis.disposition`` is looked up with
   ``<bizStep>/<disposition>`` first, then ``<disposition>``; a hit replaces the bizStep's answer
   (even an IGNORE: ``inspecting`` is ignored, ``inspecting`` + ``damaged`` is an exception), a
   miss leaves it (``in_transit``, ``in_progress`` and the like qualify a milestone, they do not
   change it; so does a partner's own disposition URI: no rejection for it);
4. IGNORE → no event, and nothing else about the event is checked (a sensor reading with a bad
   time is not a rejection). A type ``exception.*`` gets ``reason`` {code: the bizStep or
   disposition that decided it, text: its CBV meaning}.

source_status is ``bizStep[/disposition]`` in short names (``shipping/in_transit``), at most 100
characters (a long partner URI is cut; the full value is then in attributes.biz_step /
attributes.disposition).

**refs**: bizTransactionList by type (codes.BTT_REF_KINDS: po → customer_po, inv → invoice,
desadv → shipment, bol → tracking_number, rma → return; other types in
attributes.biz_transactions), ids as sent, trimmed. Every SSCC (``urn:epc:id:sscc:…`` or a
Digital Link with AI 00) of parentID and the EPC lists → lpn. SGTINs and other EPCs are items,
not refs: attributes.epcs (at most 100 per list) and attributes.epc_counts. An event with no ref
at all is rejected: it cannot be placed on an order.

**occurred_at**: eventTime, as the instant it is, written in the event's eventTimeZoneOffset (the
local offset EPCIS declares beside a time that may be sent in UTC). A time without a zone
(EPCIS forbids it) is read in that offset, else in the feed's time zone.

**lines**: quantityList, childQuantityList and outputQuantityList elements {sku: epcClass, qty,
uom}; inputQuantityList (consumed by a transformation) and elements without a quantity go to
attributes. **location**: {code: bizLocation id, else readPoint id}.

**errorDeclaration**: an event with an errorDeclaration declares that the earlier event with the
same eventID is wrong. It is mapped like that event, with the same event_id (its eventID, or the
hash, which leaves errorDeclaration out), source_status suffixed ``/error_declared`` and
attributes.error_declaration {reason (did_not_occur | incorrect_data), declared_at,
corrective_event_ids}: a re-sent event_id with changed content, which the store treats as the
correction of the original."""

import re
from datetime import UTC
from typing import Any

from ..base import IGNORE, Candidate, FeedContext, reject
from .codes import BIZSTEP_TABLE, BTT_REF_KINDS, DISPOSITION_TABLE, REASON_TEXTS, short
from .event_hash import event_hash
from .model import EPC_LISTS, Quantity, RawEvent, SensorElement, ext_json
from .times import iso, parse_offset, parse_time

MAX_LIST = 100
MAX_LINES = 1000
MAX_SENSORS = 20
MAX_REPORTS = 50
_SSCC = re.compile(r"^(?:urn:epc:id:sscc:|https?://[^/?#]+(?:/[^?#]*)?/00/\d{18}(?:[/?#]|$))", re.IGNORECASE)
NO_REF = (
    "no business transaction, SSCC or other reference: the event cannot be placed on an order "
    "(send its bizTransactionList: po, desadv, inv, bol or rma; or the SSCC of the logistic unit)"
)


def event_id_of(event: RawEvent) -> str:
    """The eventID as sent (trimmed), else the EPCIS event hash."""
    sent = event.scalars.get("eventID", "").strip()
    return sent or event_hash(event)


def map_event(event: RawEvent, ctx: FeedContext) -> Candidate | None:
    """The candidate for `event`: a canonical dict, a rejection, or None (IGNORE)."""
    where = event.where()
    event_id = event_id_of(event)
    decision = _decide(event, ctx)
    if decision is None:
        return None  # IGNOREd: whatever else is wrong with it does not matter
    if event.problems:
        return reject([f"{where}: {problem}" for problem in event.problems], event_id=event_id)
    if isinstance(decision, str):
        return reject(f"{where}: {decision}", event_id=event_id)
    mapped, decided_by, step, disp = decision
    step_sent, disp_sent = event.scalars["bizStep"].strip(), event.scalars.get("disposition", "").strip()
    occurred_at = _occurred_at(event, ctx)
    if isinstance(occurred_at, list):
        return reject([f"{where}: {problem}" for problem in occurred_at], event_id=event_id)

    attributes: dict[str, Any] = {"event_type": event.kind}
    refs = _refs(event, attributes)
    if not refs:
        return reject(f"{where}: {NO_REF}", event_id=event_id)
    status = "/".join(p for p in (step, disp) if p)
    suffix = "/error_declared" if event.error is not None else ""
    if len(status) + len(suffix) > 100:
        attributes["biz_step"] = step_sent
        if disp:
            attributes["disposition"] = disp_sent
    candidate: dict[str, Any] = {
        "event_id": event_id,
        "type": mapped,
        "occurred_at": occurred_at,
        "source_status": status[: 100 - len(suffix)] + suffix,
        "refs": refs,
    }
    if mapped.startswith("exception."):
        reason = {"code": decided_by[:100]}
        if decided_by in REASON_TEXTS:
            reason["text"] = REASON_TEXTS[decided_by]
        candidate["reason"] = reason
    location = _location(event, attributes)
    if location:
        candidate["location"] = {"code": location}
    lines = _lines(event, attributes)
    if lines:
        candidate["lines"] = lines
    _attributes(event, ctx, attributes)
    candidate["attributes"] = attributes
    return candidate


def _decide(event: RawEvent, ctx: FeedContext) -> tuple[str, str, str, str] | str | None:
    """(type, the code that decided it, bizStep, disposition) in short names; None for IGNORE;
    a text when the event cannot be typed (no bizStep, or one the table does not map)."""
    step_sent = event.scalars.get("bizStep", "").strip()
    if not step_sent:
        return (
            "bizStep: missing; the business step (e.g. shipping, receiving) is what says which milestone "
            "the event is: send it"
        )
    step = short(step_sent)
    mapped = ctx.codes.lookup(BIZSTEP_TABLE, step)
    if mapped is None:
        return ctx.codes.unmapped(BIZSTEP_TABLE, step)
    disp_sent = event.scalars.get("disposition", "").strip()
    disp = short(disp_sent) if disp_sent else ""
    decided_by = step
    if disp:
        override = ctx.codes.lookup(DISPOSITION_TABLE, f"{step}/{disp}")
        if override is None:
            override = ctx.codes.lookup(DISPOSITION_TABLE, disp)
        if override is not None:
            mapped, decided_by = override, disp
    return None if mapped == IGNORE else (mapped, decided_by, step, disp)


def _occurred_at(event: RawEvent, ctx: FeedContext) -> str | list[str]:
    sent = event.scalars.get("eventTime", "").strip()
    if not sent:
        return ["eventTime: missing; the time the event happened is required (e.g. 2005-04-03T20:33:31.116-06:00)"]
    parsed = parse_time(sent)
    if parsed is None:
        return [f"eventTime: {sent[:60]!r} is not an xsd:dateTime (e.g. 2005-04-03T20:33:31.116-06:00)"]
    offset_sent = event.scalars.get("eventTimeZoneOffset", "").strip()
    zone = parse_offset(offset_sent) if offset_sent else None
    if offset_sent and zone is None:
        return [f"eventTimeZoneOffset: {offset_sent[:20]!r} is not a UTC offset like -06:00 or +01:00"]
    value, zoned = parsed
    try:
        if not zoned:
            value = value.replace(tzinfo=zone or ctx.tz)
        value.astimezone(UTC)  # the store keeps UTC: an instant it cannot hold is no time
        return iso(value.astimezone(zone) if zone is not None else value)
    except (OverflowError, ValueError):
        return [f"eventTime: {sent[:60]!r} is out of range"]


def _refs(event: RawEvent, attributes: dict[str, Any]) -> dict[str, str | list[str]]:
    found: dict[str, list[str]] = {}

    def add(kind: str, value: str) -> None:
        ids = found.setdefault(kind, [])
        if value not in ids:
            ids.append(value)

    others: list[dict[str, str]] = []
    for transaction in event.typed.get("bizTransactionList", []):
        value = transaction.value.strip()
        kind_sent = (transaction.type or "").strip()
        btt = short(kind_sent) if kind_sent else ""
        if not value:
            continue
        if btt in BTT_REF_KINDS:
            add(BTT_REF_KINDS[btt], value)
        else:
            others.append({"type": btt, "id": value} if btt else {"id": value})
    if others:
        attributes["biz_transactions"] = others
    parent = event.scalars.get("parentID", "").strip()
    for value in [parent, *(v.strip() for name in EPC_LISTS for v in event.epcs.get(name, []))]:
        if value and _SSCC.match(value):
            add("lpn", value)
    if parent and not _SSCC.match(parent):
        attributes["parent_id"] = parent
    return {kind: ids[0] if len(ids) == 1 else ids for kind, ids in found.items() if ids}


def _location(event: RawEvent, attributes: dict[str, Any]) -> str | None:
    read_point = event.points.get("readPoint")
    biz_location = event.points.get("bizLocation")
    read_id = (read_point.id or "").strip() if read_point else ""
    biz_id = (biz_location.id or "").strip() if biz_location else ""
    for name, point in (("read_point", read_point), ("biz_location", biz_location)):
        if point is not None and point.ext:
            attributes[f"{name}_extensions"] = ext_json(point.ext)
    if biz_id and read_id and read_id != biz_id:
        attributes["read_point"] = read_id
    return biz_id or read_id or None


def _qty(value: Any) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _quantity_json(q: Quantity) -> dict[str, Any]:
    out: dict[str, Any] = {"epc_class": q.epc_class.strip(), "quantity": q.quantity}
    if q.uom:
        out["uom"] = q.uom.strip()
    return out


def _lines(event: RawEvent, attributes: dict[str, Any]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    leftover: list[dict[str, Any]] = []
    for name in ("quantityList", "childQuantityList", "outputQuantityList"):
        for q in event.quantities.get(name, []):
            qty = _qty(q.quantity)
            if qty is None or not q.epc_class.strip() or len(lines) >= MAX_LINES:
                leftover.append(_quantity_json(q))
                continue
            line: dict[str, Any] = {"sku": q.epc_class.strip(), "qty": qty}
            if q.uom and q.uom.strip():
                line["uom"] = q.uom.strip()
            lines.append(line)
    if leftover:
        attributes["quantities"] = leftover[:MAX_LIST]
    consumed = event.quantities.get("inputQuantityList", [])
    if consumed:
        attributes["input_quantities"] = [_quantity_json(q) for q in consumed[:MAX_LIST]]
    return lines


def _sensors(elements: list[SensorElement]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for element in elements[:MAX_SENSORS]:
        entry: dict[str, Any] = {}
        metadata = {k: v for k, v in (element.metadata or {}).items() if v is not None}
        metadata.update(ext_json(element.metadata_ext))
        if metadata:
            entry["metadata"] = metadata
        reports = [
            {**{k: v for k, v in r.fields.items() if v is not None}, **ext_json(r.ext)}
            for r in element.reports[:MAX_REPORTS]
        ]
        if reports:
            entry["reports"] = reports
        if len(element.reports) > MAX_REPORTS:
            entry["reports_total"] = len(element.reports)
        if element.ext:
            entry["extensions"] = ext_json(element.ext)
        out.append(entry)
    return out


def _attributes(event: RawEvent, ctx: FeedContext, attributes: dict[str, Any]) -> None:
    """Everything the canonical fields did not take, compact."""
    s = event.scalars
    for key, name in (("action", "action"), ("recordTime", "record_time"), ("transformationID", "transformation_id")):
        if s.get(key, "").strip():
            attributes[name] = s[key].strip()
    epcs = {name: event.epcs[name] for name in EPC_LISTS if event.epcs.get(name)}
    if epcs:
        attributes["epcs"] = {name: [v.strip() for v in values[:MAX_LIST]] for name, values in epcs.items()}
        attributes["epc_counts"] = {name: len(values) for name, values in epcs.items()}
    for list_name, attr in (("sourceList", "sources"), ("destinationList", "destinations")):
        typed = event.typed.get(list_name, [])
        if typed:
            attributes[attr] = [
                {"type": short(t.type), "id": t.value.strip()} if t.type else {"id": t.value.strip()}
                for t in typed[:MAX_LIST]
            ]
    if event.sensors:
        attributes["sensors"] = _sensors(event.sensors)
        if len(event.sensors) > MAX_SENSORS:
            attributes["sensor_elements_total"] = len(event.sensors)
    if event.persistent:
        attributes["persistent_disposition"] = {k: [short(v) for v in vs] for k, vs in event.persistent.items()}
    if event.certification:
        attributes["certification_info"] = [c.strip() for c in event.certification]
    if event.ilmd:
        attributes["ilmd"] = ext_json(event.ilmd)
    if event.extensions:
        attributes["extensions"] = ext_json(event.extensions)
    if event.error is not None:
        error = event.error
        declaration: dict[str, Any] = {
            "reason": short(error.reason) if error.reason and error.reason.strip() else None,
            "declared_at": _declared_at(error.declaration_time, ctx),
            "corrective_event_ids": [i.strip() for i in error.corrective_event_ids if i.strip()],
        }
        if error.ext:
            declaration["extensions"] = ext_json(error.ext)
        attributes["error_declaration"] = declaration


def _declared_at(sent: str | None, ctx: FeedContext) -> str | None:
    if sent is None or not sent.strip():
        return None
    parsed = parse_time(sent)
    if parsed is None:
        return sent.strip()
    value, zoned = parsed
    return iso(value if zoned else value.replace(tzinfo=ctx.tz))
