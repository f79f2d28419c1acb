"""EasyPost: webhook Events (tracker.created / tracker.updated), Trackers, and the Shipments and
Orders that embed them → one candidate per tracking detail."""

from collections.abc import Iterator
from typing import Any

from apps.events.validation import Rejection

from ..base import Candidate, FeedContext, reject
from .common import Scan, as_dict, compact, emit, join, parse_time, text

EASYPOST_OBJECTS = frozenset({"Event", "Tracker", "Shipment", "Order"})


def event(data: dict[str, Any], ctx: FeedContext) -> Iterator[Candidate]:
    """A webhook Event: its result's tracker(s). An Event of another object (a Batch, a
    ScanForm…) or without a result is one rejection saying so: the webhook URL of an EasyPost
    account receives every event type, and a 4xx would only make EasyPost retry it."""
    name = text(data.get("description"), 100) or "no description"
    ident = text(data.get("id"), 100) or "without id"
    result = data.get("result")
    if not isinstance(result, dict):
        yield reject(
            f"result: the EasyPost Event {ident} ({name}) carries no result object; nothing to map "
            "(tracker webhooks carry the Tracker in result)"
        )
        return
    kind = result.get("object")
    if kind in ("Tracker", "Shipment", "Order"):
        yield from objects(result, ctx, "result")
        return
    shown = f"a {kind}" if text(kind, 50) else "an object without a known type"
    yield reject(
        f"result.object: the EasyPost Event {ident} ({name}) carries {shown}, not a Tracker; "
        "this feed maps tracker webhooks (tracker.created, tracker.updated)"
    )


def objects(data: dict[str, Any], ctx: FeedContext, where: str) -> Iterator[Candidate]:
    """A Tracker, a Shipment (its embedded tracker) or an Order (its shipments' trackers)."""
    kind = data.get("object")
    if kind == "Tracker":
        yield from tracker(data, ctx, where)
    elif kind == "Shipment":
        embedded = data.get("tracker")
        if isinstance(embedded, dict):
            # A label not yet scanned has a tracker without details: no event.
            yield from tracker(embedded, ctx, join(where, "tracker"), shipment=text(data.get("id"), 100))
    elif kind == "Order":
        shipments = data.get("shipments")
        for i, shipment in enumerate(shipments if isinstance(shipments, list) else []):
            if isinstance(shipment, dict):
                yield from objects({**shipment, "object": "Shipment"}, ctx, join(where, f"shipments[{i}]"))
    elif kind == "Event":
        yield from event(data, ctx)


def tracker(data: dict[str, Any], ctx: FeedContext, where: str, shipment: str | None = None) -> Iterator[Candidate]:
    """One candidate per tracking detail, each at its own time (the pipeline orders stages)."""
    code = text(data.get("tracking_code"), 100)
    details = data.get("tracking_details")
    if code is None:
        if details:
            yield reject(f"{join(where, 'tracking_code')}: required (the carrier's tracking number)")
        return
    if details is None:
        return
    if not isinstance(details, list):
        yield reject(f"{join(where, 'tracking_details')}: want an array of tracking details")
        return
    carrier_detail = as_dict(data.get("carrier_detail"))
    # EasyPost's shipment id names its label record, not the TMS's shipment: bound as a
    # shipment it would claim the tracking number (first binding wins) before the TMS could.
    common = {
        "carrier": text(data.get("carrier"), 100),
        "tracker": text(data.get("id"), 100),
        "easypost_shipment": text(data.get("shipment_id"), 100) or shipment,
        "service": text(carrier_detail.get("service"), 100),
        "public_url": text(data.get("public_url"), 500),
        "is_return": data.get("is_return") if isinstance(data.get("is_return"), bool) else None,
    }
    # The tracker's estimate is stated now: emit puts it on the newest event only.
    estimate = parse_time(data.get("est_delivery_date"), ctx)
    identity = text(data.get("id"), 100) or f"{common['carrier'] or ''}:{code}"
    scans: list[Scan | Rejection] = []
    for i, detail in enumerate(details):
        path = join(where, f"tracking_details[{i}]")
        if not isinstance(detail, dict):
            scans.append(reject(f"{path}: want a TrackingDetail object"))
            continue
        location = as_dict(detail.get("tracking_location"))
        place = {k: location.get(k) for k in ("city", "state", "zip", "country")}
        message = text(detail.get("message"), 2000)
        scan = Scan(
            platform="easypost",
            where=path,
            tracker=identity,
            tracking_number=code,
            status=detail.get("status"),
            detail=detail.get("status_detail"),
            when=detail.get("datetime"),
            place=place,
            message=message,
            eta=parse_time(detail.get("est_delivery_date"), ctx),
            signed_by=text(data.get("signed_by"), 200),
            attributes={
                **common,
                "message": message,
                "description": text(detail.get("description"), 2000)
                if detail.get("description") != detail.get("message")
                else None,
                "carrier_code": text(detail.get("carrier_code"), 50),
                "source": text(detail.get("source"), 100),
                "tracking_location": compact({k: v for k, v in location.items() if k != "object"}),
            },
        )
        scans.append(scan)
    yield from emit(scans, ctx, "carrier.easypost", "carrier.easypost_detail", estimate)
