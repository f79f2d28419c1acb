"""Late binding for partner exception cases: a case opened on a ref moves to its order.

A partner exception event that arrives before its tracking number (or shipment, LPN…) is linked
to an order opens a case whose subject is that ref (`tracking_number:1Z…`, order NULL). When
correlation later puts the event on an order's timeline, the case belongs to the order: its
subject, fingerprint and order change, and the order page and the `order` filter find it.

Trigger: `cases_rebind` is the pipeline's `cases_follow_binding` stage, between correlation and
`partner_exceptions` (apps/pipeline/stages.py). It is given the events correlation has just
placed on an order (the batch's and the older ones late binding reached), so it costs one
probe of the occurrences' event index per batch, whatever the store holds.
Running before `exceptions_from_events` lets an exception event of the same batch join the moved
case instead of opening a second one.

If the order already has an unresolved case with the target fingerprint (the partial unique
constraint allows one), the two are merged: the occurrences move to the order's case, which is
re-aggregated, and the ref's case is resolved as "merged into #N". An event on several orders
(a consolidated shipment) moves the case to the order most of its events reach and counts the
events on the other orders as partner exceptions there, as if they had arrived bound.

Resolved cases move too, for the record: a failed delivery attempt that opened and cleared on a
tracking number before the number was bound is still part of the order's story, and an agent on
the order's page (or `?order=` of the queue) must see it. Such a case is only re-keyed to the
order (subject, fingerprint, order, `previous` link, a `moved` entry): it stays resolved, keeps
its occurrences and is never merged into the order's unresolved case. Re-keying it is safe
whatever the order holds, since the unique constraint on fingerprints covers unresolved cases
only. Its events are not counted on the other orders of a consolidated shipment: that would open
there a condition that is already over."""

from collections import defaultdict
from datetime import datetime

from django.db import IntegrityError, transaction

from apps.common.time import now
from apps.correlation.models import Node, TimelineEntry
from apps.events.taxonomy import RefKind

from ..choices import ACTIVE_STATUSES, ActivityAction, CaseStatus, ExceptionKind
from ..models import ExceptionCase, ExceptionOccurrence
from .cases import activity_record, case_aggregate, case_changed
from .partner import CLEARED_BY, Signal, _occurrence_record

OrderRef = tuple[int, str]  # (order node id, order key)
Occurrence = tuple[int, datetime]  # (event id, occurred_at)


def cases_rebind(event_ids: list[int]) -> list[int]:
    """Move every ref-subject partner case (unresolved or resolved) with an occurrence among
    these events (the events correlation has just placed on an order) to that order.
    Returns the ids of the cases that moved or were merged away."""
    if not event_ids:
        return []
    waiting = ExceptionOccurrence.objects.filter(
        event_id__any=event_ids,
        case__kind=ExceptionKind.PARTNER_EXCEPTION,
        case__order__isnull=True,
    )
    # The common answer is "nothing": one probe of the occurrences' event index.
    occurrences = list(waiting.values_list("case_id", "event_id", "occurred_at"))
    if not occurrences:
        return []
    orders_of: dict[int, list[int]] = defaultdict(list)
    for event_id, order_id in TimelineEntry.objects.filter(
        event_id__any=sorted({e for _, e, _ in occurrences})
    ).values_list("event_id", "order_id"):
        orders_of[event_id].append(order_id)
    keys = dict(
        Node.objects.filter(
            id__any=sorted({o for orders in orders_of.values() for o in orders}), kind=RefKind.ORDER
        ).values_list("id", "value")
    )
    found: dict[int, dict[OrderRef, list[Occurrence]]] = defaultdict(lambda: defaultdict(list))
    for case_id, event_id, occurred_at in occurrences:
        for order_id in orders_of.get(event_id, []):
            if order_id in keys:
                found[case_id][(order_id, keys[order_id])].append((event_id, occurred_at))
    if not found:
        return []
    at = now()
    moved = []
    for case in ExceptionCase.objects.filter(id__any=list(found)).order_by("id"):
        if _case_move(case, found[case.id], at):
            moved.append(case.id)
    return moved


def _partner_code(case: ExceptionCase) -> str:
    """The full reason code from the fingerprint `partner_exception:<type>:<code>:<subject>`
    (the `code` column is cut at 100 characters)."""
    head = f"{ExceptionKind.PARTNER_EXCEPTION}:{case.source_type}:"
    return case.fingerprint[len(head) : -len(case.subject) - 1]


def _case_move(case: ExceptionCase, orders: dict[OrderRef, list[Occurrence]], at: datetime) -> bool:
    # The order most of its events reach; ties go to the smallest order key (stable).
    primary = min(orders, key=lambda ref: (-len(orders[ref]), ref[1]))
    order_id, order_key = primary
    subject = f"{RefKind.ORDER}:{order_key}"
    code = _partner_code(case)
    target_fp = f"{ExceptionKind.PARTNER_EXCEPTION}:{case.source_type}:{code}:{subject}"
    with transaction.atomic():
        if case.status == CaseStatus.RESOLVED:
            return _move_resolved(case, target_fp, subject, order_id, order_key, at)
        target = ExceptionCase.objects.filter(fingerprint=target_fp, status__in=ACTIVE_STATUSES).first()
        if target is None or (target.id == case.id and case.order_id is None):
            # (The second: a case opened on the order's own id before the order existed, by the
            # early stage; it keeps its fingerprint and gets its order.)
            target = _move(case, target_fp, subject, order_id, order_key, at)
        if target is None:
            # Moved meanwhile, or resolved meanwhile: then it moves as history.
            case.refresh_from_db(fields=["status", "order"])
            if case.status == CaseStatus.RESOLVED and case.order_id is None:
                return _move_resolved(case, target_fp, subject, order_id, order_key, at)
            return False
        if target.id != case.id and not _merge(case, target, order_id, order_key, at):
            return False
        _clear_if_over(target, order_id, code, at)
        for other, events in orders.items():
            if other != primary:
                other_subject = f"{RefKind.ORDER}:{other[1]}"
                for event_id, occurred_at in sorted(events, key=lambda e: (e[1], e[0])):
                    signal = Signal(event_id, case.source_type, code, occurred_at, other_subject, other[0])
                    _occurrence_record(signal, at)
    return True


def _move(
    case: ExceptionCase, target_fp: str, subject: str, order_id: int, order_key: str, at: datetime
) -> ExceptionCase | None:
    """Re-key the case in place (compare-and-set on `order IS NULL`). Returns the unresolved case
    now holding `target_fp`: this one, or one that appeared meanwhile (then merge into it)."""
    previous = ExceptionCase.objects.filter(fingerprint=target_fp, status=CaseStatus.RESOLVED).order_by("-id").first()
    old_fp, old_subject = case.fingerprint, case.subject
    try:
        with transaction.atomic():
            won = ExceptionCase.objects.filter(id=case.id, order__isnull=True, status__in=ACTIVE_STATUSES).update(
                subject=subject,
                fingerprint=target_fp,
                order_id=order_id,
                previous_id=case.previous_id or (previous.id if previous else None),
            )
    except IntegrityError:
        return ExceptionCase.objects.filter(fingerprint=target_fp, status__in=ACTIVE_STATUSES).first()
    if not won:
        return None
    # An event already counted under the order's fingerprint (only by an older, resolved case)
    # keeps that count; the rest follow the case.
    taken = ExceptionOccurrence.objects.filter(fingerprint=target_fp).exclude(case_id=case.id).values("event_id")
    ExceptionOccurrence.objects.filter(case_id=case.id, event_id__in=taken).delete()
    ExceptionOccurrence.objects.filter(case_id=case.id).update(fingerprint=target_fp)
    case_aggregate(case.id)
    activity_record(case.id, ActivityAction.MOVED, at, order=order_key, subject=old_subject, fingerprint=old_fp)
    case_changed(case.id)
    case.refresh_from_db()
    return case


def _move_resolved(
    case: ExceptionCase, target_fp: str, subject: str, order_id: int, order_key: str, at: datetime
) -> bool:
    """Re-key a resolved case in place (compare-and-set on `order IS NULL` and resolved): it
    stays resolved, next to whatever the order holds under `target_fp` (the unique constraint
    covers unresolved cases only). Its `previous` is the order's latest earlier resolved case of
    that fingerprint, as for a moved unresolved case."""
    previous = (
        ExceptionCase.objects.filter(fingerprint=target_fp, status=CaseStatus.RESOLVED, id__lt=case.id)
        .order_by("-id")
        .first()
    )
    old_fp, old_subject = case.fingerprint, case.subject
    won = ExceptionCase.objects.filter(id=case.id, order__isnull=True, status=CaseStatus.RESOLVED).update(
        subject=subject,
        fingerprint=target_fp,
        order_id=order_id,
        previous_id=case.previous_id or (previous.id if previous else None),
    )
    if not won:
        return False
    # As in `_move`: an event already counted under the order's fingerprint keeps that count
    # (one occurrence per fingerprint and event); in the usual case there is none, and the
    # occurrences and their counts are unchanged.
    taken = ExceptionOccurrence.objects.filter(fingerprint=target_fp).exclude(case_id=case.id).values("event_id")
    if ExceptionOccurrence.objects.filter(case_id=case.id, event_id__in=taken).delete()[0]:
        case_aggregate(case.id)
    ExceptionOccurrence.objects.filter(case_id=case.id).update(fingerprint=target_fp)
    activity_record(case.id, ActivityAction.MOVED, at, order=order_key, subject=old_subject, fingerprint=old_fp)
    case_changed(case.id)
    return True


def _merge(case: ExceptionCase, target: ExceptionCase, order_id: int, order_key: str, at: datetime) -> bool:
    """Fold the ref's case into the order's unresolved one; the ref's case is resolved."""
    won = ExceptionCase.objects.filter(id=case.id, order__isnull=True, status__in=ACTIVE_STATUSES).update(
        status=CaseStatus.RESOLVED,
        resolved_at=at,
        cleared_at=at,
        resolution=f"merged into #{target.id}",
        order_id=order_id,
        snoozed_until=None,
    )
    if not won:
        return False
    taken = ExceptionOccurrence.objects.filter(fingerprint=target.fingerprint).values("event_id")
    ExceptionOccurrence.objects.filter(case_id=case.id, event_id__in=taken).delete()
    rows = ExceptionOccurrence.objects.filter(case_id=case.id)
    moved = rows.update(case_id=target.id, fingerprint=target.fingerprint)
    case_aggregate(target.id)
    if case.assignee_id is not None:
        # Whoever was already working on it keeps it, unless the order's case has someone.
        ExceptionCase.objects.filter(id=target.id, assignee__isnull=True).update(assignee_id=case.assignee_id)
    activity_record(case.id, ActivityAction.MERGED, at, into=target.id, order=order_key)
    activity_record(target.id, ActivityAction.MERGED, at, merged=case.id, subject=case.subject, occurrences=moved)
    case_changed(case.id)
    case_changed(target.id)
    return True


def _clear_if_over(case: ExceptionCase, order_id: int, code: str, at: datetime) -> None:
    """The order may already hold the event that clears this condition (e.g. a delivery.completed
    stored after the attempt but before the binding): then the moved case is over."""
    if case.source_type not in CLEARED_BY:
        return
    case.refresh_from_db(fields=["last_seen_at", "status"])
    clearing_type, same_code = CLEARED_BY[case.source_type]
    entries = TimelineEntry.objects.filter(
        order_id=order_id, occurred_at__gte=case.last_seen_at, event__type=clearing_type
    )
    if same_code:
        entries = entries.filter(event__body__reason__code=code)
    found = entries.order_by("occurred_at", "event_id").values_list("event_id", "occurred_at").first()
    if found is None:
        return
    won = ExceptionCase.objects.filter(id=case.id, status__in=ACTIVE_STATUSES, last_seen_at__lte=found[1]).update(
        status=CaseStatus.RESOLVED,
        resolved_at=at,
        resolution=f"auto: {clearing_type}",
        cleared_at=found[1],
        cleared_by_event_id=found[0],
        snoozed_until=None,
    )
    if won:
        activity_record(case.id, ActivityAction.AUTO_RESOLVED, at, event=found[0])
        case_changed(case.id)
