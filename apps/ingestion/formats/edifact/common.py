"""What IFTSTA and DESADV mapping share: dates (DTM, 2379 format codes), references (RFF),
places (LOC), parties (NAD), transport (TDT) and the event id."""

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from .codes import REF_KINDS, TRANSPORT_MODES
from .syntax import Segment

# 2379 format code → (digits of the date/time part, strptime pattern); the zone part of
# 205 / 30x follows the digits.
FORMATS: dict[str, tuple[int, str]] = {
    "101": (6, "%y%m%d"),
    "102": (8, "%Y%m%d"),
    "201": (10, "%y%m%d%H%M"),
    "202": (12, "%y%m%d%H%M%S"),
    "203": (12, "%Y%m%d%H%M"),
    "204": (14, "%Y%m%d%H%M%S"),
    "205": (12, "%Y%m%d%H%M"),  # CCYYMMDDHHMMZHHMM
    "301": (10, "%y%m%d%H%M"),  # YYMMDDHHMMZZZ
    "302": (12, "%y%m%d%H%M%S"),  # YYMMDDHHMMSSZZZ
    "303": (12, "%Y%m%d%H%M"),  # CCYYMMDDHHMMZZZ
    "304": (14, "%Y%m%d%H%M%S"),  # CCYYMMDDHHMMSSZZZ
}
ZONED = frozenset({"205", "301", "302", "303", "304"})
ZONE = re.compile(r"([+-])(\d{2}):?(\d{2})?")
UTC_NAMES = frozenset({"Z", "UTC", "GMT", "UT"})


def parse_dtm(value: str, fmt: str, tz: ZoneInfo | None) -> tuple[str | None, str]:
    """A DTM value in format `fmt` (2379) → ISO 8601 with offset, or (None, why not). A time
    without a zone is read in `tz` (None: left naive, the source's own reading, for event ids).
    Without 2379 the length tells 102 / 203 / 204 apart."""
    fmt = fmt or {8: "102", 12: "203", 14: "204"}.get(len(value), "")
    if not fmt:
        return None, f"{value!r} has no date format (DTM C507 2379) and is not CCYYMMDD[HHMM[SS]]"
    spec = FORMATS.get(fmt)
    if spec is None:
        return None, f"date format {fmt!r} is not a calendar date/time this feed reads (use 102, 203, 204, 303 …)"
    digits, pattern = spec
    stamp, zone = value[:digits], value[digits:].strip()
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) != digits:
        return None, f"{value!r} is not a date/time in format {fmt}"
    try:
        naive = datetime.strptime(stamp, pattern)  # noqa: DTZ007 - the zone is attached below
    except ValueError:
        return None, f"{value!r} is not a valid date/time in format {fmt}"
    if fmt not in ZONED:
        if zone:
            return None, f"{value!r} has characters after the date/time of format {fmt}"
        return naive.replace(tzinfo=tz).isoformat(), ""
    if zone.upper() in UTC_NAMES:
        return naive.replace(tzinfo=UTC).isoformat(), ""
    match = ZONE.fullmatch(zone)
    if match is None:
        return None, f"{value!r}: time zone {zone!r} is not an offset such as +01 or -0500 (format {fmt})"
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None, f"{value!r}: time zone offset {zone!r} is out of range"
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    return naive.replace(tzinfo=timezone(offset)).isoformat(), ""


def dtm(segment: Segment) -> tuple[str, str, str]:
    """(qualifier 2005, value 2380, format 2379) of a DTM."""
    return segment.value(0, 0), segment.value(0, 1), segment.value(0, 2)


def dates(segments: list[Segment], tz: ZoneInfo) -> dict[str, str]:
    """Qualifier → ISO time of DTMs, for attributes (an unreadable one is kept as sent)."""
    out: dict[str, str] = {}
    for segment in segments:
        qualifier, value, fmt = dtm(segment)
        if qualifier and value:
            parsed, _ = parse_dtm(value, fmt, tz)
            out[qualifier] = parsed or value
    return out


def add_refs(segments: list[Segment], into: dict[str, list[str]]) -> None:
    """RFF C506 (1153 qualifier, 1154 id) → qualifier → ids, in order, de-duplicated."""
    for segment in segments:
        qualifier, value = segment.value(0, 0).upper(), segment.value(0, 1)
        if qualifier and value:
            ids = into.setdefault(qualifier, [])
            if value not in ids:
                ids.append(value)


def refs_of(references: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Canonical refs (by REF_KINDS) and the references left for attributes."""
    refs: dict[str, list[str]] = {}
    other: dict[str, list[str]] = {}
    for qualifier, ids in references.items():
        kind = REF_KINDS.get(qualifier)
        target = refs.setdefault(kind, []) if kind else other.setdefault(qualifier, [])
        target.extend(i[:100] for i in ids if i[:100] not in target)
    return refs, other


def compact(refs: dict[str, list[str]]) -> dict[str, str | list[str]]:
    return {kind: ids[0] if len(ids) == 1 else ids for kind, ids in refs.items() if ids}


def place(segment: Segment) -> dict[str, str]:
    """LOC → {qualifier, code (UN/LOCODE when 3055 = 6), name, …}."""
    out = {
        "qualifier": segment.value(0),
        "code": segment.value(1, 0),
        "name": segment.value(1, 3),
        "code_list": ":".join(c for c in segment.components(1)[1:3] if c),
        "related": segment.value(2, 0),
    }
    return {k: v for k, v in out.items() if v}


def location(segment: Segment) -> dict[str, str] | None:
    where = place(segment)
    out: dict[str, str] = {k: where[k] for k in ("code", "name") if k in where}
    return out or None


def party(segment: Segment) -> dict[str, str]:
    """NAD → {id, name} (C082 party id, C080 name or C058 name and address)."""
    name = " ".join(c for c in segment.components(3) if c) or " ".join(c for c in segment.components(2) if c)
    out = {"id": segment.value(1, 0), "name": name[:200], "city": segment.value(5), "country": segment.value(8)}
    return {k: v for k, v in out.items() if v}


def transport(tdt: Segment) -> dict[str, Any]:
    """TDT → stage (8051), conveyance (8028), mode (8067, Rec 19), means (8179), carrier
    (C040), and the vessel (C222, maritime) or other means of transport."""
    mode = tdt.value(2, 0)
    means_id, means_name = tdt.value(7, 0), tdt.value(7, 3)
    out: dict[str, Any] = {
        "stage": tdt.value(0),
        "conveyance": tdt.value(1),
        "mode": mode,
        "mode_name": TRANSPORT_MODES.get(mode, ""),
        "means": tdt.value(3, 0),
        "carrier": tdt.value(4, 0),
        "carrier_name": tdt.value(4, 3),
    }
    if means_id or means_name:
        vehicle = {k: v for k, v in (("id", means_id), ("name", means_name)) if v}
        out["vessel" if mode == "1" else "means_of_transport"] = vehicle
    return {k: v for k, v in out.items() if v}


def event_id(*parts: Any) -> str:
    """ "edifact:" + sha256 of the source identity (never control references or mapped types)."""
    digest = hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return "edifact:" + digest[:32]


def number(value: str) -> float | None:
    """A numeric value: ISO 9735 allows comma or full stop as decimal mark."""
    text = value.replace(",", ".")
    try:
        result = float(text)
    except ValueError:
        return None
    return result if result == result and abs(result) != float("inf") else None
