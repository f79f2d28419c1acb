"""Reads for the exception queues.

A snoozed case whose `snoozed_until` has passed is open again: the status shown is computed at
read time (`current_status`), so no sweep has to wake it up. Filtering on it is written on the
stored columns instead (`_status_q`), so that the queue's partial indexes still apply."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When

from apps.accounts.roles import default_queue
from apps.common.time import now
from apps.correlation.models import OrderProjection
from apps.correlation.selectors import order_get, timeline_window

from .choices import ACTIVE_STATUSES, SEVERITY_RANK, CaseStatus, Queue
from .models import ExceptionActivity, ExceptionCase

# Counts stop here (the page says "10,000+"): nobody pages that far, and counting further
# costs more than the page itself.
COUNT_CAP = 10_000

# `assignee` values that are not usernames.
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "unassigned"

# "older than …" choices of the queue page; the API takes any `<n>m|h|d`.
AGE_CHOICES: tuple[tuple[str, str], ...] = (
    ("1h", "older than 1 hour"),
    ("4h", "older than 4 hours"),
    ("24h", "older than 24 hours"),
    ("3d", "older than 3 days"),
)
_AGE = re.compile(r"^\s*(\d{1,5})\s*([mhd])\s*$")
_AGE_UNIT = {"m": "minutes", "h": "hours", "d": "days"}


class ExceptionFilters(TypedDict, total=False):
    status: list[str]
    kind: str
    queue: str
    severity: str
    order: str
    assignee: str
    age: str
    customer: str


def age_delta(value: str) -> timedelta:
    """`90m`, `4h`, `3d` → a timedelta; ValueError for anything else."""
    match = _AGE.match(value)
    if match is None or int(match[1]) == 0:
        raise ValueError(f"age: {value!r} is not a positive number of minutes, hours or days such as 4h or 3d")
    return timedelta(**{_AGE_UNIT[match[2]]: int(match[1])})


# The list shows the order's customer and stage; its projection's JSON (the fold state, each
# system's view, shipments…) is most of the row and would be decoded fifty times for nothing.
_PROJECTION_BULK = tuple(
    f"order__projection__{name}" for name in ("fold", "systems", "shipments", "warehouse_tasks", "aliases", "pod")
)


def _annotated() -> QuerySet[ExceptionCase]:
    qs = ExceptionCase.objects.select_related("order__projection", "assignee").defer(*_PROJECTION_BULK)
    return qs.annotate(
        current_status=Case(
            When(status=CaseStatus.SNOOZED, snoozed_until__lte=now(), then=Value(CaseStatus.OPEN)),
            default=F("status"),
            output_field=CharField(),
        ),
    )


def _status_q(statuses: list[str], at: datetime) -> Q:
    """`current_status IN statuses`, on the stored columns."""
    woken = Q(status=CaseStatus.SNOOZED, snoozed_until__lte=at)
    q = Q()
    for status in set(statuses):
        if status == CaseStatus.OPEN:
            q |= Q(status=CaseStatus.OPEN) | woken
        elif status == CaseStatus.SNOOZED:
            q |= Q(status=CaseStatus.SNOOZED) & ~woken
        else:
            q |= Q(status=status)
    if set(statuses) <= set(ACTIVE_STATUSES):
        # Redundant, but it is what lets the planner pick the partial indexes on unresolved cases.
        q &= Q(status__in=ACTIVE_STATUSES)
    return q


def _filtered(
    filters: ExceptionFilters, viewer: User | None, qs: QuerySet[ExceptionCase] | None = None
) -> QuerySet[ExceptionCase]:
    qs = _annotated() if qs is None else qs
    if filters.get("status"):
        qs = qs.filter(_status_q(filters["status"], now()))
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("queue"):
        qs = qs.filter(queue=filters["queue"])
    if filters.get("severity"):
        # the same rows as severity=…, but on a column of the queue's indexes
        qs = qs.filter(severity_rank=SEVERITY_RANK.get(filters["severity"], len(SEVERITY_RANK)))
    if filters.get("order"):
        qs = qs.filter(order__kind="order", order__value=filters["order"].strip())
    assignee = (filters.get("assignee") or "").strip()
    if assignee == ASSIGNEE_ME:
        qs = qs.filter(assignee=viewer) if viewer is not None else qs.none()
    elif assignee == ASSIGNEE_NONE:
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee__username=assignee)
    if filters.get("age"):
        qs = qs.filter(opened_at__lte=now() - age_delta(filters["age"]))
    customer = (filters.get("customer") or "").strip()
    if customer:
        # straight from the projection (keyed by the order's node id), not through the node
        qs = qs.filter(order_id__in=OrderProjection.objects.filter(customer__icontains=customer).values("order_id"))
    return qs


def exception_list(*, filters: ExceptionFilters | None = None, viewer: User | None = None) -> QuerySet[ExceptionCase]:
    """Most severe first, then most recently seen. `viewer` is who `assignee=me` means."""
    return _filtered(filters or {}, viewer).order_by("severity_rank", "-last_seen_at", "-id")


@dataclass(frozen=True)
class QueueCounts:
    """Cases per queue, each count stopped at `cap`: a count that reached it means "cap or more"."""

    by_queue: dict[str, int]
    cap: int

    def of(self, queue: str | None) -> tuple[int, bool]:
        """One queue's count, or every queue's (None); and whether it is a lower bound."""
        chosen = [self.by_queue.get(queue, 0)] if queue else list(self.by_queue.values())
        return sum(chosen), any(n >= self.cap for n in chosen)


def exception_queue_counts(
    *, filters: ExceptionFilters, viewer: User | None = None, cap: int | None = None
) -> QueueCounts:
    """Cases per queue under the same filters but any queue (the queue page's tabs and pager).

    Counts stop at the cap: an exact count of a 100k backlog would cost more than the page it
    heads, on every live refresh. Narrowed by anything but status, the cases are usually few:
    one pass over at most `cap` of them, every queue at once, gives every count exactly. Otherwise
    (or when that pass reaches the cap) one capped count per queue, each an index-only scan of
    that queue's range of the work index."""
    cap = COUNT_CAP if cap is None else cap
    base = exception_count_base(filters=filters, viewer=viewer)
    if any(filters.get(name) for name in _NARROWING):
        # GROUP BY over a LIMITed subquery, which the ORM does not write.
        sql, params = base.values("queue")[:cap].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT queue, COUNT(*) FROM ({sql}) AS capped GROUP BY queue", params)  # noqa: S608
            counts: dict[str, int] = dict(cursor.fetchall())
        if sum(counts.values()) < cap:
            return QueueCounts({queue: counts.get(queue, 0) for queue in Queue.values}, cap)
    return QueueCounts({queue: base.filter(queue=queue)[:cap].count() for queue in Queue.values}, cap)


_NARROWING = ("kind", "severity", "order", "assignee", "age", "customer")


def exception_count_base(*, filters: ExceptionFilters, viewer: User | None = None) -> QuerySet[ExceptionCase, Any]:
    """The rows the counts count, in any queue: no joins and no columns beyond what the filters need."""
    others: ExceptionFilters = {k: v for k, v in filters.items() if k != "queue"}  # type: ignore[assignment]
    return _filtered(others, viewer, ExceptionCase.objects.all()).order_by().values("id")


def exception_get(*, case_id: int) -> ExceptionCase | None:
    return _annotated().filter(id=case_id).first()


def exception_activity(*, case: ExceptionCase) -> QuerySet[ExceptionActivity]:
    return case.activity.select_related("actor").order_by("at", "id")


def open_exception_count(*, order_id: int) -> int:
    """Unresolved cases of an order (acknowledged and snoozed ones included): one query."""
    return ExceptionCase.objects.filter(order_id=order_id, status__in=ACTIVE_STATUSES).count()


def open_exception_counts(*, order_ids: list[int]) -> dict[int, int]:
    """`open_exception_count` of many orders in one query (orders without any are left out)."""
    rows = (
        ExceptionCase.objects.filter(order_id__any=order_ids, status__in=ACTIVE_STATUSES)
        .values("order_id")
        .annotate(n=Count("id"))
        .values_list("order_id", "n")
    )
    return {order_id: n for order_id, n in rows if order_id is not None}


def queue_default(*, user: User) -> str | None:
    """The queue the user's role works ("My queue"); None: every queue."""
    if user.is_superuser:
        return None
    return default_queue(list(user.groups.values_list("name", flat=True)))


def assignable_users() -> QuerySet[User]:
    """Active users who may work the queues: the people a case can be assigned to."""
    capability = Q(groups__permissions__codename="work_exceptions") | Q(user_permissions__codename="work_exceptions")
    return (
        User.objects.filter(is_active=True)
        .filter(capability | Q(is_superuser=True))
        .distinct()
        .order_by("username")
        .only("id", "username", "first_name", "last_name")
    )


def exception_order_context(*, case: ExceptionCase, events: int = 5) -> dict[str, Any]:
    """What the order looks like around this case: its projection, its last few events (newest
    first) and its other unresolved cases. Empty when the case names no order."""
    if case.order is None:
        return {"order": None, "events": [], "other_cases": []}
    projection: OrderProjection | None = order_get(order_key=case.order.value)
    # The newest few only, read with a LIMIT: an order's timeline can be long.
    window = timeline_window(order=projection, limit=events, newest=True) if projection is not None else None
    recent = list(reversed(window.events)) if window is not None else []
    others = list(
        _annotated()
        .filter(order_id=case.order_id, status__in=ACTIVE_STATUSES)
        .exclude(id=case.id)
        .order_by("severity_rank", "-last_seen_at", "-id")[:10]
    )
    return {"order": projection, "events": recent, "other_cases": others}
