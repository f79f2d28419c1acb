"""Shippo tracking webhooks (`{"event": "track_updated", "data": {Track}}`) → one candidate per
tracking_history entry (or the tracking_status alone when there is no history)."""

from collections.abc import Iterator
from typing import Any

from apps.events.validation import Rejection

from ..base import Candidate, FeedContext, reject
from .common import Scan, as_dict, emit, parse_time, text


def webhook(data: dict[str, Any], ctx: FeedContext) -> Iterator[Candidate]:
    """Typed by the substatus code where it names a better type, else by the status."""
    track: dict[str, Any] = data["data"]
    number = text(track.get("tracking_number"), 100)
    history = track.get("tracking_history")
    if not history and isinstance(track.get("tracking_status"), dict):
        history, where = [track["tracking_status"]], "data.tracking_status"
    else:
        where = "data.tracking_history"
    if number is None:
        yield reject("data.tracking_number: required (the carrier's tracking number)")
        return
    if history is None:
        return
    if not isinstance(history, list):
        yield reject(f"{where}: want an array of tracking statuses")
        return
    carrier = text(track.get("carrier"), 100)
    service = track.get("servicelevel")
    common = {
        "carrier": carrier,
        "service": text(service.get("name"), 100) if isinstance(service, dict) else None,
        "metadata": text(track.get("metadata"), 500),
    }
    estimate = parse_time(track.get("eta"), ctx)
    scans: list[Scan | Rejection] = []
    for i, entry in enumerate(history):
        path = f"{where}[{i}]" if where.endswith("history") else where
        if not isinstance(entry, dict):
            scans.append(reject(f"{path}: want a tracking status object"))
            continue
        substatus = as_dict(entry.get("substatus"))
        location = as_dict(entry.get("location"))
        message = text(entry.get("status_details"), 2000)
        scan = Scan(
            platform="shippo",
            where=path,
            tracker=f"{carrier or ''}:{number}",
            tracking_number=number,
            status=entry.get("status"),
            detail=substatus.get("code"),
            when=entry.get("status_date"),
            place={k: location.get(k) for k in ("city", "state", "zip", "country")},
            message=message,
            source_id=text(entry.get("object_id"), 100),
            attributes={
                **common,
                "message": message,
                "substatus": text(substatus.get("text"), 500),
                "action_required": substatus.get("action_required")
                if isinstance(substatus.get("action_required"), bool)
                else None,
            },
        )
        scans.append(scan)
    yield from emit(scans, ctx, "carrier.shippo", "carrier.shippo_substatus", estimate)
