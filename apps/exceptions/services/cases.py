"""Shared writes on exception cases: storing a new case once per fingerprint, its history, and
its aggregates. Every kind's service (partner events, SLA breaches, system conditions) opens
cases through `case_store`, so the one-unresolved-case-per-fingerprint rule lives in one place."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus
from ..models import ExceptionActivity, ExceptionCase, ExceptionOccurrence


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
        return case, False
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        return ExceptionCase.objects.get(fingerprint=case.fingerprint, status__in=ACTIVE_STATUSES), False
    return case, True


def case_aggregate(case_id: int) -> None:
    """Counts and first/last from the occurrence rows themselves: exact whatever arrived twice
    or out of order."""
    rows = ExceptionOccurrence.objects.filter(case_id=OuterRef("pk"))
    first = rows.order_by("occurred_at", "event_id")
    last = rows.order_by("-occurred_at", "-event_id")
    ExceptionCase.objects.filter(id=case_id).update(
        occurrences=Subquery(rows.values("case_id").annotate(n=Count("id")).values("n")[:1]),
        opened_at=Subquery(first.values("occurred_at")[:1]),
        first_event_id=Subquery(first.values("event_id")[:1]),
        last_seen_at=Subquery(last.values("occurred_at")[:1]),
        last_event_id=Subquery(last.values("event_id")[:1]),
    )


def case_changed(case_id: int, *, opened: bool = False) -> None:
    """Tell the live pages that a case was opened or changed (after commit). Every write on a
    case calls this once; the live slice builds the `exception.opened|updated` message here."""
