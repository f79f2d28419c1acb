"""Reconciliation cases, opened and resolved by apps.finance.

One case per (rule, order): fingerprint `reconciliation:<rule>:<order>`, code = the rule. The
finance app says which findings are mismatched now (past their grace period) for a set of
orders; `reconciliation_cases_sync` opens the missing cases and resolves, automatically, the
ones whose finding is gone (the systems agree again)."""

from dataclasses import dataclass
from datetime import datetime

from apps.common.time import now
from apps.events.taxonomy import RefKind

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind
from ..models import ExceptionCase
from .cases import activity_record, case_changed, case_store


@dataclass(frozen=True, slots=True)
class WantedCase:
    rule: str
    order_id: int
    order_key: str
    queue: str
    severity: str
    since: datetime
    detail: str
    noticed: datetime | None = None  # since when (wall clock) the finding has stood


def _fingerprint(rule: str, order_key: str) -> str:
    return f"{ExceptionKind.RECONCILIATION}:{rule}:{order_key}"


def _dismissed(previous: ExceptionCase | None, wanted: WantedCase) -> bool:
    """A person resolved the case while this same finding stood (it was noticed before their
    decision): it stays resolved until the finding goes away and comes back. Findings that are
    history (a stale report, an invoice posted while held) would otherwise reopen forever."""
    if previous is None or previous.resolved_at is None or previous.resolution.startswith("auto:"):
        return False
    return wanted.noticed is not None and wanted.noticed <= previous.resolved_at


def reconciliation_cases_sync(
    order_ids: list[int], wanted: list[WantedCase], keep: set[tuple[int, str]]
) -> tuple[list[int], list[int]]:
    """Open a case for each of `wanted` that has none; resolve the active cases of these orders
    whose (order id, rule) is not in `keep` (their finding is gone). Returns (ids opened, ids
    resolved)."""
    if not order_ids:
        return [], []
    at = now()
    active = {
        case.fingerprint: case
        for case in ExceptionCase.objects.filter(
            order_id__any=order_ids, kind=ExceptionKind.RECONCILIATION, status__in=ACTIVE_STATUSES
        )
    }
    opened, resolved = [], []
    wanted_fps = set()
    for w in wanted:
        fp = _fingerprint(w.rule, w.order_key)
        wanted_fps.add(fp)
        if fp in active:
            continue
        previous = ExceptionCase.objects.filter(fingerprint=fp, status=CaseStatus.RESOLVED).order_by("-id").first()
        if _dismissed(previous, w):
            continue
        case = ExceptionCase(
            kind=ExceptionKind.RECONCILIATION,
            code=w.rule,
            fingerprint=fp,
            subject=f"{RefKind.ORDER}:{w.order_key}",
            order_id=w.order_id,
            severity=w.severity,
            queue=w.queue,
            opened_at=w.since,
            last_seen_at=w.since,
            occurrences=1,
            previous=previous,
        )
        saved, created = case_store(case, at, cleared=None)
        if created:
            action = ActivityAction.REOPENED if previous is not None else ActivityAction.OPENED
            activity_record(saved.id, action, at, rule=w.rule, detail=w.detail[:500])
            opened.append(saved.id)
    for fp, case in active.items():
        if fp in wanted_fps or (case.order_id, case.code) in keep:
            continue
        won = ExceptionCase.objects.filter(id=case.id, status__in=ACTIVE_STATUSES).update(
            status=CaseStatus.RESOLVED,
            resolved_at=at,
            resolution="auto: the systems agree",
            cleared_at=at,
            snoozed_until=None,
        )
        if won:
            activity_record(case.id, ActivityAction.AUTO_RESOLVED, at, reason="the systems agree")
            case_changed(case.id)
            resolved.append(case.id)
    return opened, resolved
