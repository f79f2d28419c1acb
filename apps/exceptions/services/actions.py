"""People working the queue: assign, acknowledge, snooze, resolve, comment.

Each is a compare-and-set update on `status`: the rowcount says whether the action won against
a concurrent one or against an automatic resolution. Every action goes to the case's history and
to the audit log."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.services import audit_record
from apps.common.time import now

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus
from ..models import ExceptionCase
from .cases import CaseConflict, activity_record, case_changed

# The activity names a past action ("resolved"); the refusal needs the verb ("cannot resolve").
_VERB: dict[str, str] = {
    ActivityAction.ASSIGNED: "assign",
    ActivityAction.ACKNOWLEDGED: "acknowledge",
    ActivityAction.SNOOZED: "snooze",
    ActivityAction.RESOLVED: "resolve",
}


def _transition(
    case: ExceptionCase,
    *,
    actor: User,
    action: str,
    allowed: tuple[str, ...],
    changes: dict[str, Any],
    detail: dict[str, Any],
) -> ExceptionCase:
    at = now()
    with transaction.atomic():
        won = ExceptionCase.objects.filter(id=case.id, status__in=allowed).update(**changes)
        if not won:
            current = ExceptionCase.objects.filter(id=case.id).values_list("status", flat=True).first()
            raise CaseConflict(f"cannot {_VERB.get(action, action)} an exception that is {current}")
        activity_record(case.id, action, at, actor=actor, **detail)
        audit_record(actor=actor, action=f"exception.{action}", target=f"exception:{case.id}", detail=detail)
        case_changed(case.id)
    case.refresh_from_db()
    return case


def exception_assign(*, case: ExceptionCase, assignee: User | None, actor: User) -> ExceptionCase:
    return _transition(
        case,
        actor=actor,
        action=ActivityAction.ASSIGNED,
        allowed=ACTIVE_STATUSES,
        changes={"assignee": assignee},
        detail={"assignee": assignee.get_username() if assignee else None},
    )


def exception_acknowledge(*, case: ExceptionCase, actor: User) -> ExceptionCase:
    return _transition(
        case,
        actor=actor,
        action=ActivityAction.ACKNOWLEDGED,
        allowed=(CaseStatus.OPEN, CaseStatus.SNOOZED),
        changes={"status": CaseStatus.ACKNOWLEDGED, "snoozed_until": None},
        detail={},
    )


def exception_snooze(*, case: ExceptionCase, until: datetime, actor: User) -> ExceptionCase:
    if until.tzinfo is None or until.utcoffset() is None:
        raise ValueError("until: naive time, offset required")
    if until <= now():
        raise ValueError("until: must be in the future")
    return _transition(
        case,
        actor=actor,
        action=ActivityAction.SNOOZED,
        allowed=ACTIVE_STATUSES,
        changes={"status": CaseStatus.SNOOZED, "snoozed_until": until},
        detail={"until": until.isoformat()},
    )


def exception_resolve(*, case: ExceptionCase, resolution: str, actor: User) -> ExceptionCase:
    resolution = resolution.strip()
    if not resolution:
        raise ValueError("resolution: must not be empty")
    at = now()
    return _transition(
        case,
        actor=actor,
        action=ActivityAction.RESOLVED,
        allowed=ACTIVE_STATUSES,
        # cleared_at = now: a partner event older than this decision joins this case rather
        # than reopening it; a newer one reopens.
        changes={
            "status": CaseStatus.RESOLVED,
            "resolution": resolution,
            "resolved_at": at,
            "cleared_at": at,
            "snoozed_until": None,
        },
        detail={"resolution": resolution},
    )


def exception_comment(*, case: ExceptionCase, text: str, actor: User) -> ExceptionCase:
    text = text.strip()
    if not text:
        raise ValueError("text: must not be empty")
    with transaction.atomic():
        activity_record(case.id, ActivityAction.COMMENTED, now(), actor=actor, text=text)
        audit_record(actor=actor, action="exception.commented", target=f"exception:{case.id}", detail={"text": text})
        case_changed(case.id)  # its history grew: an open case page shows it
    return case
