"""SLA breach cases, opened and resolved by apps.sla."""

from datetime import datetime

from apps.common.time import now
from apps.events.taxonomy import RefKind

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind
from ..models import ExceptionCase
from .cases import activity_record, case_changed, case_store


def sla_breach_open(
    *,
    policy_name: str,
    order_id: int,
    order_key: str,
    severity: str,
    queue: str,
    breached_at: datetime,
    cleared: tuple[int | None, datetime, str] | None = None,
) -> ExceptionCase:
    """Open the `sla_breach` case of (policy, order), or return the unresolved one.

    With `cleared` (stop event id, its occurred_at, its type) the breach is already over: the
    case is recorded resolved at once, so that it still counts in reports."""
    fp = f"{ExceptionKind.SLA_BREACH}:{policy_name}:{order_key}"
    at = now()
    previous = ExceptionCase.objects.filter(fingerprint=fp, status=CaseStatus.RESOLVED).order_by("-id").first()
    case = ExceptionCase(
        kind=ExceptionKind.SLA_BREACH,
        code=policy_name[:100],
        fingerprint=fp,
        subject=f"{RefKind.ORDER}:{order_key}",
        order_id=order_id,
        severity=severity,
        queue=queue,
        opened_at=breached_at,
        last_seen_at=breached_at,
        occurrences=1,
        previous=previous,
    )
    saved, created = case_store(case, at, cleared=cleared)
    if created:
        activity_record(saved.id, ActivityAction.OPENED, at, policy=policy_name, due_at=breached_at.isoformat())
    return saved


def sla_breach_resolve(*, case_id: int, event_id: int | None, cleared_at: datetime, stop_type: str) -> bool:
    """The stop milestone arrived late: resolve the breach case (compare-and-set; False when it
    was already resolved, e.g. by hand)."""
    at = now()
    won = ExceptionCase.objects.filter(id=case_id, status__in=ACTIVE_STATUSES).update(
        status=CaseStatus.RESOLVED,
        resolved_at=at,
        resolution=f"auto: {stop_type}",
        cleared_at=cleared_at,
        cleared_by_event_id=event_id,
        snoozed_until=None,
    )
    if won:
        activity_record(case_id, ActivityAction.AUTO_RESOLVED, at, event=event_id)
        case_changed(case_id)
    return bool(won)
