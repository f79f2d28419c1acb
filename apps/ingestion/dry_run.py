"""The dry run (http-api.md "Formats"): a body as a partner would send it, read through the
feed's format, shown as the canonical events it would produce, the per-event rejections, and
why nothing could be read — with the orders each event would land on as the graph stands now.
Nothing is stored: a read, for admins onboarding a feed."""

from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from apps.correlation.selectors import orders_of_refs
from apps.events.validation import Rejection, ValidEvent
from apps.feeds.models import Feed

from .feed_formats import feed_context
from .formats import FORMATS, UnreadableBody

MAX_LOOKUPS = 200  # distinct ids looked up for "would land on"; a big file shows the first ones


@dataclass
class DryRun:
    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def canonical_of(event: ValidEvent) -> dict[str, Any]:
    """The event as the canonical JSON shape (canonical-events.md §1), its time in the source's
    own offset."""
    offset = timezone(timedelta(minutes=event.offset_minutes))
    out: dict[str, Any] = {
        "event_id": event.event_key,
        "type": event.type,
        "occurred_at": event.occurred_at.astimezone(offset).isoformat(),
        "refs": event.refs,
    }
    if event.source_status:
        out["source_status"] = event.source_status
    return out | event.body


def dry_run(*, feed: Feed, body: bytes) -> DryRun:
    result = DryRun()
    try:
        outcomes = FORMATS[feed.format].parse(body, feed_context(feed))
    except UnreadableBody as exc:
        result.errors.append(str(exc))
        return result
    valid = [o for o in outcomes if isinstance(o, ValidEvent)]
    result.rejected = [o.as_dict() for o in outcomes if isinstance(o, Rejection)]
    wanted = sorted({(kind, value) for e in valid for kind, values in e.refs.items() for value in values})
    landing = orders_of_refs(wanted[:MAX_LOOKUPS])
    for event in valid:
        orders = sorted({o for kind, values in event.refs.items() for v in values for o in landing.get((kind, v), [])})
        result.events.append({**canonical_of(event), "would_land_on": orders})
    return result
