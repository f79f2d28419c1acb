"""Storing canonical events in bulk, idempotently.

PostgreSQL: COPY into a transaction-scoped staging table, then one
`INSERT … SELECT … ON CONFLICT (feed_id, event_key) DO NOTHING RETURNING id, event_key`,
then COPY of the ref rows of the new events. The unique constraint is the dedupe; two workers
storing the same event race on it and exactly one wins. SQLite (embedded demo) takes a plain
bulk_create path: its writers are serialised anyway."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
)


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


def events_store(
    *,
    feed_id: int,
    system: str,
    message_id: UUID | str,
    received_at: datetime,
    events: Sequence[ValidEvent],
    matched: bool = False,
) -> StoreResult:
    """Store the events of one message; must run inside the caller's transaction. `matched`:
    the flag new events start with (the caller's next stage corrects it in the same
    transaction; see apps.ingestion.services.STORE_PRESUMED_MATCHED)."""
    result = StoreResult()
    first_by_key: dict[str, ValidEvent] = {}
    for event in events:
        if event.event_key in first_by_key:
            result.duplicate_indices.append(event.index)  # repeated inside the same message
        else:
            first_by_key[event.event_key] = event
    unique = list(first_by_key.values())
    if not unique:
        return result
    if connection.vendor == "postgresql":
        inserted = _insert_postgres(feed_id, system, message_id, received_at, unique, matched)
    else:
        inserted = _insert_generic(feed_id, system, message_id, received_at, unique, matched)
    result.new_event_ids = sorted(inserted.values())
    conflicted = [k for k in first_by_key if k not in inserted]
    if conflicted:
        owners = _owners(feed_id, conflicted)
        for key in conflicted:
            event_id, owner_message = owners[key]
            if str(owner_message) == str(message_id):
                result.restored_event_ids.append(event_id)
            else:
                result.duplicate_indices.append(first_by_key[key].index)
    result.duplicate_indices.sort()
    return result


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
    feed_id: int, system: str, message_id: UUID | str, received_at: datetime, e: ValidEvent, matched: bool = False
) -> tuple[object, ...]:
    """One row of EVENT_COLUMNS, as COPY writes it."""
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
    )


def _insert_postgres(
    feed_id: int, system: str, message_id: UUID | str, received_at: datetime, events: list[ValidEvent], matched: bool
) -> dict[str, int]:
    cols = ", ".join(EVENT_COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor: COPY is not part of DB-API
        # Session-scoped (pooled connections keep it); emptied at every commit.
        raw.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS ct_stage_events ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {cols} FROM events_canonicalevent WITH NO DATA"
        )
        with raw.copy(f"COPY ct_stage_events ({cols}) FROM STDIN") as copy:
            for e in events:
                copy.write_row(event_row(feed_id, system, message_id, received_at, e, matched))
        raw.execute(
            f"INSERT INTO events_canonicalevent ({cols}) "  # noqa: S608 - fixed column list
            f"SELECT {cols} FROM ct_stage_events ORDER BY index_in_message "
            "ON CONFLICT (feed_id, event_key) DO NOTHING RETURNING event_key, id"
        )
        inserted = dict(raw.fetchall())
        raw.execute("TRUNCATE ct_stage_events")
        by_key = {e.event_key: e for e in events}
        with raw.copy("COPY events_eventref (event_id, kind, value) FROM STDIN") as copy:
            for key, event_id in inserted.items():
                for kind, ids in by_key[key].refs.items():
                    for value in ids:
                        copy.write_row((event_id, kind, value))
    return inserted


def _insert_generic(
    feed_id: int, system: str, message_id: UUID | str, received_at: datetime, events: list[ValidEvent], matched: bool
) -> dict[str, int]:
    existing = set(_owners(feed_id, [e.event_key for e in events]))
    fresh = [e for e in events if e.event_key not in existing]
    objs = CanonicalEvent.objects.bulk_create(
        [
            CanonicalEvent(
                feed_id=feed_id,
                message_id=message_id,
                event_key=e.event_key,
                has_source_id=e.has_source_id,
                type=e.type,
                system=system,
                occurred_at=e.occurred_at,
                occurred_offset_minutes=e.offset_minutes,
                received_at=received_at,
                source_status=e.source_status,
                refs=e.refs,
                body=e.body,
                index_in_message=e.index,
                matched=matched,
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
