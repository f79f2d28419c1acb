"""Partner exceptions: opening cases from exception-type events and clearing them.

`exceptions_from_events` is ingestion's stage after correlation (AFTER_STORE), inside the
message's transaction. Loading is set-based (the batch's relevant events and their orders in two
queries); then each exception or clearing event is applied in occurred_at order, with a few
queries each — they are a small share of the traffic.

Arrival order is not occurred_at order, so every decision compares event times:
* a clearing event resolves a case only if the case's latest occurrence is not newer than it;
* an exception event older than a clearing of its fingerprint joins the resolved case (or opens
  one already resolved) instead of reopening the condition.

User actions are compare-and-set updates on `status`: the rowcount says whether the action
won against a concurrent one or against an automatic resolution."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from apps.common.time import now
from apps.correlation.models import TimelineEntry
from apps.events.models import CanonicalEvent
from apps.events.taxonomy import EXCEPTION_TYPES, EventType, RefKind

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind, Queue, Severity
from ..models import ExceptionCase, ExceptionOccurrence
from .cases import activity_record, case_aggregate, case_store

# exception type → (the type that clears it, whether the reason codes must match)
CLEARED_BY: dict[str, tuple[str, bool]] = {
    EventType.DELIVERY_ATTEMPTED: (EventType.DELIVERY_COMPLETED, False),
    EventType.EXCEPTION_RAISED: (EventType.EXCEPTION_CLEARED, True),
}
CLEARS: dict[str, list[tuple[str, bool]]] = defaultdict(list)
for _raised, (_clearing, _same_code) in CLEARED_BY.items():
    CLEARS[_clearing].append((_raised, _same_code))

SEVERITY_OF_TYPE: dict[str, str] = {
    EventType.DELIVERY_FAILED: Severity.HIGH,
    EventType.SHIPMENT_TENDER_REJECTED: Severity.HIGH,
}
QUEUE_OF_TYPE: dict[str, str] = {EventType.DELIVERY_ATTEMPTED: Queue.CUSTOMER_SERVICE}

# When an event names no order, its case is about this ref (jsonb does not keep key order,
# so "the first ref" must be chosen by kind, not by position).
_SUBJECT_KIND_ORDER: tuple[str, ...] = (
    RefKind.ORDER,
    RefKind.CUSTOMER_PO,
    RefKind.INVOICE,
    RefKind.RETURN,
    RefKind.SHIPMENT,
    RefKind.TRACKING_NUMBER,
    RefKind.LPN,
    RefKind.WAREHOUSE_TASK,
    RefKind.DELIVERY_RUN,
    RefKind.LOAD,
)


@dataclass(frozen=True)
class Signal:
    """One relevant event as seen from one subject (an event on two orders is two signals)."""

    event_id: int
    type: str
    code: str
    occurred_at: datetime
    subject: str
    order_id: int | None

    @property
    def fingerprint(self) -> str:
        # The event type is part of the key: reason codes are the partner's, per event type
        # (CUSTOMER_ABSENT on an attempt and on a final failure are two conditions).
        return f"{ExceptionKind.PARTNER_EXCEPTION}:{self.type}:{self.code}:{self.subject}"


def _ref_subject(refs: dict[str, list[str]]) -> str:
    for kind in _SUBJECT_KIND_ORDER:
        if refs.get(kind):
            return f"{kind}:{sorted(refs[kind])[0]}"
    kind = sorted(refs)[0]
    return f"{kind}:{sorted(refs[kind])[0]}"


# --- from events ---------------------------------------------------------------------------


def exceptions_from_events(event_ids: list[int]) -> None:
    """Open, count and clear partner exceptions for these stored events (idempotent)."""
    if not event_ids:
        return
    relevant = [*EXCEPTION_TYPES, *CLEARS]
    rows = list(
        CanonicalEvent.objects.filter(id__any=event_ids, type__any=relevant).values_list(
            "id", "type", "occurred_at", "refs", "body__reason__code"
        )
    )
    if not rows:
        return
    orders: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for event_id, order_id, order_key in TimelineEntry.objects.filter(
        event_id__any=[r[0] for r in rows], order__kind=RefKind.ORDER
    ).values_list("event_id", "order_id", "order__value"):
        orders[event_id].append((order_id, order_key))
    signals: list[Signal] = []
    for event_id, type_, occurred_at, refs, reason_code in rows:
        code = str(reason_code).strip() if reason_code else type_
        targets: list[tuple[int | None, str]] = [(o, f"order:{key}") for o, key in orders.get(event_id, [])]
        for target, subject in targets or [(None, _ref_subject(refs))]:
            signals.append(Signal(event_id, type_, code, occurred_at, subject, target))
    counted = set(
        ExceptionOccurrence.objects.filter(event_id__any=[s.event_id for s in signals]).values_list(
            "fingerprint", "event_id"
        )
    )
    # Most clearing events (every delivery.completed) have nothing to clear: one query finds
    # the subjects that have an unresolved case, or get one in this batch.
    clear_subjects = [s.subject for s in signals if s.type not in EXCEPTION_TYPES]
    worth_clearing = {s.subject for s in signals if s.type in EXCEPTION_TYPES}
    if clear_subjects:
        worth_clearing.update(
            ExceptionCase.objects.filter(subject__any=clear_subjects, status__in=ACTIVE_STATUSES).values_list(
                "subject", flat=True
            )
        )
    at = now()
    for signal in sorted(signals, key=lambda s: (s.occurred_at, s.event_id)):
        if signal.type in EXCEPTION_TYPES:
            if (signal.fingerprint, signal.event_id) not in counted:
                _occurrence_record(signal, at)
        elif signal.subject in worth_clearing:
            _clear(signal, at)


def _occurrence_record(signal: Signal, at: datetime) -> None:
    fp = signal.fingerprint
    # 1. Older than a clearing we already applied: it belongs to that (resolved) case.
    case = (
        ExceptionCase.objects.filter(fingerprint=fp, status=CaseStatus.RESOLVED, cleared_at__gte=signal.occurred_at)
        .order_by("cleared_at", "id")
        .first()
    )
    if case is None:
        unresolved = ExceptionCase.objects.filter(fingerprint=fp, status__in=ACTIVE_STATUSES).first()
        # 2. A clearing event already stored, newer than this one (and older than the open case,
        #    if any): the condition this event reports is already over.
        clearing = _clearing_after(signal)
        if clearing is not None and (unresolved is None or clearing[1] < unresolved.opened_at):
            case = _case_create(signal, at, cleared=clearing)
        else:
            # 3. The open case, or 4. a new one (reopening a resolved one if any).
            case = unresolved or _case_create(signal, at)
    ExceptionOccurrence.objects.bulk_create(
        [ExceptionOccurrence(case=case, event_id=signal.event_id, fingerprint=fp, occurred_at=signal.occurred_at)],
        ignore_conflicts=True,
    )
    case_aggregate(case.id)


def _clearing_after(signal: Signal) -> tuple[int, datetime, str] | None:
    """The earliest stored event that clears `signal`'s condition and occurred at or after it."""
    if signal.type not in CLEARED_BY:
        return None
    clearing_type, same_code = CLEARED_BY[signal.type]
    if signal.order_id is not None:
        # Through the order's timeline index (order, occurred_at): a handful of rows, whatever
        # the size of the event table.
        entries = TimelineEntry.objects.filter(
            order_id=signal.order_id, occurred_at__gte=signal.occurred_at, event__type=clearing_type
        )
        if same_code:
            entries = entries.filter(event__body__reason__code=signal.code)
        found = entries.order_by("occurred_at", "event_id").values_list("event_id", "occurred_at").first()
        return (found[0], found[1], clearing_type) if found else None
    events = CanonicalEvent.objects.filter(type=clearing_type, occurred_at__gte=signal.occurred_at)
    if same_code:
        events = events.filter(body__reason__code=signal.code)
    kind, _, value = signal.subject.partition(":")
    events = events.filter(ref_rows__kind=kind, ref_rows__value=value)
    row = events.order_by("occurred_at", "id").values_list("id", "occurred_at", "type").first()
    return (row[0], row[1], row[2]) if row else None


def _case_create(signal: Signal, at: datetime, *, cleared: tuple[int, datetime, str] | None = None) -> ExceptionCase:
    fp = signal.fingerprint
    previous = ExceptionCase.objects.filter(fingerprint=fp, status=CaseStatus.RESOLVED).order_by("-id").first()
    case = ExceptionCase(
        kind=ExceptionKind.PARTNER_EXCEPTION,
        code=signal.code[:100],
        fingerprint=fp,
        subject=signal.subject,
        source_type=signal.type,
        order_id=signal.order_id,
        severity=SEVERITY_OF_TYPE.get(signal.type, Severity.MEDIUM),
        queue=QUEUE_OF_TYPE.get(signal.type, Queue.OPS),
        opened_at=signal.occurred_at,
        last_seen_at=signal.occurred_at,
        first_event_id=signal.event_id,
        last_event_id=signal.event_id,
        previous=previous,
    )
    saved, created = case_store(case, at, cleared=cleared)
    if created:
        if previous is not None:
            activity_record(saved.id, ActivityAction.REOPENED, at, event=signal.event_id, previous=previous.id)
        else:
            activity_record(saved.id, ActivityAction.OPENED, at, event=signal.event_id)
    return saved


def _clear(signal: Signal, at: datetime) -> None:
    for raised_type, same_code in CLEARS[signal.type]:
        cases = ExceptionCase.objects.filter(
            subject=signal.subject,
            source_type=raised_type,
            status__in=ACTIVE_STATUSES,
            last_seen_at__lte=signal.occurred_at,  # a clearing older than the exception clears nothing
        )
        if same_code:
            cases = cases.filter(code=signal.code)
        for case_id in cases.values_list("id", flat=True):
            won = ExceptionCase.objects.filter(
                id=case_id, status__in=ACTIVE_STATUSES, last_seen_at__lte=signal.occurred_at
            ).update(
                status=CaseStatus.RESOLVED,
                resolved_at=at,
                resolution=f"auto: {signal.type}",
                cleared_at=signal.occurred_at,
                cleared_by_event_id=signal.event_id,
                snoozed_until=None,
            )
            if won:
                activity_record(case_id, ActivityAction.AUTO_RESOLVED, at, event=signal.event_id)
