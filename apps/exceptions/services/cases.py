"""Shared writes on exception cases: storing a new case once per fingerprint, its history, and
its aggregates. Every kind's service (partner events, SLA breaches, system conditions) opens
cases through `case_store`, so the one-unresolved-case-per-fingerprint rule lives in one place."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery

from apps.correlation.live import order_messages
from apps.live.messages import ExceptionMessage, LiveMessage
from apps.live.publish import publish_built_on_commit

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus
from ..items import exception_item
from ..models import ExceptionActivity, ExceptionCase, ExceptionOccurrence
from ..selectors import exception_list


class CaseConflict(Exception):
    """The case is not in a state that allows this action (e.g. already resolved)."""


def activity_record(case_id: int, action: str, at: datetime, *, actor: User | None = None, **detail: Any) -> None:
    ExceptionActivity.objects.create(case_id=case_id, actor=actor, action=action, detail=detail, at=at)


def case_store(
    case: ExceptionCase, at: datetime, *, cleared: tuple[int | None, datetime, str] | None
) -> tuple[ExceptionCase, bool]:
    """Save a new case, already resolved when `cleared` (event id, time, type) says the
    condition is over. Otherwise double-checked: the partial unique constraint lets only one
    unresolved case per fingerprint exist, and when another transaction won, its case is
    returned (with False: this call created nothing)."""
    if cleared is not None:
        case.status = CaseStatus.RESOLVED
        case.resolved_at = at
        case.cleared_by_event_id, case.cleared_at, clearing_type = cleared
        case.resolution = f"auto: {clearing_type}"
        case.save()
        activity_record(case.id, ActivityAction.AUTO_RESOLVED, at, event=cleared[0], late=True)
        case_changed(case.id, opened=True)  # a new case, on record already resolved
        return case, False
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        return ExceptionCase.objects.get(fingerprint=case.fingerprint, status__in=ACTIVE_STATUSES), False
    case_changed(case.id, opened=True)
    return case, True


def case_aggregate(case_id: int) -> None:
    cases_aggregate([case_id])


def cases_aggregate(case_ids: list[int]) -> None:
    """Counts and first/last from the occurrence rows themselves: exact whatever arrived twice
    or out of order. One UPDATE for any number of cases (correlated subqueries per row)."""
    if not case_ids:
        return
    rows = ExceptionOccurrence.objects.filter(case_id=OuterRef("pk"))
    first = rows.order_by("occurred_at", "event_id")
    last = rows.order_by("-occurred_at", "-event_id")
    ExceptionCase.objects.filter(id__any=case_ids).update(
        occurrences=Subquery(rows.values("case_id").annotate(n=Count("id")).values("n")[:1]),
        opened_at=Subquery(first.values("occurred_at")[:1]),
        first_event_id=Subquery(first.values("event_id")[:1]),
        last_seen_at=Subquery(last.values("occurred_at")[:1]),
        last_event_id=Subquery(last.values("event_id")[:1]),
    )
    for case_id in case_ids:
        case_changed(case_id)


def case_changed(case_id: int, *, opened: bool = False) -> None:
    """Tell the live pages that a case was opened or changed. Every write on a case calls this;
    after the commit, `case_messages` reads every case the transaction touched in one query."""
    publish_built_on_commit(case_messages, (case_id, opened))


def case_messages(changes: list[tuple[int, bool]]) -> list[LiveMessage]:
    """`exception.opened|updated` for these (case id, opened) pairs, one per case, as the cases
    are now; then `order.updated` for their orders, whose open exception count may have moved."""
    opened = {case_id for case_id, was_opened in changes if was_opened}
    cases = list(exception_list().filter(id__in={case_id for case_id, _ in changes}))
    messages: list[LiveMessage] = [
        ExceptionMessage(
            type="exception.opened" if case.id in opened else "exception.updated", exception=exception_item(case)
        )
        for case in cases
    ]
    messages.extend(order_messages([{case.order_id for case in cases if case.order_id is not None}]))
    return messages
