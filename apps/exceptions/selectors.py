"""Reads for the exception queues.

A snoozed case whose `snoozed_until` has passed is open again: the status shown and filtered
on is computed at read time (`current_status`), so no sweep has to wake it up."""

from typing import TypedDict

from django.db.models import Case, CharField, F, IntegerField, Q, QuerySet, Value, When

from apps.common.time import now

from .choices import ACTIVE_STATUSES, SEVERITY_RANK, CaseStatus
from .models import ExceptionActivity, ExceptionCase


class ExceptionFilters(TypedDict, total=False):
    status: list[str]
    kind: str
    queue: str
    severity: str
    order: str
    assignee: str


def _annotated() -> QuerySet[ExceptionCase]:
    return ExceptionCase.objects.select_related("order", "assignee").annotate(
        current_status=Case(
            When(status=CaseStatus.SNOOZED, snoozed_until__lte=now(), then=Value(CaseStatus.OPEN)),
            default=F("status"),
            output_field=CharField(),
        ),
        severity_rank=Case(
            *[When(severity=s, then=Value(rank)) for s, rank in SEVERITY_RANK.items()],
            default=Value(len(SEVERITY_RANK)),
            output_field=IntegerField(),
        ),
    )


def exception_list(*, filters: ExceptionFilters | None = None) -> QuerySet[ExceptionCase]:
    """Most severe first, then most recently seen."""
    filters = filters or {}
    qs = _annotated()
    if filters.get("status"):
        qs = qs.filter(Q(current_status__in=filters["status"]))
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("queue"):
        qs = qs.filter(queue=filters["queue"])
    if filters.get("severity"):
        qs = qs.filter(severity=filters["severity"])
    if filters.get("order"):
        qs = qs.filter(order__kind="order", order__value=filters["order"].strip())
    if filters.get("assignee"):
        qs = qs.filter(assignee__username=filters["assignee"])
    return qs.order_by(F("severity_rank").asc(), "-last_seen_at", "-id")


def exception_get(*, case_id: int) -> ExceptionCase | None:
    return _annotated().filter(id=case_id).first()


def exception_activity(*, case: ExceptionCase) -> QuerySet[ExceptionActivity]:
    return case.activity.select_related("actor").order_by("at", "id")


def open_exception_count(*, order_id: int) -> int:
    """Unresolved cases of an order (acknowledged and snoozed ones included): one query."""
    return ExceptionCase.objects.filter(order_id=order_id, status__in=ACTIVE_STATUSES).count()
