"""214 Transportation Carrier Shipment Status Message → one canonical event per AT7.

Layout (004010): B10 (B1001 carrier's reference / PRO, B1002 shipment id, B1003 SCAC),
L11/N9/MAN references, N1 loops, MS3; then LX loops, each with AT7 loops (AT7 + MS1 location
+ MS2 equipment) and the stop's own L11/MAN/AT8/K1/Q7. References of the set apply to every
status, those of an LX to its statuses. An AT7 outside any LX is read as its own stop."""

from dataclasses import dataclass, field
from typing import Any

from .codes import (
    APPOINTMENT_TABLE,
    APPOINTMENT_TEXT,
    AT7_TABLE,
    ESTIMATE_STATUSES,
    ETA_APPOINTMENTS,
    ETA_STATUSES,
    REASON_TEXT,
    STATUS_TEXT,
    WINDOW_APPOINTMENTS,
)
from .common import (
    PARTY_TAGS,
    Parties,
    RefBag,
    SetEnv,
    compact,
)
from .times import digits, iso, stamp
from .tokens import Segment

_PART_NAME = {"date": "AT705", "time": "AT706", "zone": "AT707"}


@dataclass
class _At7:
    seg: Segment
    pos: int
    ms1: Segment | None = None
    ms2: Segment | None = None


@dataclass
class _Stop:
    lx: str
    refs: RefBag = field(default_factory=RefBag)
    at7s: list[_At7] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


def _add_ref(bag: RefBag, seg: Segment) -> None:
    if seg.tag == "L11":  # L11: reference, qualifier
        bag.add(seg.el(2), seg.el(1))
    elif seg.tag == "N9":  # N9: qualifier, reference
        bag.add(seg.el(1), seg.el(2))
    elif seg.el(1) in ("GM", "CP"):  # MAN: SSCC / carrier package id
        bag.add_kind("lpn", seg.el(2))
    else:
        bag.add(f"MAN-{seg.el(1)}", seg.el(2))


def _detail(attrs: dict[str, Any], seg: Segment) -> None:
    """Stop or set details that map to no canonical field (kept compact in attributes)."""
    if seg.tag == "AT8":
        attrs.setdefault(
            "weight",
            compact({"qualifier": seg.el(1), "unit": seg.el(2), "value": seg.el(3), "lading_quantity": seg.el(4)}),
        )
    elif seg.tag == "K1":
        attrs.setdefault("remarks", []).append(" ".join(x for x in (seg.el(1), seg.el(2)) if x))
    elif seg.tag == "Q7":
        attrs.setdefault("lading_exceptions", []).append(compact({"code": seg.el(1), "quantity": seg.el(2)}))
    elif seg.tag == "MS3":
        attrs.setdefault("carrier", compact({"scac": seg.el(1), "city": seg.el(3), "transport_method": seg.el(4)}))


def _degrees(code: str, direction: str, width: int, limit: float) -> float | None:
    """DDDMMSS / DDMMSS (element 1654 / 1655) with E/W or N/S → signed decimal degrees."""
    if not digits(code) or len(code) != width + 4:
        return None
    deg, minutes, seconds = int(code[:width]), int(code[width : width + 2]), int(code[width + 2 :])
    if minutes > 59 or seconds > 59:
        return None
    value = deg + minutes / 60 + seconds / 3600
    if value > limit:
        return None
    return round(-value if direction in ("W", "S") else value, 6)


def _location(ms1: Segment | None) -> dict[str, Any] | None:
    if ms1 is None:
        return None
    city, state, country = ms1.el(1), ms1.el(2), ms1.el(3)
    loc: dict[str, Any] = {}
    code = ",".join(x for x in (city, state, country) if x)
    if code:
        loc["code"] = code
    if city:
        loc["name"] = f"{city}, {state}" if state else city
    lon = _degrees(ms1.el(4), ms1.el(6), 3, 180)
    lat = _degrees(ms1.el(5), ms1.el(7), 2, 90)
    if lon is not None and lat is not None:
        loc["lat"], loc["lon"] = lat, lon
    return loc or None


def map_214(env: SetEnv) -> None:
    """Every AT7 of the set → a candidate (event, rejection, or nothing when ignored)."""
    b10: Segment | None = None
    header = RefBag()
    parties = Parties()
    header_attrs: dict[str, Any] = {}
    stops: list[_Stop] = []
    stop: _Stop | None = None
    at7: _At7 | None = None
    for pos, seg in enumerate(env.tx.segments[1:-1], start=2):
        tag = seg.tag
        if tag == "B10":
            b10 = b10 or seg
        elif tag == "LX":
            stop, at7 = _Stop(lx=seg.el(1)), None
            stops.append(stop)
        elif tag == "AT7":
            if stop is None:
                stop = _Stop(lx="")
                stops.append(stop)
            at7 = _At7(seg, pos)
            stop.at7s.append(at7)
        elif tag in ("MS1", "MS2") and at7 is not None:
            if tag == "MS1":
                at7.ms1 = at7.ms1 or seg
            else:
                at7.ms2 = at7.ms2 or seg
        elif tag in ("L11", "N9", "MAN"):
            _add_ref(stop.refs if stop else header, seg)
        elif tag in PARTY_TAGS:
            parties.feed(seg)
        else:
            _detail(stop.attrs if stop else header_attrs, seg)
    shipment = b10.el(2) if b10 else ""
    if b10 is not None and b10.el(1):
        header.add_kind("tracking_number", b10.el(1))
    if b10 is not None and b10.el(3):
        header_attrs["scac"] = b10.el(3)
    if parties.by_code:
        header_attrs["parties"] = parties.by_code
    statuses = [a for s in stops for a in s.at7s]
    if not statuses:
        env.reject("no AT7 shipment status in the set; a 214 reports each status in an AT7 segment (LX loop)")
        return
    windows, promise = _windows(env, statuses)
    if windows:
        header_attrs["windows"] = windows
    b10_values = [v.strip() for v in b10.values()[1:4]] if b10 else []
    for s in stops:
        bag = header.absorb(s.refs)
        refs = bag.refs(shipment)
        attrs = {**header_attrs, **bag.attributes(), **s.attrs, "lx": s.lx}
        for a in s.at7s:
            _status(env, a, refs, compact(attrs), promise, b10_values)


def _windows(env: SetEnv, statuses: list[_At7]) -> tuple[dict[str, str], str | None]:
    """Delivery/pick-up windows of the set (AT703 ED/LD/EP/LP without AT701); LD is the
    promise, given to every status of the set as `promised_by`."""
    windows: dict[str, str] = {}
    for a in statuses:
        s = a.seg
        code = s.el(3)
        if s.el(1) or code not in WINDOW_APPOINTMENTS:
            continue
        when = stamp(s.el(5), s.el(6), s.el(7), env.ctx.tz, end_of_day=code in ("LD", "LP"))
        if when.value is not None:
            windows.setdefault(code, iso(when.value))
    return windows, windows.get("LD")


def _status(
    env: SetEnv, a: _At7, refs: dict[str, Any], attrs: dict[str, Any], promise: str | None, b10: list[str]
) -> None:
    s = a.seg
    status, reason, appt, appt_reason = s.el(1), s.el(2), s.el(3), s.el(4)
    where = f"AT7 at segment {a.pos}"
    ms1 = [v.strip() for v in a.ms1.values()[1:]] if a.ms1 else []
    event_id = env.event_id(b10, refs, [v.strip() for v in s.values()[1:8]], ms1)
    if not status and not appt:
        env.reject(f"{where}: neither a shipment status (AT701) nor an appointment status (AT703); send one", event_id)
        return
    when = stamp(s.el(5), s.el(6), s.el(7), env.ctx.tz)
    if when.value is None:
        if when.bad:
            env.reject(f"{where} ({status or appt}): {_PART_NAME[when.bad]} {when.problem}", event_id)
        else:
            env.reject(f"{where} ({status or appt}): no date (AT705); a status needs the date it happened", event_id)
        return
    if not refs:
        env.reject(
            f"{where} ({status or appt}): nothing identifies the shipment (no B10 ids, no L11/N9/MAN reference); "
            "send the carrier's PRO in B1001 or the shipment id in B1002",
            event_id,
        )
        return
    estimate = status in ESTIMATE_STATUSES or not status
    occurred = env.document_time() if estimate else when.value
    if occurred is None:
        env.reject(
            f"{where} ({status or appt}): an estimate needs the document's date (GS04/GS05) to be dated", event_id
        )
        return
    event: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": iso(occurred),
        "source_status": status or appt,
        "refs": refs,
    }
    extra: dict[str, Any] = {}
    if status in ETA_STATUSES or (not status and appt in ETA_APPOINTMENTS):
        event["eta"] = iso(when.value)
    elif not status and appt == "LD":
        event["promised_by"] = promise or iso(when.value)
    elif estimate:
        extra["estimated_at" if status else "appointment_at"] = iso(when.value)
    if promise and "promised_by" not in event:
        event["promised_by"] = promise
    reason_code = reason if status else appt_reason
    if reason_code and reason_code != "NS":
        event["reason"] = compact({"code": reason_code, "text": REASON_TEXT.get(reason_code)})
    location = _location(a.ms1)
    if location:
        event["location"] = location
    equipment = (
        compact({"scac": a.ms2.el(1), "number": a.ms2.el(2), "type": a.ms2.el(3)}) if a.ms2 is not None else None
    )
    event["attributes"] = compact(
        {
            "status_text": STATUS_TEXT.get(status) if status else APPOINTMENT_TEXT.get(appt),
            "appointment": (
                compact({"code": appt, "reason": appt_reason, "text": APPOINTMENT_TEXT.get(appt)})
                if status and appt
                else None
            ),
            "time_code": s.el(7),
            "date_only": True if not when.time_sent else None,
            "equipment": equipment,
            **extra,
            **attrs,
            "x12": env.envelope(),
        }
    )
    mapped = env.emit(AT7_TABLE if status else APPOINTMENT_TABLE, status or appt, event, where=where)
    if mapped == "exception.raised" and "reason" not in event:
        # exception.raised says which exception in reason.code (canonical-events.md §3).
        event["reason"] = compact({"code": status or appt, "text": STATUS_TEXT.get(status)})
