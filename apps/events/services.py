"""Storing canonical events in bulk, idempotently.

PostgreSQL: COPY into a transaction-scoped staging table, then one
`INSERT … SELECT … ON CONFLICT (feed_id, event_key) DO NOTHING RETURNING id, event_key`,
then COPY of the ref rows of the new events. The unique constraint is the dedupe; two workers
storing the same event race on it and exactly one wins. SQLite (embedded demo) takes a plain
bulk_create path: its writers are serialised anyway."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import orjson
from django.db import connection

from .models import CanonicalEvent, EventRef
from .validation import ValidEvent

EVENT_COLUMNS = (
    "matched",
    "feed_id",
    "message_id",
    "event_key",
    "has_source_id",
    "type",
    "system",
    "occurred_at",
    "occurred_offset_minutes",
    "received_at",
    "source_status",
    "refs",
    "body",
    "index_in_message",
    "future_dated",
    "held_until",
)

# A feed's future_tolerance when the caller names none (the Feed model's default).
DEFAULT_FUTURE_TOLERANCE = timedelta(minutes=15)


@dataclass
class StoreResult:
    new_event_ids: list[int] = field(default_factory=list)
    # Events this same message had stored before (a retry or a replay): accepted, not duplicates.
    restored_event_ids: list[int] = field(default_factory=list)
    duplicate_indices: list[int] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.new_event_ids) + len(self.restored_event_ids)

    @property
    def duplicates(self) -> int:
        return len(self.duplicate_indices)


@dataclass(frozen=True)
class StoreRequest:
    """The valid events of one raw message, to be stored."""

    feed_id: int
    system: str
    message_id: UUID | str
    received_at: datetime
    events: Sequence[ValidEvent]
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE  # the feed's


def held_until(occurred_at: datetime, received_at: datetime, tolerance: timedelta) -> datetime | None:
    """When an event dated further ahead of its arrival than the tolerance may move a stage
    (its own time), or None for an event that may at once."""
    return occurred_at if occurred_at > received_at + tolerance else None


def events_store(
    *,
    feed_id: int,
    system: str,
    message_id: UUID | str,
    received_at: datetime,
    events: Sequence[ValidEvent],
    matched: bool = False,
) -> StoreResult:
    """Store the events of one message; must run inside the caller's transaction."""
    return events_store_batch([StoreRequest(feed_id, system, message_id, received_at, events)], matched=matched)[0]


def events_store_batch(requests: Sequence[StoreRequest], *, matched: bool = False) -> list[StoreResult]:
    """Store the events of several messages (one result each, in order); must run inside the
    caller's transaction. On PostgreSQL the whole batch is one COPY, one INSERT and one COPY of
    refs, whatever the number of messages: a worker's batch of 20 messages costs what one did.
    A key sent by two messages of the batch goes to the first; the second sees a duplicate, as
    if they had been stored one after the other.

    `matched`: the flag new events start with (the caller's next stage corrects it in the same
    transaction: the pipeline's `store` stage, apps/pipeline/stages.py)."""
    results = [StoreResult() for _ in requests]
    uniques: list[list[ValidEvent]] = []
    for request, result in zip(requests, results, strict=True):
        first_by_key: dict[str, ValidEvent] = {}
        for event in request.events:
            if event.event_key in first_by_key:
                result.duplicate_indices.append(event.index)  # repeated inside the same message
            else:
                first_by_key[event.event_key] = event
        uniques.append(list(first_by_key.values()))
    if connection.vendor == "postgresql":
        inserted = _insert_postgres(requests, uniques, matched)
    else:
        inserted = [_insert_generic(r, unique, matched) for r, unique in zip(requests, uniques, strict=True)]
    conflicted_by_feed: dict[int, list[str]] = {}
    for request, unique, mine in zip(requests, uniques, inserted, strict=True):
        conflicted_by_feed.setdefault(request.feed_id, []).extend(
            e.event_key for e in unique if e.event_key not in mine
        )
    owners = {feed_id: _owners(feed_id, keys) for feed_id, keys in conflicted_by_feed.items() if keys}
    for request, unique, mine, result in zip(requests, uniques, inserted, results, strict=True):
        result.new_event_ids = sorted(mine.values())
        for event in unique:
            if event.event_key in mine:
                continue
            event_id, owner_message = owners[request.feed_id][event.event_key]
            if str(owner_message) == str(request.message_id):
                result.restored_event_ids.append(event_id)
            else:
                result.duplicate_indices.append(event.index)
        result.duplicate_indices.sort()
    return results


def _owners(feed_id: int, keys: list[str]) -> dict[str, tuple[int, object]]:
    out: dict[str, tuple[int, object]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = CanonicalEvent.objects.filter(feed_id=feed_id, event_key__in=chunk).values_list(
            "event_key", "id", "message_id"
        )
        out.update({k: (i, m) for k, i, m in rows})
    return out


def event_row(
    feed_id: int,
    system: str,
    message_id: UUID | str,
    received_at: datetime,
    e: ValidEvent,
    matched: bool = False,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> tuple[object, ...]:
    """One row of EVENT_COLUMNS, as COPY writes it."""
    held = held_until(e.occurred_at, received_at, future_tolerance)
    return (
        matched,
        feed_id,
        str(message_id),
        e.event_key,
        e.has_source_id,
        e.type,
        system,
        e.occurred_at,
        e.offset_minutes,
        received_at,
        e.source_status,
        orjson.dumps(e.refs).decode(),
        orjson.dumps(e.body).decode(),
        e.index,
        held is not None,
        held,
    )


def _insert_postgres(
    requests: Sequence[StoreRequest], uniques: list[list[ValidEvent]], matched: bool
) -> list[dict[str, int]]:
    """event_key → id of the events each request inserted."""
    cols = ", ".join(EVENT_COLUMNS)
    inserted: list[dict[str, int]] = [{} for _ in requests]
    if not any(uniques):
        return inserted
    position = {str(r.message_id): i for i, r in enumerate(requests)}
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor: COPY is not part of DB-API
        # Session-scoped (pooled connections keep it); emptied at every commit. `seq` keeps the
        # batch's order (message, then position in the message) for the first-wins insert.
        raw.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS ct_stage_event_rows ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT 0 AS seq, {cols} FROM events_canonicalevent WITH NO DATA"
        )
        raw.execute("DELETE FROM ct_stage_event_rows")  # a second store in one transaction
        seq = 0
        with raw.copy(f"COPY ct_stage_event_rows (seq, {cols}) FROM STDIN") as copy:
            for r, unique in zip(requests, uniques, strict=True):
                for e in unique:
                    row = event_row(r.feed_id, r.system, r.message_id, r.received_at, e, matched, r.future_tolerance)
                    copy.write_row((seq, *row))
                    seq += 1
        raw.execute(
            f"INSERT INTO events_canonicalevent ({cols}) "  # noqa: S608 - fixed column list
            f"SELECT {cols} FROM ct_stage_event_rows ORDER BY seq "
            "ON CONFLICT (feed_id, event_key) DO NOTHING RETURNING message_id, event_key, id"
        )
        for message_id, event_key, event_id in raw.fetchall():
            inserted[position[str(message_id)]][event_key] = event_id
        with raw.copy("COPY events_eventref (event_id, kind, value) FROM STDIN") as copy:
            for unique, mine in zip(uniques, inserted, strict=True):
                for e in unique:
                    event_id = mine.get(e.event_key)
                    if event_id is None:
                        continue
                    for kind, ids in e.refs.items():
                        for value in ids:
                            copy.write_row((event_id, kind, value))
    return inserted


def _insert_generic(request: StoreRequest, events: list[ValidEvent], matched: bool) -> dict[str, int]:
    feed_id, received_at = request.feed_id, request.received_at
    existing = set(_owners(feed_id, [e.event_key for e in events]))
    fresh = [e for e in events if e.event_key not in existing]
    objs = CanonicalEvent.objects.bulk_create(
        [
            CanonicalEvent(
                feed_id=feed_id,
                message_id=request.message_id,
                event_key=e.event_key,
                has_source_id=e.has_source_id,
                type=e.type,
                system=request.system,
                occurred_at=e.occurred_at,
                occurred_offset_minutes=e.offset_minutes,
                received_at=received_at,
                source_status=e.source_status,
                refs=e.refs,
                body=e.body,
                index_in_message=e.index,
                matched=matched,
                future_dated=(held := held_until(e.occurred_at, received_at, request.future_tolerance)) is not None,
                held_until=held,
            )
            for e in fresh
        ],
        batch_size=500,
    )
    EventRef.objects.bulk_create(
        [
            EventRef(event_id=obj.pk, kind=kind, value=value)
            for obj, e in zip(objs, fresh, strict=True)
            for kind, ids in e.refs.items()
            for value in ids
        ],
        batch_size=1000,
    )
    return {obj.event_key: obj.pk for obj in objs}


def events_release_held(*, at: datetime, limit: int) -> list[int]:
    """Trust the future-dated events whose own time has come (held_until ≤ at): clear their
    held_until, the earliest first, at most `limit`; on PostgreSQL rows another transaction is
    releasing are skipped (two sweeps never release one event twice). Returns their ids; must
    run inside the caller's transaction, which recomputes their orders."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE events_canonicalevent SET held_until = NULL WHERE id IN ("
                "SELECT id FROM events_canonicalevent WHERE held_until <= %s "
                "ORDER BY held_until LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
                [at, limit],
            )
            return sorted(row[0] for row in cursor.fetchall())
    ids = list(
        CanonicalEvent.objects.filter(held_until__lte=at).order_by("held_until").values_list("id", flat=True)[:limit]
    )
    CanonicalEvent.objects.filter(id__in=ids).update(held_until=None)
    return sorted(ids)
