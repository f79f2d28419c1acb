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

from django.db import IntegrityError, transaction

from apps.common.time import now
from apps.correlation.models import TimelineEntry
from apps.correlation.selectors import orders_placing
from apps.events.models import CanonicalEvent
from apps.events.taxonomy import EXCEPTION_TYPES, EventType, RefKind

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind, Queue, Severity
from ..models import ExceptionActivity, ExceptionCase, ExceptionOccurrence
from .cases import activity_record, case_aggregate, case_changed, case_store, cases_aggregate

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


RELEVANT_TYPES: frozenset[str] = frozenset({*EXCEPTION_TYPES, *CLEARS})


def exceptions_from_events(event_ids: list[int]) -> None:
    """Open, count and clear partner exceptions for these stored events (idempotent). Each event
    is about the orders whose timeline it is on (correlation has run)."""
    _from_events(event_ids, early=False)


def exceptions_before_correlation(event_ids: list[int]) -> None:
    """The same for events that correlation has not placed yet (ingestion's early stage, for
    small messages: docs/live.md "Early exceptions"): each event is about the orders whose
    committed closure holds what it names. `exceptions_from_events` runs again after
    correlation and finds these occurrences counted; an order the event itself links it to is
    added then, and a case opened on a ref moves to its order (`cases_rebind`)."""
    _from_events(event_ids, early=True)


def _from_events(event_ids: list[int], *, early: bool) -> None:
    if not event_ids:
        return
    rows = list(
        CanonicalEvent.objects.filter(id__any=event_ids, type__any=sorted(RELEVANT_TYPES)).values_list(
            "id", "type", "occurred_at", "refs", "body__reason__code"
        )
    )
    if not rows:
        return
    orders: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if early:
        orders.update(orders_placing({r[0]: r[3] for r in rows}))
    else:
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
    uncounted = [s for s in signals if s.type in EXCEPTION_TYPES and (s.fingerprint, s.event_id) not in counted]
    in_sets = _occurrences_record_plain(uncounted, signals, at)
    for signal in sorted(signals, key=lambda s: (s.occurred_at, s.event_id)):
        if signal.type in EXCEPTION_TYPES:
            if (signal.fingerprint, signal.event_id) not in counted and signal.fingerprint not in in_sets:
                _occurrence_record(signal, at)
        elif signal.subject in worth_clearing:
            _clear(signal, at)


def _plain_fingerprints(uncounted: list[Signal], signals: list[Signal]) -> dict[str, list[Signal]]:
    """The fingerprints whose occurrences need no decision by event time, each with its signals
    (oldest first): no resolved case of theirs exists (nothing to join late or to reopen), no
    clearing event of their subject is in this batch, and none is stored on their order at or
    after their oldest signal. They either join their open case or open a new one, whatever
    the order of arrival. Conservative: a clearing of another reason code still disqualifies."""
    clearing_subjects = {s.subject for s in signals if s.type in CLEARS}
    groups: dict[str, list[Signal]] = defaultdict(list)
    for signal in sorted(uncounted, key=lambda s: (s.occurred_at, s.event_id)):
        if signal.subject in clearing_subjects or (signal.type in CLEARED_BY and signal.order_id is None):
            continue
        groups[signal.fingerprint].append(signal)
    if not groups:
        return {}
    for fp in ExceptionCase.objects.filter(fingerprint__any=list(groups), status=CaseStatus.RESOLVED).values_list(
        "fingerprint", flat=True
    ):
        groups.pop(fp, None)
    clearable = [g for g in groups.values() if g[0].type in CLEARED_BY]
    if clearable:
        clearing_types = list({CLEARED_BY[g[0].type][0] for g in clearable})
        latest: dict[tuple[int, str], datetime] = {}
        for order_id, type_, occurred_at in TimelineEntry.objects.filter(
            order_id__any=list({g[0].order_id for g in clearable}), event_type__any=clearing_types
        ).values_list("order_id", "event_type", "occurred_at"):
            if (order_id, type_) not in latest or occurred_at > latest[(order_id, type_)]:
                latest[(order_id, type_)] = occurred_at
        for group in clearable:
            first = group[0]
            cleared = latest.get((first.order_id, CLEARED_BY[first.type][0]))  # type: ignore[arg-type]
            if cleared is not None and cleared >= first.occurred_at:
                groups.pop(first.fingerprint)
    return groups


def _occurrences_record_plain(uncounted: list[Signal], signals: list[Signal], at: datetime) -> set[str]:
    """Set-based recording for the common case (`_plain_fingerprints`): one insert of the new
    cases, one of their opening activities, one of the occurrences and one aggregate UPDATE for
    every touched case. Returns the fingerprints handled; the rest go through
    `_occurrence_record`, one by one."""
    groups = _plain_fingerprints(uncounted, signals)
    if not groups:
        return set()
    open_cases = dict(
        ExceptionCase.objects.filter(fingerprint__any=list(groups), status__in=ACTIVE_STATUSES).values_list(
            "fingerprint", "id"
        )
    )
    new_cases = [_case_new(group[0]) for fp, group in groups.items() if fp not in open_cases]
    try:
        with transaction.atomic():
            ExceptionCase.objects.bulk_create(new_cases)
    except IntegrityError:
        return set()  # another transaction opened one of them: decide one by one instead
    opened = {case.fingerprint: case.id for case in new_cases}
    ExceptionActivity.objects.bulk_create(
        [
            ExceptionActivity(case_id=c.id, action=ActivityAction.OPENED, detail={"event": c.first_event_id}, at=at)
            for c in new_cases
        ]
    )
    case_ids = {**open_cases, **opened}
    ExceptionOccurrence.objects.bulk_create(
        [
            ExceptionOccurrence(case_id=case_ids[fp], event_id=s.event_id, fingerprint=fp, occurred_at=s.occurred_at)
            for fp, group in groups.items()
            for s in group
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    for case_id in opened.values():
        case_changed(case_id, opened=True)
    cases_aggregate(list(case_ids.values()))
    return set(groups)


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
            order_id=signal.order_id, occurred_at__gte=signal.occurred_at, event_type=clearing_type
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


def _case_new(signal: Signal, previous: ExceptionCase | None = None) -> ExceptionCase:
    return ExceptionCase(
        kind=ExceptionKind.PARTNER_EXCEPTION,
        code=signal.code[:100],
        fingerprint=signal.fingerprint,
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


def _case_create(signal: Signal, at: datetime, *, cleared: tuple[int, datetime, str] | None = None) -> ExceptionCase:
    previous = (
        ExceptionCase.objects.filter(fingerprint=signal.fingerprint, status=CaseStatus.RESOLVED).order_by("-id").first()
    )
    saved, created = case_store(_case_new(signal, previous), at, cleared=cleared)
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
                case_changed(case_id)
