"""One DCSA Track & Trace event (2.x flat, or 3.0 with `eventClassification`) → a canonical
candidate, a rejection naming the field, or nothing (a code mapped to IGNORE)."""

from datetime import datetime
from typing import Any

from apps.events.taxonomy import EXCEPTION_TYPES

from ..base import IGNORE, Candidate, FeedContext, reject
from . import checks
from .fields import Refs, first, location, refs_of, shown, sub, text
from .tables import CLASSIFIERS, DESCRIPTIONS, TABLE_OF_EVENT_TYPE

_PREFIX = {"TRANSPORT": "transport", "EQUIPMENT": "equipment", "SHIPMENT": "shipment", "IOT": "iot", "REEFER": "reefer"}
_REASONED = EXCEPTION_TYPES | {"exception.cleared"}


def is_event(item: object) -> bool:
    """A DCSA event: 2.x carries `eventType`, 3.0 an `eventClassification` object."""
    return isinstance(item, dict) and ("eventType" in item or isinstance(item.get("eventClassification"), dict))


def source_id(raw: dict[str, Any], v3: bool, errors: list[str]) -> tuple[str, bool]:
    """The event's id from its source identity: 2.x `dcsa:<eventID>` (a UUID); 3.0 the
    originating party, eventID and eventUpdatedDateTime (3.0 re-sends an updated event with the
    same eventID: each version is its own record). A hash of the event when it has no id."""
    fallback = "dcsa:" + checks.content_hash(raw)
    if raw.get("eventID") is None:
        return fallback, False
    value = raw["eventID"]
    if not isinstance(value, str) or not value.strip():
        errors.append(f"eventID: must be a non-empty string{'' if v3 else ' (a UUID)'}, got {shown(value)}")
        return fallback, False
    value = value.strip()
    if not v3:
        if not checks.is_uuid(value):
            errors.append(f"eventID: {shown(value)} is not a UUID (DCSA T&T 2.x event ids are UUIDs)")
            return fallback, False
        return "dcsa:" + value.lower(), True
    if len(value) > 500:
        errors.append("eventID: longer than 500 characters")
        return fallback, False
    routing = raw.get("eventRouting")
    party = routing.get("originatingParty") if isinstance(routing, dict) else None
    names = (
        [text(party.get(k)) or "" for k in ("codeListProvider", "codeListName", "partyCode")]
        if isinstance(party, dict)
        else []
    )
    prefix = "/".join(names) + ":" if any(names) else ""
    updated = text(raw.get("eventUpdatedDateTime"))
    key = f"dcsa:{prefix}{value}" + (f"@{updated}" if updated else "")
    if len(key) > 200:
        key = "dcsa:" + checks.content_hash([prefix, value, updated])
    return key, True


def _times(
    raw: dict[str, Any], v3: bool, actual: bool, now: datetime, errors: list[str]
) -> tuple[datetime | None, datetime | None]:
    """eventDateTime and the record's own time (2.x eventCreatedDateTime, required; 3.0
    eventUpdatedDateTime, optional), with the checks a real event passes."""
    when = meta = None
    if "eventDateTime" not in raw:
        errors.append("eventDateTime: required (when the event happened or will happen)")
    else:
        parsed = checks.parse_time(raw["eventDateTime"])
        if isinstance(parsed, datetime):
            when = parsed
        else:
            errors.append(checks.time_error("eventDateTime", raw["eventDateTime"]))
    field = "eventUpdatedDateTime" if v3 else "eventCreatedDateTime"
    if field not in raw:
        if not v3:
            errors.append("eventCreatedDateTime: required (DCSA T&T 2.x: when the event was created)")
    else:
        parsed = checks.parse_time(raw[field])
        if isinstance(parsed, datetime):
            meta = parsed
            # Differences, not sums: a time near year 9999 plus the slack would overflow.
            if meta - now > checks.CLOCK_SLACK:
                errors.append(f"{field}: {raw[field]} is in the future")
        else:
            errors.append(checks.time_error(field, raw[field]))
    if actual and when is not None:
        if when - now > checks.CLOCK_SLACK:
            errors.append(f"eventDateTime: {raw['eventDateTime']} is in the future; an actual (ACT) event has happened")
        # 3.0 samples carry an eventUpdatedDateTime before the event: only 2.x's creation time,
        # which DCSA defines as when the event was recorded, must follow the event.
        elif not v3 and meta is not None and when - meta > checks.CLOCK_SLACK:
            errors.append(
                f"eventDateTime: the actual event at {raw['eventDateTime']} is after its eventCreatedDateTime "
                f"{raw['eventCreatedDateTime']}; an event cannot be recorded before it happened"
            )
    return when, meta


def _classification(
    raw: dict[str, Any], v3: bool, errors: list[str]
) -> tuple[str | None, str | None, str | None, str | None, tuple[str, ...]]:
    """(event type, classifier as sent, normalised classifier, event code) with errors for what is
    missing or not DCSA, and the 2.x keys they were read from. 3.0's codes live in
    eventClassification, spelled `...Code` or not."""
    holder = raw["eventClassification"] if v3 else raw
    where = "eventClassification." if v3 else ""
    type_key, etype = first(holder, "eventTypeCode", "eventType") if v3 else ("eventType", raw.get("eventType"))
    cls_key, classifier = first(holder, "eventClassifierCode", "eventClassifier")
    kind = etype if isinstance(etype, str) and etype in _PREFIX else None
    if kind is None:
        errors.append(
            f"{where}{type_key}: {shown(etype)} is not a DCSA event type (SHIPMENT, TRANSPORT, EQUIPMENT, IOT, REEFER)"
        )
    norm = CLASSIFIERS.get(classifier) if isinstance(classifier, str) else None
    if norm is None:
        problem = "required" if classifier is None else f"{shown(classifier)} is not a DCSA classifier"
        errors.append(f"{where}{cls_key}: {problem} (ACT, EST, PLN or REQ)")
    code, code_key = None, ""
    if kind is not None:
        prefix = _PREFIX[kind]
        code_key, value = first(
            holder, f"{prefix}EventTypeCode", f"{prefix}EventType", *(() if v3 else ("eventTypeCode",))
        )
        if kind == "IOT" and isinstance(raw.get("iotDetails"), dict) and text(raw["iotDetails"].get("iotEventCode")):
            code_key, value = "iotDetails.iotEventCode", raw["iotDetails"]["iotEventCode"]
        code = text(value)
        if code is None or len(code) > 40:
            problem = "required" if value is None else shown(value) + " is not a DCSA code"
            path = code_key if code_key.startswith("iotDetails") else where + code_key
            errors.append(f"{path}: {problem} for a {kind} event")
            code = None
    used = () if v3 else (type_key, cls_key, code_key)
    return kind, classifier if isinstance(classifier, str) else None, norm, code, used


def map_event(
    raw: dict[str, Any], ctx: FeedContext, now: datetime, seen: dict[str, int], index: int
) -> Candidate | None:
    """The candidate of one DCSA event; None when its code is mapped to IGNORE."""
    v3 = isinstance(raw.get("eventClassification"), dict)
    errors: list[str] = []
    event_id, from_source = source_id(raw, v3, errors)
    if from_source:
        if event_id in seen:
            return reject(
                f"eventID: repeats event {seen[event_id]} of this body; every DCSA event has its own eventID", event_id
            )
        seen[event_id] = index
    if v3 and raw.get("isRetracted") is True:
        return reject(
            "isRetracted: the producer retracted this eventID; a retraction is not a milestone "
            "(the earlier event stays until corrected by hand)",
            event_id,
        )
    kind, classifier, norm, code, used = _classification(raw, v3, errors)
    when, meta = _times(raw, v3, norm == "ACT", now, errors)
    rest = {k: v for k, v in raw.items() if k not in ("eventID", "eventClassification", *used)}
    place = location(rest, v3, errors)
    refs = refs_of(rest, v3)
    for container in refs.equipment:
        if error := checks.container_error("equipmentReference", container):
            errors.append(error)
    mapped = None
    if kind is not None and norm is not None and code is not None:
        table = TABLE_OF_EVENT_TYPE[kind]
        lookup = code if norm == "ACT" else f"{code}/{norm}"
        mapped = ctx.codes.lookup(table, lookup)
        if mapped is None:
            errors.append(ctx.codes.unmapped(table, lookup))
    if errors:
        return reject(errors, event_id)
    if mapped == IGNORE:
        return None
    assert mapped is not None
    assert when is not None
    assert code is not None
    if not refs.ids and refs.equipment:
        # A container is not a shipment (several may share one, and it is reused for years):
        # an event naming nothing else is kept on the container as a load, never as a shipment.
        refs.ids["load"] = list(refs.equipment)
    if not refs.ids:
        return reject(
            "refs: the event names no booking (BKG/CBR), transport document (TRD), purchase order (PO) "
            "or equipment; there is nothing to correlate it with",
            event_id,
        )
    return _candidate(raw, rest, v3, mapped, event_id, code, classifier, norm, when, meta, place, refs)


def _reason(rest: dict[str, Any], v3: bool, mapped: str, code: str) -> dict[str, str] | None:
    """reason {code, text}: the SMDG delay reason (and change remark) when sent; for an
    exception type the event's own code and the source's reason text."""
    holder = sub(rest, "transportDetails") if v3 else rest
    if holder is not None:
        codes = holder.get("delayReasonCodes") if v3 else [holder.get("delayReasonCode")]
        delay = text(codes[0]) if isinstance(codes, list) and codes else None
        if delay and len(delay) <= 100:
            remark = text(holder.pop("changeRemark", None)) or text(holder.pop("vesselScheduleChangeRemark", None))
            if v3 and isinstance(codes, list) and len(codes) == 1:
                holder.pop("delayReasonCodes")
            elif not v3:
                holder.pop("delayReasonCode")
            return {"code": delay, "text": remark} if remark else {"code": delay}
    if mapped not in _REASONED:
        return None
    details = sub(rest, "shipmentDetails") if v3 else rest
    said = text(details.pop("reason", None)) if details is not None else None
    said = said or DESCRIPTIONS.get(code)
    return {"code": code, "text": said} if said else {"code": code}


def _candidate(
    raw: dict[str, Any],
    rest: dict[str, Any],
    v3: bool,
    mapped: str,
    event_id: str,
    code: str,
    classifier: str | None,
    norm: str | None,
    when: datetime,
    meta: datetime | None,
    place: dict[str, Any],
    refs: Refs,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "event_id": event_id,
        "type": mapped,
        "source_status": f"{code}/{classifier}",
    }
    if norm == "ACT":
        candidate["occurred_at"] = when.isoformat()
        rest.pop("eventDateTime", None)
    else:
        # A plan or estimate happens when it is issued; the time it names is what it predicts.
        candidate["occurred_at"] = (meta or when).isoformat()
        if mapped.endswith(".eta_updated"):
            candidate["eta"] = when.isoformat()
    candidate["refs"] = {kind: ids[0] if len(ids) == 1 else ids for kind, ids in refs.ids.items()}
    if place:
        candidate["location"] = place
    if reason := _reason(rest, v3, mapped, code):
        candidate["reason"] = reason
    if v3 and isinstance(raw.get("iotDetails"), dict) and "iotEventCode" in raw["iotDetails"]:
        classification = raw["eventClassification"]
        rest["iotEventTypeCode"] = classification.get("iotEventTypeCode", classification.get("iotEventType"))
    if refs.equipment:
        rest["equipment"] = refs.equipment
    attributes = {k: v for k, v in rest.items() if v not in (None, {}, [])}
    for value in attributes.values():
        if isinstance(value, dict):
            for key in [k for k, v in value.items() if v in ({}, [])]:
                value.pop(key)
    if attributes:
        candidate["attributes"] = attributes
    return candidate
