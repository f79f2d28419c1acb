"""SLA breach cases, opened and resolved by apps.sla."""

from datetime import datetime
from typing import NamedTuple

from apps.common.time import now
from apps.events.taxonomy import RefKind

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind
from ..models import ExceptionActivity, ExceptionCase
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


class LateStop(NamedTuple):
    """A stop milestone that arrived after the due time, with no breach on record yet."""

    policy_name: str
    order_id: int
    order_key: str
    severity: str
    queue: str
    breached_at: datetime
    stop_event_id: int | None
    stop_at: datetime
    stop_type: str


def sla_breaches_record_over(late: list[LateStop]) -> list[int]:
    """`sla_breach_open(..., cleared=...)` for many late stops at once: each breach goes on
    record already resolved (so it counts in reports), in three statements whatever their
    number: the previous resolved case of each fingerprint, the cases, their activities.
    Returns the case ids, in the order given."""
    if not late:
        return []
    at = now()
    fingerprints = [f"{ExceptionKind.SLA_BREACH}:{item.policy_name}:{item.order_key}" for item in late]
    previous: dict[str, int] = {}
    for fp, case_id in (
        ExceptionCase.objects.filter(fingerprint__any=sorted(set(fingerprints)), status=CaseStatus.RESOLVED)
        .order_by("fingerprint", "id")
        .values_list("fingerprint", "id")
    ):
        previous[fp] = case_id  # ascending id: the latest wins
    cases = [
        ExceptionCase(
            kind=ExceptionKind.SLA_BREACH,
            code=item.policy_name[:100],
            fingerprint=fp,
            subject=f"{RefKind.ORDER}:{item.order_key}",
            order_id=item.order_id,
            severity=item.severity,
            queue=item.queue,
            opened_at=item.breached_at,
            last_seen_at=item.breached_at,
            occurrences=1,
            previous_id=previous.get(fp),
            status=CaseStatus.RESOLVED,
            resolved_at=at,
            cleared_by_event_id=item.stop_event_id,
            cleared_at=item.stop_at,
            resolution=f"auto: {item.stop_type}",
        )
        for item, fp in zip(late, fingerprints, strict=True)
    ]
    ExceptionCase.objects.bulk_create(cases)
    ExceptionActivity.objects.bulk_create(
        [
            ExceptionActivity(
                case_id=case.id,
                action=ActivityAction.AUTO_RESOLVED,
                detail={"event": item.stop_event_id, "late": True},
                at=at,
            )
            for case, item in zip(cases, late, strict=True)
        ]
    )
    for case in cases:
        case_changed(case.id, opened=True)  # new cases, on record already resolved
    return [case.id for case in cases]
