"""AfterShip tracking webhooks (`{"event": "tracking_update", "msg": {Tracking}}`) → one
candidate per checkpoint, typed by its tag."""

from collections.abc import Iterator
from typing import Any

from apps.events.validation import Rejection

from ..base import Candidate, FeedContext, reject
from .common import Scan, emit, parse_time, text


def webhook(data: dict[str, Any], ctx: FeedContext) -> Iterator[Candidate]:
    """The checkpoints of `msg`. A checkpoint_time without an offset is local time: read in the
    feed's zone. `order_id` / `order_number` are the storefront's ids, not necessarily the ERP
    order's: kept in attributes, not bound as an order."""
    msg: dict[str, Any] = data["msg"]
    number = text(msg.get("tracking_number"), 100)
    checkpoints = msg.get("checkpoints")
    if number is None:
        yield reject("msg.tracking_number: required (the carrier's tracking number)")
        return
    if checkpoints is None:
        return
    if not isinstance(checkpoints, list):
        yield reject("msg.checkpoints: want an array of checkpoints")
        return
    slug = text(msg.get("slug"), 100)
    common = {
        "carrier": slug,
        "aftership_id": text(msg.get("id"), 100),
        "order_id": text(msg.get("order_id"), 200),
        "order_number": text(msg.get("order_number"), 200),
        "title": text(msg.get("title"), 200),
    }
    estimate = parse_time(msg.get("expected_delivery"), ctx)
    aftership_edd = msg.get("aftership_estimated_delivery_date")
    if estimate is None and isinstance(aftership_edd, dict):
        estimate = parse_time(aftership_edd.get("estimated_delivery_date"), ctx)
    if estimate is None:
        # A date without a time of day is no instant to put in eta: kept as sent.
        common["expected_delivery"] = text(msg.get("expected_delivery"), 40)
    identity = common["aftership_id"] or f"{slug or ''}:{number}"
    scans: list[Scan | Rejection] = []
    for i, checkpoint in enumerate(checkpoints):
        path = f"msg.checkpoints[{i}]"
        if not isinstance(checkpoint, dict):
            scans.append(reject(f"{path}: want a checkpoint object"))
            continue
        country = checkpoint.get("country_iso3") or checkpoint.get("country_name")
        place = {k: checkpoint.get(k) for k in ("city", "state", "zip")} | {"country": country}
        message = text(checkpoint.get("message"), 2000)
        subtag_message = text(checkpoint.get("subtag_message"), 2000)
        scan = Scan(
            platform="aftership",
            where=path,
            tracker=identity,
            tracking_number=number,
            status=checkpoint.get("tag"),
            detail=checkpoint.get("subtag"),
            when=checkpoint.get("checkpoint_time"),
            place=place,
            message=subtag_message or message,
            place_name=text(checkpoint.get("location"), 200),
            signed_by=text(msg.get("signed_by"), 200),
            attributes={
                **common,
                "message": message,
                "subtag_message": subtag_message,
                "raw_tag": text(checkpoint.get("raw_tag"), 100),
                "coordinates": checkpoint.get("coordinates")
                if isinstance(checkpoint.get("coordinates"), list)
                else None,
            },
        )
        scans.append(scan)
    yield from emit(scans, ctx, "carrier.aftership", None, estimate)
