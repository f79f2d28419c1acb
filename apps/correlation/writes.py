"""Bulk writes and reads of the correlation hot path, one statement each on PostgreSQL.

The ORM equivalents (kept for SQLite, the embedded default) build thousands of model instances
and bound parameters per batch, which cost more than the statements themselves; here ids and
strings travel as one array literal, rows as COPY, JSON as orjson text."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from django.db import connection

from apps.common.lookups import array_param as literal
from apps.common.time import now
from apps.events.models import CanonicalEvent

from .ledger import LINE_TYPES
from .models import Link, OrderProjection, TimelineEntry

EntryRow = tuple[int, int, datetime, str, int, int | None]  # order, event, occurred_at, type, via, via_event


def nodes_upsert(wanted: set[tuple[str, str]]) -> tuple[dict[tuple[str, str], int], set[int]]:
    """PostgreSQL: insert the missing nodes and read every wanted one, in one statement. The
    outer SELECT does not see the CTE's inserts (one snapshot), so each node comes back once,
    from one side or the other. Returns (ids, ids created now). A node another transaction
    inserted meanwhile is missing from the answer; the caller falls back for those."""
    pairs = sorted(wanted)
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH v(kind, value) AS (SELECT * FROM unnest(%s::text[], %s::text[])), "
            "ins AS (INSERT INTO correlation_node (kind, value) SELECT kind, value FROM v "
            "ON CONFLICT (kind, value) DO NOTHING RETURNING id, kind, value) "
            "SELECT id, kind, value, true FROM ins UNION ALL "
            "SELECT n.id, n.kind, n.value, false FROM correlation_node n JOIN v USING (kind, value)",
            [literal([k for k, _ in pairs]), literal([v for _, v in pairs])],
        )
        rows = cursor.fetchall()
    return {(kind, value): nid for nid, kind, value, _ in rows}, {nid for nid, _, _, new in rows if new}


def links_insert(links: dict[tuple[int, int], tuple[str, int]], at: datetime) -> None:
    """New links only (`ON CONFLICT DO NOTHING`: the first event to name a pair keeps it)."""
    if not links:
        return
    if connection.vendor == "postgresql":
        pairs = list(links)
        columns: tuple[list[Any], ...] = (
            [p[0] for p in pairs],
            [p[1] for p in pairs],
            [links[p][0] for p in pairs],
            [links[p][1] for p in pairs],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO correlation_link (source_id, target_id, target_kind, event_id, created_at) "
                "SELECT s, t, k, e, %s FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[]) "
                "AS v(s, t, k, e) ON CONFLICT DO NOTHING",
                [at, *(literal(column) for column in columns)],
            )
        return
    Link.objects.bulk_create(
        [Link(source_id=s, target_id=t, target_kind=k, event_id=e, created_at=at) for (s, t), (k, e) in links.items()],
        ignore_conflicts=True,
        batch_size=2000,
    )


def entries_insert(rows: list[EntryRow]) -> None:
    """New timeline pairs only (the caller excluded existing ones, holding the orders' locks)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY correlation_timelineentry (order_id, event_id, occurred_at, event_type, via_id, via_event_id) "
                "FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(order_id=o, event_id=e, occurred_at=t, event_type=k, via_id=v, via_event_id=ve)
            for o, e, t, k, v, ve in rows
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )


def events_mark_matched(event_ids: list[int]) -> None:
    """These events are on a timeline now (they leave the unmatched list)."""
    if not event_ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE events_canonicalevent SET matched = true WHERE id = ANY(%s::bigint[]) AND NOT matched",
                [literal(event_ids)],
            )
        return
    for start in range(0, len(event_ids), 2000):
        CanonicalEvent.objects.filter(id__any=event_ids[start : start + 2000], matched=False).update(matched=True)


def events_mark_unmatched(event_ids: list[int]) -> None:
    """These events are on no timeline: back on the unmatched list (those that have an entry,
    from an earlier batch, stay matched)."""
    if not event_ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE events_canonicalevent AS e SET matched = false WHERE e.id = ANY(%s::bigint[]) AND e.matched "
                "AND NOT EXISTS (SELECT 1 FROM correlation_timelineentry AS t WHERE t.event_id = e.id)",
                [literal(event_ids)],
            )
        return
    for start in range(0, len(event_ids), 500):
        CanonicalEvent.objects.filter(id__in=event_ids[start : start + 500], matched=True).exclude(
            id__in=TimelineEntry.objects.values("event_id")
        ).update(matched=False)


def event_ids_naming(refs: set[tuple[str, str]]) -> list[int]:
    """PostgreSQL: the ids of the events naming any of these (kind, value) refs, in one join of
    the ref index with the pairs (the full recompute path reads every event of an order)."""
    if not refs:
        return []
    pairs = sorted(refs)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT r.event_id FROM unnest(%s::text[], %s::text[]) AS v(kind, value) "
            "JOIN events_eventref AS r ON r.kind = v.kind AND r.value = v.value",
            [literal([k for k, _ in pairs]), literal([v for _, v in pairs])],
        )
        return [row[0] for row in cursor.fetchall()]


def events_read(event_ids: list[int]) -> list[tuple[Any, ...]]:
    """PostgreSQL: (id, type, system, feed id, occurred_at, received_at, refs JSON, projection
    body JSON) of these events. The body keeps only what a projection reads (customer, service
    level, promise, ETA, proof of delivery; amount, reason and counted lines for the ledger),
    JSON nulls dropped; JSON comes back as text for
    orjson, which is several times faster than the driver's json.loads per value."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, type, system, feed_id, occurred_at, received_at, refs::text, "
            "jsonb_strip_nulls(jsonb_build_object('customer', body->'customer', 'service_level', "
            "body->'service_level', 'promised_by', body->'promised_by', 'eta', body->'eta', 'pod', body->'pod', "
            # The ledger's (ledger.py): amounts, failure reasons, and lines of the types it counts.
            "'amount', body->'amount', 'reason', body->'reason', 'lines', CASE WHEN type = ANY(%s) "
            "THEN body->'lines' END, "
            # '_held': a future-dated event before its time (projection.apply folds only its count)
            "'_held', CASE WHEN held_until IS NOT NULL THEN true END))::text "
            "FROM events_canonicalevent WHERE id = ANY(%s::bigint[])",
            [list(LINE_TYPES), literal(event_ids)],
        )
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def folds_read(order_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored fold state of these orders (orders without a projection are absent)."""
    if not order_ids:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT order_id, fold::text FROM correlation_orderprojection WHERE order_id = ANY(%s::bigint[])",
                [literal(order_ids)],
            )
            return {order_id: orjson.loads(fold) for order_id, fold in cursor.fetchall()}
    return dict(OrderProjection.objects.filter(order_id__any=order_ids).values_list("order_id", "fold"))


_PROJECTION_COLUMNS: list[tuple[str, str]] = [
    (f.attname, str(f.column)) for f in OrderProjection._meta.concrete_fields
]  # (attribute, column)
_JSON_FIELDS = {f.attname for f in OrderProjection._meta.concrete_fields if f.get_internal_type() == "JSONField"}


def _copy_value(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS and value is not None:
        return orjson.dumps(value).decode()
    return value


def projections_upsert(projections: Iterable[dict[str, Any]]) -> None:
    """Insert or replace these projections (dicts of OrderProjection field values with
    `order_id`). PostgreSQL: COPY into a session temp table, then one INSERT … ON CONFLICT."""
    rows = list(projections)
    if not rows:
        return
    at = now()
    if connection.vendor != "postgresql":
        OrderProjection.objects.bulk_create(
            [OrderProjection(**row) for row in rows],
            update_conflicts=True,
            unique_fields=["order"],
            update_fields=[name for name, _ in _PROJECTION_COLUMNS if name != "order_id"],
            batch_size=500,
        )
        return
    names = [name for name, _ in _PROJECTION_COLUMNS]
    cols = ", ".join(column for _, column in _PROJECTION_COLUMNS)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for name, column in _PROJECTION_COLUMNS if name != "order_id")
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS ct_stage_projections ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {cols} FROM correlation_orderprojection WITH NO DATA"
        )
        with raw.copy(f"COPY ct_stage_projections ({cols}) FROM STDIN") as copy:
            for row in rows:
                values = {**row, "updated_at": at}
                copy.write_row([_copy_value(name, values.get(name)) for name in names])
        raw.execute(
            f"INSERT INTO correlation_orderprojection ({cols}) SELECT {cols} FROM ct_stage_projections "  # noqa: S608
            f"ON CONFLICT (order_id) DO UPDATE SET {updates}"
        )
        raw.execute("TRUNCATE ct_stage_projections")
