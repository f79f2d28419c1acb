"""What the platforms' trackers have in common: one scan (a tracking detail, checkpoint or
history entry) → one canonical candidate."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from apps.events.taxonomy import EXCEPTION_TYPES
from apps.events.validation import Rejection

from ..base import IGNORE, Candidate, FeedContext, reject
from ..dcsa.checks import content_hash

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)
_REASONED = EXCEPTION_TYPES | {"exception.cleared"}


def text(value: object, limit: int = 200) -> str | None:
    """A non-empty stripped string of at most `limit` characters, else None."""
    if isinstance(value, str) and value.strip() and len(value.strip()) <= limit:
        return value.strip()
    return None


def parse_time(value: object, ctx: FeedContext) -> datetime | None:
    """An ISO 8601 date-time; one without an offset is read in the feed's zone."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        zone: tzinfo = ctx.tz
        if zulu:
            zone = UTC
        elif sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            zone = timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, zone)
    except (ValueError, OverflowError):
        return None


def as_dict(value: object) -> dict[str, Any]:
    """The object itself, or an empty one for anything else (a null, a string…)."""
    return value if isinstance(value, dict) else {}


def compact(values: dict[str, Any]) -> dict[str, Any]:
    """Without the empty values (None, "", {}, [])."""
    return {k: v for k, v in values.items() if v not in (None, "", {}, [])}


@dataclass
class Scan:
    """One scan as the platform reported it; `where` names it in a rejection."""

    platform: str
    where: str
    tracker: str  # the tracker's identity (its id, or carrier + tracking number)
    tracking_number: str
    status: object
    detail: object
    when: object
    place: dict[str, Any]  # city, state, zip, country (or the platform's own keys)
    message: str | None = None
    source_id: str | None = None  # the platform's own id of the scan, when it has one
    place_name: str | None = None
    eta: datetime | None = None
    signed_by: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def join(where: str, name: str) -> str:
    """A field's path in a rejection (`result.tracking_details[3]`, or `tracking_details[3]`)."""
    return f"{where}.{name}" if where else name


def emit(
    scans: list[Scan | Rejection],
    ctx: FeedContext,
    status_table: str,
    detail_table: str | None,
    estimate: datetime | None,
) -> Iterator[Candidate]:
    """The candidates of one tracker's scans, in source order. The tracker-level estimate is
    a statement made now: it goes with the newest event produced, not with the old scans."""
    out = [s if isinstance(s, Rejection) else candidate(s, ctx, status_table, detail_table) for s in scans]
    events = [(datetime.fromisoformat(c["occurred_at"]), i) for i, c in enumerate(out) if isinstance(c, dict)]
    if estimate is not None and events:
        latest = out[max(events)[1]]
        assert isinstance(latest, dict)
        latest.setdefault("eta", estimate.isoformat())
    yield from (c for c in out if c is not None)


def candidate(scan: Scan, ctx: FeedContext, status_table: str, detail_table: str | None) -> Candidate | None:
    """The scan's canonical event; None when its code is mapped to IGNORE."""
    status, detail = text(scan.status, 50), text(scan.detail, 50)
    place = {k: v for k, v in scan.place.items() if text(v)}
    # The same scan in a later delivery of the tracker gets the same id: the source's own scan
    # identity, never the webhook's (which changes per delivery) nor the mapped type.
    identity = [scan.tracker, scan.when, scan.status, scan.detail, sorted(place.items())]
    event_id = f"{scan.platform}:{scan.source_id}" if scan.source_id else f"{scan.platform}:{content_hash(identity)}"
    if status is None:
        shown = "required" if scan.status is None else "not a status code"
        return reject(f"{scan.where}.status: {shown}", event_id)
    when = parse_time(scan.when, ctx)
    if when is None:
        shown = repr(scan.when) if isinstance(scan.when, str) and len(scan.when) <= 40 else "missing"
        return reject(f"{scan.where}: time {shown} is not an ISO 8601 date-time (e.g. 2024-08-02T19:26:52Z)", event_id)
    mapped = ctx.codes.lookup(detail_table, detail) if detail and detail_table else None
    if mapped is None:
        mapped = ctx.codes.lookup(status_table, status)
    if mapped is None:
        return reject(f"{scan.where}.{ctx.codes.unmapped(status_table, status)}", event_id)
    if mapped == IGNORE:
        return None
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": mapped,
        "occurred_at": when.isoformat(),
        "source_status": f"{status}/{detail}" if detail else status,
        "refs": {"tracking_number": scan.tracking_number},
    }
    name = scan.place_name or ", ".join(str(v).strip() for v in place.values())
    if name:
        event["location"] = {"name": name}
    if mapped in _REASONED:
        event["reason"] = compact({"code": detail or status, "text": scan.message})
    if scan.eta is not None:
        event["eta"] = scan.eta.isoformat()
    if mapped == "delivery.completed" and scan.signed_by:
        event["pod"] = {"signed_by": scan.signed_by}
    if attributes := compact(scan.attributes):
        event["attributes"] = attributes
    return event
