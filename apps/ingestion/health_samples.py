"""Bounded reads for feed health (apps/ingestion/health.py): the latest rows of each feed in a
window, and the percentile arithmetic over them.

Every health figure is read from a recent window by `received_at`, through the (feed,
received_at) indexes of raw messages and canonical events, and a figure that needs each row
(lag, the silence rhythm) reads at most a fixed number of the newest rows per feed: the cost of
a health page stays flat however much a feed ever sent."""

from collections.abc import Sequence
from datetime import datetime
from math import floor
from typing import Any

from django.db import connection, models
from django.db.models import F, Window
from django.db.models.functions import RowNumber


def latest_per_feed(
    model: type[models.Model],
    *,
    feed_ids: Sequence[int],
    since: datetime,
    until: datetime,
    fields: Sequence[str],
    limit: int,
) -> list[tuple[Any, ...]]:
    """`(feed_id, *fields)` of each feed's newest `limit` rows of `model` received in
    [since, until], newest first within a feed. One query for all the feeds.

    PostgreSQL reads each feed's rows by a backward scan of its (feed, received_at) index that
    stops after `limit` rows (a LATERAL join); a window function would rank every row of the
    window first. SQLite (the embedded demo) ranks with a window function."""
    if not feed_ids:
        return []
    if connection.vendor == "postgresql":
        return _latest_per_feed_sql(model, feed_ids, since, until, fields, limit)
    ranked = (
        model._default_manager.filter(feed_id__in=feed_ids, received_at__gte=since, received_at__lte=until)
        .annotate(_rank=Window(RowNumber(), partition_by=[F("feed_id")], order_by=F("received_at").desc()))
        .filter(_rank__lte=limit)
        .order_by("feed_id", "-received_at")
        .values_list("feed_id", *fields)
    )
    return list(ranked)


def _latest_per_feed_sql(
    model: type[models.Model],
    feed_ids: Sequence[int],
    since: datetime,
    until: datetime,
    fields: Sequence[str],
    limit: int,
) -> list[tuple[Any, ...]]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    # Column names come from the model's own fields, never from input.
    columns = [quote(_column(model, name)) for name in fields]
    inner = ", ".join(f"t.{c}" for c in columns)
    outer = ", ".join(f"x.{c}" for c in columns)
    sql = f"""
        SELECT f.id, {outer}
        FROM unnest(%s::bigint[]) AS f(id)
        CROSS JOIN LATERAL (
            SELECT {inner}, t.received_at AS _received_at
            FROM {table} t
            WHERE t.feed_id = f.id AND t.received_at >= %s AND t.received_at <= %s
            ORDER BY t.received_at DESC
            LIMIT %s
        ) AS x
        ORDER BY f.id, x._received_at DESC
    """  # noqa: S608 - identifiers quoted from the model's metadata, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(feed_ids), since, until, limit])
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def capped_counts_per_feed(
    model: type[models.Model], *, feed_ids: Sequence[int], status: str, cap: int
) -> dict[int, int]:
    """{feed id: rows of `model` with this status, counted up to `cap`} (feeds with none are left
    out). A count that has no window (the dead letters waiting, whenever received) stops at the
    cap: each feed's count reads at most `cap` rows (PostgreSQL: a LATERAL LIMIT per feed), so a
    feed that piled up dead letters for months costs what any other does. SQLite (the embedded
    demo) counts them all."""
    if not feed_ids:
        return {}
    if connection.vendor != "postgresql":
        rows = (
            model._default_manager.filter(feed_id__in=feed_ids, status=status)
            .values("feed_id")
            .annotate(n=models.Count("pk"))
            .order_by()
            .values_list("feed_id", "n")
        )
        return {feed_id: min(n, cap) for feed_id, n in rows}
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"""
        SELECT f.id, x.n
        FROM unnest(%s::bigint[]) AS f(id)
        CROSS JOIN LATERAL (
            SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table} t WHERE t.feed_id = f.id AND t.status = %s LIMIT %s) AS y
        ) AS x
        WHERE x.n > 0
    """  # noqa: S608 - the table name is quoted from the model's metadata, values bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(feed_ids), status, cap])
        counts: dict[int, int] = dict(cursor.fetchall())
        return counts


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return str(field.column)


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's `percentile_cont`: linear interpolation between the two closest ranks of
    an ascending list; None for an empty one."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


class JsonArrayLength(models.Func):
    """The length of a JSON array column (a message's `rejections`), on both backends."""

    function = "JSON_ARRAY_LENGTH"
    output_field = models.IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra)
