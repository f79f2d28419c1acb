"""The SLA engine: policies, expectations, breaches.

* `slas_from_orders` is ingestion's stage after correlation and exceptions (AFTER_STORE). It
  re-evaluates the whole timeline of every order the stored events touched, so the arrival
  order of start and stop, and milestones that joined the order later through late binding,
  all converge to the same result.
* `sla_sweep` is the time-based half (healthchecks `sendalerts`): pending expectations past
  their stored `due_at` are read through the partial index and moved to breached by a
  compare-and-set; only the worker whose UPDATE changed the row opens the breach case, so
  overlapping sweeps need no lock.

A stop milestone met before `due_at` makes the expectation met. Met after it (whether the
sweep saw the breach or not) makes it met_late, with an `sla_breach` case kept on record,
resolved."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef

from apps.accounts.services import audit_record
from apps.common.time import now
from apps.correlation.models import OrderProjection, TimelineEntry
from apps.exceptions.services import sla_breach_open, sla_breach_resolve

from .choices import CLOSED_STAGES, Deadline, ExpectationStatus
from .models import Expectation, SlaPolicy

APPLIES_TO_KEYS = ("service_level", "customer", "partner")
SWEEP_BATCH = 500


@dataclass
class SweepResult:
    opened: list[tuple[str, str, int]] = field(default_factory=list)  # (policy, order, case id)
    closed: list[tuple[str, str, str]] = field(default_factory=list)  # (policy, order, new status)


@dataclass(frozen=True)
class _Stop:
    event_id: int
    occurred_at: datetime
    type: str


# --- evaluation ----------------------------------------------------------------------------


def slas_from_orders(event_ids: list[int]) -> None:
    """Evaluate every active policy on the orders these stored events are on."""
    if not event_ids:
        return
    policies = list(SlaPolicy.objects.filter(active=True).order_by("id"))
    if not policies:
        return
    order_ids = sorted(
        set(TimelineEntry.objects.filter(event_id__any=event_ids).values_list("order_id", flat=True).distinct())
    )
    if not order_ids:
        return
    for policy in policies:
        policy_evaluate(policy, order_ids)


def _applicable(policy: SlaPolicy, order_ids: Iterable[int]) -> dict[int, tuple[str, datetime | None]]:
    """order id → (order key, promised_by) for the orders the policy's filter selects."""
    rows = OrderProjection.objects.filter(order_id__any=list(order_ids))
    rules = policy.applies_to or {}
    if rules.get("service_level"):
        rows = rows.filter(service_level=rules["service_level"])
    if rules.get("customer"):
        rows = rows.filter(customer=rules["customer"])
    if rules.get("partner"):
        rows = rows.filter(
            Exists(
                TimelineEntry.objects.filter(order_id=OuterRef("order_id"), event__feed__partner__name=rules["partner"])
            )
        )
    return {o: (key, promised) for o, key, promised in rows.values_list("order_id", "order_key", "promised_by")}


def _due(policy: SlaPolicy, started_at: datetime, promised_by: datetime | None) -> datetime | None:
    if policy.within is not None:
        return started_at + policy.within
    if policy.deadline == Deadline.PROMISED_BY:
        return promised_by
    return None


def policy_evaluate(policy: SlaPolicy, order_ids: Iterable[int]) -> None:
    """Create the expectations whose start milestone is on the timeline and apply stop
    milestones (idempotent; a few set-based reads per policy, then writes per changed row)."""
    orders = _applicable(policy, order_ids)
    if not orders:
        return
    ids = list(orders)
    starts = dict(
        TimelineEntry.objects.filter(order_id__any=ids, event__type=policy.start)
        .values("order_id")
        .annotate(at=Min("occurred_at"))
        .values_list("order_id", "at")
    )
    existing = set(Expectation.objects.filter(policy=policy, order_id__any=ids).values_list("order_id", flat=True))
    new = []
    for order_id, started_at in starts.items():
        if order_id in existing:
            continue
        due_at = _due(policy, started_at, orders[order_id][1])
        if due_at is None:
            continue  # a promised_by deadline the order does not carry (yet)
        new.append(Expectation(policy=policy, order_id=order_id, started_at=started_at, due_at=due_at))
    # A concurrent evaluation may insert the same (policy, order): the unique key keeps one.
    Expectation.objects.bulk_create(new, ignore_conflicts=True)
    stops = _first_stops(policy, ids)
    if stops:
        _apply_stops(policy, stops, {o: key for o, (key, _) in orders.items()})


def _first_stops(policy: SlaPolicy, order_ids: list[int]) -> dict[int, _Stop]:
    stops: dict[int, _Stop] = {}
    if not policy.stop:
        return stops
    rows = (
        TimelineEntry.objects.filter(order_id__any=order_ids, event__type__any=list(policy.stop))
        .order_by("order_id", "occurred_at", "event_id")
        .values_list("order_id", "event_id", "occurred_at", "event__type")
    )
    for order_id, event_id, occurred_at, type_ in rows:
        stops.setdefault(order_id, _Stop(event_id, occurred_at, type_))
    return stops


def _apply_stops(policy: SlaPolicy, stops: dict[int, _Stop], keys: dict[int, str]) -> list[tuple[str, str, str]]:
    """Close open expectations whose stop milestone is on the timeline. Returns what closed."""
    closed: list[tuple[str, str, str]] = []
    open_rows = list(
        Expectation.objects.filter(
            policy=policy,
            order_id__any=list(stops),
            status__in=(ExpectationStatus.PENDING, ExpectationStatus.BREACHED),
        ).values_list("id", "order_id", "status", "due_at", "breach_case_id")
    )
    for exp_id, order_id, status, due_at, case_id in open_rows:
        stop = stops[order_id]
        late = stop.occurred_at > due_at
        new_status = (
            ExpectationStatus.MET_LATE if late or status == ExpectationStatus.BREACHED else ExpectationStatus.MET
        )
        at = now()
        with transaction.atomic():
            won = Expectation.objects.filter(id=exp_id, status=status).update(
                status=new_status, met_at=stop.occurred_at, updated_at=at
            )
            if not won:
                continue  # the sweep or another evaluation changed it first; it is seen next time
            if status == ExpectationStatus.BREACHED and case_id is not None:
                sla_breach_resolve(
                    case_id=case_id, event_id=stop.event_id, cleared_at=stop.occurred_at, stop_type=stop.type
                )
            elif new_status == ExpectationStatus.MET_LATE:
                # Late, but the sweep had not seen it yet: the breach is recorded, already over.
                case = sla_breach_open(
                    policy_name=policy.name,
                    order_id=order_id,
                    order_key=keys[order_id],
                    severity=policy.severity,
                    queue=policy.queue,
                    breached_at=due_at,
                    cleared=(stop.event_id, stop.occurred_at, stop.type),
                )
                Expectation.objects.filter(id=exp_id).update(breach_case=case)
        closed.append((policy.name, keys[order_id], new_status))
    return closed


# --- the sweep -----------------------------------------------------------------------------


def sla_sweep(at: datetime | None = None) -> SweepResult:
    """Breach every pending expectation due at or before `at` (default: now)."""
    at = at or now()
    result = SweepResult()
    while True:
        due = list(
            Expectation.objects.filter(status=ExpectationStatus.PENDING, due_at__lte=at, policy__active=True)
            .order_by("due_at", "id")
            .values_list("id", "policy_id", "order_id", "due_at", "order__value")[:SWEEP_BATCH]
        )
        if not due:
            return result
        progressed = False
        by_policy: dict[int, list[tuple[int, int, datetime, str]]] = {}
        for exp_id, policy_id, order_id, due_at, key in due:
            by_policy.setdefault(policy_id, []).append((exp_id, order_id, due_at, key))
        for policy in SlaPolicy.objects.filter(id__any=list(by_policy)):
            rows = by_policy[policy.id]
            # Recompute before breaching: a stop milestone already on the timeline (in time or
            # not) closes the expectation instead.
            stops = _first_stops(policy, [r[1] for r in rows])
            if stops:
                closed = _apply_stops(policy, stops, {r[1]: r[3] for r in rows})
                result.closed.extend(closed)
                progressed = progressed or bool(closed)
            for exp_id, order_id, due_at, key in rows:
                if order_id in stops:
                    continue
                with transaction.atomic():
                    won = Expectation.objects.filter(id=exp_id, status=ExpectationStatus.PENDING).update(
                        status=ExpectationStatus.BREACHED, updated_at=now()
                    )
                    if won != 1:
                        continue  # another sweep got there first
                    progressed = True
                    case = sla_breach_open(
                        policy_name=policy.name,
                        order_id=order_id,
                        order_key=key,
                        severity=policy.severity,
                        queue=policy.queue,
                        breached_at=due_at,
                    )
                    Expectation.objects.filter(id=exp_id).update(breach_case=case)
                result.opened.append((policy.name, key, case.id))
        if not progressed:
            return result  # everything left was taken by a concurrent sweep


# --- policies ------------------------------------------------------------------------------


def _validate(data: dict[str, Any]) -> None:
    has_within = data.get("within") is not None
    has_deadline = bool(data.get("deadline"))
    if has_within == has_deadline:
        raise ValueError("within: give exactly one of within or deadline")
    if has_within and data["within"] <= timedelta(0):
        raise ValueError("within: must be a positive duration")
    unknown = sorted(set(data.get("applies_to") or {}) - set(APPLIES_TO_KEYS))
    if unknown:
        raise ValueError(f"applies_to: unknown key {', '.join(unknown)}; allowed: {', '.join(APPLIES_TO_KEYS)}")
    if not data.get("stop"):
        raise ValueError("stop: at least one event type")


def _open_orders_evaluate(policy: SlaPolicy) -> None:
    if not policy.active:
        return
    open_orders = OrderProjection.objects.exclude(stage__in=CLOSED_STAGES).values_list("order_id", flat=True)
    policy_evaluate(policy, list(open_orders))


def sla_policy_create(*, actor: object, **data: Any) -> SlaPolicy:
    """Create a policy and start its clocks on the orders open right now (their timelines may
    already hold the start, and the stop, milestones)."""
    _validate(data)
    data["deadline"] = data.get("deadline") or ""
    try:
        with transaction.atomic():
            policy = SlaPolicy.objects.create(**data)
    except IntegrityError as exc:
        raise ValueError(f"name: a policy named {data.get('name')!r} exists") from exc
    with transaction.atomic():
        audit_record(
            actor=actor, action="sla_policy.created", target=f"sla_policy:{policy.name}", detail=_detail(policy)
        )
        _open_orders_evaluate(policy)
    return policy


def sla_policy_update(*, policy: SlaPolicy, actor: object, **changes: Any) -> SlaPolicy:
    """Change a policy. Existing expectations keep their due time; new ones use the new rule."""
    merged = {
        name: getattr(policy, name)
        for name in ("name", "start", "stop", "within", "deadline", "applies_to", "severity", "queue", "active")
    }
    merged.update(changes)
    _validate(merged)
    merged["deadline"] = merged.get("deadline") or ""
    for name, value in merged.items():
        setattr(policy, name, value)
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as exc:
        raise ValueError(f"name: a policy named {merged['name']!r} exists") from exc
    with transaction.atomic():
        audit_record(
            actor=actor, action="sla_policy.updated", target=f"sla_policy:{policy.name}", detail=_detail(policy)
        )
        _open_orders_evaluate(policy)
    return policy


def _detail(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "start": policy.start,
        "stop": policy.stop,
        "within": policy.within.total_seconds() if policy.within is not None else None,
        "deadline": policy.deadline or None,
        "applies_to": policy.applies_to,
        "severity": policy.severity,
        "queue": policy.queue,
        "active": policy.active,
    }
