"""Events corrected in place: a stored event whose source record now reads differently.

Two ways an event changes after it was stored, both keeping its key (so it is corrected, never
duplicated): a replay after the feed's code table or mapping changed re-derives the message's
events (canonical-events.md §1: `source_status` is kept so that a mapping can be changed and
replayed), and an EPCIS error declaration re-sends an event's id to say it was wrong
(apps/ingestion/formats/epcis). The pipeline's `store` stage calls `events_correct`; the
`correlate` stage then recomputes the orders holding the corrected events."""

from collections.abc import Sequence

from .models import CanonicalEvent, EventRef
from .services import StoreRequest, StoreResult
from .validation import ValidEvent

_FIELDS = ("type", "occurred_at", "occurred_offset_minutes", "source_status", "refs", "body")


def declares_error(event: ValidEvent) -> bool:
    """A re-sent event that supersedes the stored one even from another message."""
    attributes = event.body.get("attributes")
    return isinstance(attributes, dict) and "error_declaration" in attributes


def _differs(row: CanonicalEvent, event: ValidEvent) -> bool:
    return (
        row.type != event.type
        or row.occurred_at != event.occurred_at
        or row.occurred_offset_minutes != event.offset_minutes
        or row.source_status != event.source_status
        or row.refs != event.refs
        or row.body != event.body
    )


def events_correct(requests: Sequence[StoreRequest], results: Sequence[StoreResult]) -> list[int]:
    """Update the stored events that these messages re-derived differently: their own (a
    replay) and, from any message, those declaring an error. One read and one bulk UPDATE per
    batch; refs rows rewritten for events whose refs changed. Returns the corrected event ids.
    Links made from the old refs stay (the graph only grows): documented in docs/formats.md."""
    wanted: dict[tuple[int, str], ValidEvent] = {}
    restored: set[int] = set()
    for request, result in zip(requests, results, strict=True):
        restored.update(result.restored_event_ids)
        duplicates = set(result.duplicate_indices)
        for event in request.events:
            if event.index in duplicates and not declares_error(event):
                continue
            wanted.setdefault((request.feed_id, event.event_key), event)
    if not restored and not any(declares_error(e) for e in wanted.values()):
        return []
    changed: list[CanonicalEvent] = []
    by_feed: dict[int, list[str]] = {}
    for feed_id, key in wanted:
        by_feed.setdefault(feed_id, []).append(key)
    for feed_id, keys in by_feed.items():
        for start in range(0, len(keys), 500):
            rows = CanonicalEvent.objects.filter(feed_id=feed_id, event_key__in=keys[start : start + 500]).only(
                "id", "event_key", *_FIELDS
            )
            for row in rows:
                event = wanted[(feed_id, row.event_key)]
                if (row.id in restored or declares_error(event)) and _differs(row, event):
                    row.type, row.occurred_at = event.type, event.occurred_at
                    row.occurred_offset_minutes, row.source_status = event.offset_minutes, event.source_status
                    refs_changed = row.refs != event.refs
                    row.refs, row.body = event.refs, event.body
                    changed.append(row)
                    if refs_changed:
                        EventRef.objects.filter(event_id=row.id).delete()
                        EventRef.objects.bulk_create(
                            EventRef(event_id=row.id, kind=kind, value=value)
                            for kind, values in event.refs.items()
                            for value in values
                        )
    CanonicalEvent.objects.bulk_update(changed, list(_FIELDS), batch_size=500)
    return sorted(row.id for row in changed)
