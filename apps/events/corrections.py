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


def events_correct(
    requests: Sequence[StoreRequest], results: Sequence[StoreResult], *, declaring_feeds: frozenset[int] = frozenset()
) -> list[int]:
    """Update the stored events that these messages re-derived differently: their own (a
    replay) and those declaring an error, from any message of a feed in `declaring_feeds` (the
    EPCIS feeds: a declaration is a standard's act, never an attribute any partner may send).
    One read, one bulk UPDATE, one refs delete and one refs insert per batch. Returns the
    corrected event ids. Links made from the old refs stay (the graph only grows): documented
    in docs/formats.md."""
    wanted: dict[tuple[int, str], ValidEvent] = {}
    restored: set[int] = set()
    declared: set[tuple[int, str]] = set()
    for request, result in zip(requests, results, strict=True):
        restored.update(result.restored_event_ids)
        duplicates = set(result.duplicate_indices)
        for event in request.events:
            key = (request.feed_id, event.event_key)
            declaring = request.feed_id in declaring_feeds and declares_error(event)
            if declaring:
                wanted[key] = event  # a declaration wins over the original, even in the same body
                declared.add(key)
            elif event.index not in duplicates and key not in declared:
                wanted.setdefault(key, event)
    if not restored and not declared:
        return []
    changed: list[CanonicalEvent] = []
    refs_changed: list[int] = []
    by_feed: dict[int, list[str]] = {}
    for feed_id, event_key in wanted:
        by_feed.setdefault(feed_id, []).append(event_key)
    for feed_id, keys in by_feed.items():
        for start in range(0, len(keys), 500):
            rows = CanonicalEvent.objects.filter(feed_id=feed_id, event_key__in=keys[start : start + 500]).only(
                "id", "event_key", *_FIELDS
            )
            for row in rows:
                key = (feed_id, row.event_key)
                event = wanted[key]
                if (row.id in restored or key in declared) and _differs(row, event):
                    if row.refs != event.refs:
                        refs_changed.append(row.id)
                    row.type, row.occurred_at = event.type, event.occurred_at
                    row.occurred_offset_minutes, row.source_status = event.offset_minutes, event.source_status
                    row.refs, row.body = event.refs, event.body
                    changed.append(row)
    CanonicalEvent.objects.bulk_update(changed, list(_FIELDS), batch_size=500)
    if refs_changed:
        EventRef.objects.filter(event_id__in=refs_changed).delete()
        by_id = {row.id: row for row in changed}
        EventRef.objects.bulk_create(
            (
                EventRef(event_id=event_id, kind=kind, value=value)
                for event_id in refs_changed
                for kind, values in by_id[event_id].refs.items()
                for value in values
            ),
            batch_size=1000,
        )
    return sorted(row.id for row in changed)
