"""Order flow measures: stage-to-stage cycle times and on-time delivery.

Both read each order's milestone times from its timeline (TimelineEntry joined to the event's
type), grouped per order in one query, and are bounded by the window: only orders that reached
an end milestone inside it are read (found through the events' occurred_at index). PostgreSQL
aggregates the per-order rows itself (percentile_cont, GROUP BY day); SQLite, which has no
ordered-set aggregates, gets the per-order rows and `stats` computes the same numbers.

Cycle times use the *first* occurrence of each milestone: the order's flow speed, whatever
later split shipments do. On-time uses the *last* delivery of an order whose stage is
delivered: an order is delivered when its last shipment is, so a partial delivery in time
followed by a late one is late."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection
from django.db.models import Max, Min, Q, QuerySet

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.taxonomy import STAGE_ORDER, EventType, Stage

from ..windows import Span
from .stats import on_postgresql, percentiles

RELEASE_TYPES: tuple[str, ...] = (EventType.ORDER_RELEASED,)
PICK_TYPES: tuple[str, ...] = (EventType.PICK_COMPLETED,)
# The first sign the goods left the warehouse: loaded, ship-confirmed, collected or departed.
SHIP_TYPES: tuple[str, ...] = (
    EventType.SHIPMENT_LOADED,
    EventType.SHIPMENT_CONFIRMED,
    EventType.SHIPMENT_PICKED_UP,
    EventType.SHIPMENT_DEPARTED,
)
DELIVER_TYPES: tuple[str, ...] = (EventType.DELIVERY_COMPLETED,)
MILESTONES: dict[str, tuple[str, ...]] = {
    "released": RELEASE_TYPES,
    "picked": PICK_TYPES,
    "shipped": SHIP_TYPES,
    "delivered": DELIVER_TYPES,
}
# (label, from milestone, to milestone): read in the window of the *to* milestone.
LEGS: tuple[tuple[str, str, str], ...] = (
    ("release → pick", "released", "picked"),
    ("pick → ship", "picked", "shipped"),
    ("ship → deliver", "shipped", "delivered"),
)
DELIVERED_STAGES: tuple[str, ...] = (Stage.DELIVERED, Stage.INVOICED)
IN_FLIGHT_STAGES: tuple[str, ...] = STAGE_ORDER[: STAGE_ORDER.index(Stage.DELIVERED)]


def orders_in_flight() -> int:
    """Orders seen but not delivered, cancelled or returned yet (the stage index)."""
    return OrderProjection.objects.filter(stage__in=IN_FLIGHT_STAGES).count()


# --- cycle times -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leg:
    label: str
    orders: int
    p50: float | None  # seconds
    p90: float | None


def _milestone_rows(span: Span) -> QuerySet[Any, Any]:
    """One row per order that reached pick, ship or delivery in the span: its first milestone times."""
    ends = PICK_TYPES + SHIP_TYPES + DELIVER_TYPES
    reached = TimelineEntry.objects.filter(
        event__type__in=ends, event__occurred_at__gte=span.since, event__occurred_at__lte=span.until
    ).values("order_id")
    every = tuple(t for types in MILESTONES.values() for t in types)
    firsts = {name: Min("occurred_at", filter=Q(event__type__in=types)) for name, types in MILESTONES.items()}
    return (
        TimelineEntry.objects.filter(order_id__in=reached, event__type__in=every)
        .values("order_id")
        .annotate(**firsts)
        .order_by()
    )


def _leg_ended_in(start: datetime | None, end: datetime | None, span: Span) -> bool:
    # A milestone dated before its predecessor is a partner clock problem, not a cycle.
    return start is not None and end is not None and span.since <= end <= span.until and end >= start


def cycle_times(*, span: Span) -> list[Leg]:
    """p50 / p90 of each leg over the orders whose leg ended in the span. One query."""
    rows = _milestone_rows(span)
    if on_postgresql():
        return _cycle_times_sql(rows, span)
    data = list(rows)
    legs = []
    for label, start, end in LEGS:
        count, (p50, p90) = percentiles(
            (r[end] - r[start]).total_seconds() for r in data if _leg_ended_in(r[start], r[end], span)
        )
        legs.append(Leg(label=label, orders=count, p50=p50, p90=p90))
    return legs


def _cycle_times_sql(rows: QuerySet[Any, Any], span: Span) -> list[Leg]:
    inner, params = rows.query.sql_with_params()
    columns = []
    for _, start, end in LEGS:
        counts = f"m.{end} >= w.since AND m.{end} <= w.until AND m.{end} >= m.{start}"
        seconds = f"EXTRACT(EPOCH FROM m.{end} - m.{start})::float8"
        columns.append(f"count(*) FILTER (WHERE {counts})")
        columns.append(f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {seconds}) FILTER (WHERE {counts})")
    sql = (
        "WITH w AS (SELECT %s::timestamptz AS since, %s::timestamptz AS until) "  # noqa: S608 - fixed column names
        f"SELECT {', '.join(columns)} FROM ({inner}) AS m CROSS JOIN w"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [span.since, span.until, *params])
        row = cursor.fetchone()
    legs = []
    for n, (label, _, _) in enumerate(LEGS):
        count, values = row[2 * n], row[2 * n + 1] or [None, None]
        legs.append(Leg(label=label, orders=count, p50=values[0], p90=values[1]))
    return legs


# --- on-time delivery --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnTimeDay:
    day: date
    delivered: int
    promised: int  # of which with a promised date
    on_time: int

    @property
    def share(self) -> float | None:
        return self.on_time / self.promised if self.promised else None


@dataclass(frozen=True, slots=True)
class OnTime:
    days: list[OnTimeDay]

    @property
    def delivered(self) -> int:
        return sum(d.delivered for d in self.days)

    @property
    def promised(self) -> int:
        return sum(d.promised for d in self.days)

    @property
    def on_time(self) -> int:
        return sum(d.on_time for d in self.days)

    @property
    def share(self) -> float | None:
        return self.on_time / self.promised if self.promised else None


def _deliveries(span: Span) -> QuerySet[Any, Any]:
    """One row per delivered order with a delivery in the span: its last delivery and promise."""
    return (
        TimelineEntry.objects.filter(
            event__type__in=DELIVER_TYPES,
            event__occurred_at__gte=span.since,
            event__occurred_at__lte=span.until,
            order__projection__stage__in=DELIVERED_STAGES,
        )
        .values("order_id")
        .annotate(delivered=Max("occurred_at"), promised_by=Max("order__projection__promised_by"))
        .order_by()
    )


def on_time_delivery(*, span: Span) -> OnTime:
    """Per UTC day of delivery: delivered orders, those with a promised date, and those delivered
    at or before it. Every day of the span is present. One query."""
    rows = _deliveries(span)
    counts: dict[date, tuple[int, int, int]] = {}
    if on_postgresql():
        inner, params = rows.query.sql_with_params()
        sql = (
            "SELECT (m.delivered AT TIME ZONE 'UTC')::date, count(*), count(m.promised_by), "  # noqa: S608
            f"count(*) FILTER (WHERE m.delivered <= m.promised_by) FROM ({inner}) AS m GROUP BY 1"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            counts = {day: (n, promised, on_time) for day, n, promised, on_time in cursor.fetchall()}
    else:
        for r in rows:
            day = r["delivered"].astimezone(UTC).date()
            n, promised, on_time = counts.get(day, (0, 0, 0))
            has_promise = r["promised_by"] is not None
            in_time = has_promise and r["delivered"] <= r["promised_by"]
            counts[day] = (n + 1, promised + has_promise, on_time + in_time)
    return OnTime(days=[OnTimeDay(d, *counts.get(d, (0, 0, 0))) for d in span.days()])
