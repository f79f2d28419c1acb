"""Expectations from order timelines (event-driven half of the SLA engine).

`slas_from_orders` is ingestion's stage after correlation and exceptions (AFTER_STORE), inside
the message's transaction (correlation's lock serialises it with other ingestion workers). It
re-reads the whole timeline of every order the stored events touched — earliest start, first
stop, current promise — and brings each expectation to what `deadlines.expectation_target`
says, so arrival order and late binding all converge to the same result.

Every write is a compare-and-set on the row as read (status, started_at, due_at, met_at):
the sweep may claim the same row at the same moment. The loser re-reads and decides again."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction

from apps.common.time import now
from apps.correlation.models import OrderProjection, TimelineEntry
from apps.exceptions.services import sla_breach_open, sla_breach_resolve

from ..choices import CLOSED_STAGES, Deadline, ExpectationStatus
from ..deadlines import Stop, Stored, Target, expectation_target
from ..models import Expectation, SlaPolicy
from ..services_bulk import sla_breach_move

CAS_ATTEMPTS = 5
_ROW_FIELDS = ("id", "order_id", "status", "started_at", "due_at", "met_at", "breach_case_id")


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
    if order_ids:
        policies_evaluate(policies, order_ids)


def open_order_ids() -> list[int]:
    return list(OrderProjection.objects.exclude(stage__in=CLOSED_STAGES).values_list("order_id", flat=True))


class OrderFacts(NamedTuple):
    key: str
    promised_by: datetime | None
    service_level: str
    customer: str


def applicable_orders(policies: list[SlaPolicy], order_ids: list[int]) -> dict[int, dict[int, OrderFacts]]:
    """policy id → {order id → facts} for the orders each policy's filter selects: one read of
    the projections for every policy, plus one per policy scoped to a partner."""
    facts = {
        o: OrderFacts(key, promised, level or "", customer or "")
        for o, key, promised, level, customer in OrderProjection.objects.filter(order_id__any=order_ids).values_list(
            "order_id", "order_key", "promised_by", "service_level", "customer"
        )
    }
    out: dict[int, dict[int, OrderFacts]] = {}
    for policy in policies:
        rules = policy.applies_to or {}
        chosen = {
            o: f
            for o, f in facts.items()
            if (not rules.get("service_level") or f.service_level == rules["service_level"])
            and (not rules.get("customer") or f.customer == rules["customer"])
        }
        if rules.get("partner") and chosen:
            on_partner = set(
                TimelineEntry.objects.filter(
                    order_id__any=list(chosen), event__feed__partner__name=rules["partner"]
                ).values_list("order_id", flat=True)
            )
            chosen = {o: f for o, f in chosen.items() if o in on_partner}
        out[policy.id] = chosen
    return out


def due_for(policy: SlaPolicy, started_at: datetime, promised_by: datetime | None) -> datetime | None:
    if policy.within is not None:
        return started_at + policy.within
    if policy.deadline == Deadline.PROMISED_BY:
        return promised_by
    return None


def follows_promise(policy: SlaPolicy) -> bool:
    return policy.within is None and policy.deadline == Deadline.PROMISED_BY


def first_stops(policy: SlaPolicy, order_ids: list[int]) -> dict[int, Stop]:
    """The earliest stop milestone on each order's timeline."""
    stops: dict[int, Stop] = {}
    if not policy.stop or not order_ids:
        return stops
    rows = (
        TimelineEntry.objects.filter(order_id__any=order_ids, event__type__any=list(policy.stop))
        .order_by("order_id", "occurred_at", "event_id")
        .values_list("order_id", "event_id", "occurred_at", "event__type")
    )
    for order_id, event_id, occurred_at, type_ in rows:
        stops.setdefault(order_id, Stop(event_id, occurred_at, type_))
    return stops


@dataclass(frozen=True)
class Facts:
    """What the order's timeline says now, for one policy."""

    start: datetime | None
    stop: Stop | None
    promised_by: datetime | None


def _stored(status: str, started_at: datetime, due_at: datetime, met_at: datetime | None, case: int | None) -> Stored:
    return Stored(status, started_at, due_at, met_at, case)


def policy_evaluate(policy: SlaPolicy, order_ids: Iterable[int]) -> list[tuple[str, str, str]]:
    """One policy over these orders (a policy created or changed): see policies_evaluate."""
    return policies_evaluate([policy], order_ids)


def _milestones(
    policies: list[SlaPolicy], order_ids: list[int]
) -> tuple[dict[tuple[int, int], datetime], dict[tuple[int, int], Stop]]:
    """(policy id, order id) → earliest start, and → first stop: one read of the orders' start and
    stop entries for every policy at once."""
    types = sorted({p.start for p in policies} | {t for p in policies for t in p.stop or []})
    starts: dict[tuple[int, int], datetime] = {}
    stops: dict[tuple[int, int], Stop] = {}
    if not order_ids or not types:
        return starts, stops
    rows = (
        TimelineEntry.objects.filter(order_id__any=order_ids, event__type__any=types)
        .order_by("order_id", "occurred_at", "event_id")
        .values_list("order_id", "event_id", "occurred_at", "event__type")
    )
    starting: dict[str, list[int]] = {}
    stopping: dict[str, list[int]] = {}
    for policy in policies:
        starting.setdefault(policy.start, []).append(policy.id)
        for stop_type in policy.stop or []:
            stopping.setdefault(stop_type, []).append(policy.id)
    for order_id, event_id, occurred_at, type_ in rows:  # oldest first: setdefault keeps the earliest
        for policy_id in starting.get(type_, []):
            starts.setdefault((policy_id, order_id), occurred_at)
        for policy_id in stopping.get(type_, []):
            stops.setdefault((policy_id, order_id), Stop(event_id, occurred_at, type_))
    return starts, stops


def _rows(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], tuple[Any, ...]]:
    """The expectation rows of these (policy, order) pairs, keyed by the pair."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = Expectation.objects.filter(
        policy_id__any=sorted({p for p, _ in wanted}), order_id__any=sorted({o for _, o in wanted})
    ).values_list("policy_id", *_ROW_FIELDS)
    return {(row[0], row[2]): row[1:] for row in rows if (row[0], row[2]) in wanted}


def policies_evaluate(policies: list[SlaPolicy], order_ids: Iterable[int]) -> list[tuple[str, str, str]]:
    """Create the expectations whose start milestone is on the timeline and bring every
    expectation of these orders up to date, for all these policies at once (idempotent; a fixed
    handful of set-based reads whatever the number of policies, then one compare-and-set UPDATE
    for the plain transitions and one per row whose breach case changes). Returns
    (policy, order, status) of the expectations that closed."""
    ids = sorted(set(order_ids))
    if not ids or not policies:
        return []
    by_id = {p.id: p for p in policies}
    applicable = applicable_orders(policies, ids)
    starts, stops = _milestones(policies, sorted({o for chosen in applicable.values() for o in chosen}))
    started = [(p, o) for (p, o) in starts if o in applicable[p]]
    rows = _rows(started)
    new = []
    for policy_id, order_id in started:
        if (policy_id, order_id) in rows:
            continue
        policy, started_at = by_id[policy_id], starts[(policy_id, order_id)]
        due_at = due_for(policy, started_at, applicable[policy_id][order_id].promised_by)
        if due_at is not None:  # else a promised_by deadline the order does not carry (yet)
            new.append(Expectation(policy=policy, order_id=order_id, started_at=started_at, due_at=due_at))
    if new:
        # A concurrent evaluation (a policy being created) may insert the same (policy, order):
        # the unique key keeps one.
        Expectation.objects.bulk_create(new, ignore_conflicts=True)
        rows.update(_rows((e.policy_id, e.order_id) for e in new))
    closed = []
    plain: list[tuple[int, int, Stored, Target, int]] = []  # transitions without a case to touch
    for (policy_id, order_id), (exp_id, _, *stored_row) in sorted(rows.items()):
        policy, facts = by_id[policy_id], _facts(starts, stops, applicable, policy_id, order_id)
        stored = _stored(*stored_row)
        target = expectation_target(
            stored,
            start=facts.start,
            stop=facts.stop,
            promised_by=facts.promised_by,
            follows_promise=follows_promise(policy),
        )
        if target is None:
            continue
        if connection.vendor == "postgresql" and not _has_case_effects(target, stored, facts.stop):
            plain.append((exp_id, order_id, stored, target, policy_id))
            continue
        key = applicable[policy_id][order_id].key
        written = expectation_reconcile(policy, exp_id, order_id, key, facts, stored)
        if written is not None and written.status in (ExpectationStatus.MET, ExpectationStatus.MET_LATE):
            closed.append((policy.name, key, written.status))
    won = _apply_plain([p[:4] for p in plain])
    for exp_id, order_id, stored, target, policy_id in plain:
        policy, key = by_id[policy_id], applicable[policy_id][order_id].key
        if exp_id in won:
            written = target
        else:  # another writer (the sweep) changed the row first: re-read and decide again
            facts = _facts(starts, stops, applicable, policy_id, order_id)
            written = expectation_reconcile(policy, exp_id, order_id, key, facts, stored)
        if written is not None and written.status in (ExpectationStatus.MET, ExpectationStatus.MET_LATE):
            closed.append((policy.name, key, written.status))
    return closed


def _facts(
    starts: dict[tuple[int, int], datetime],
    stops: dict[tuple[int, int], Stop],
    applicable: dict[int, dict[int, OrderFacts]],
    policy_id: int,
    order_id: int,
) -> Facts:
    return Facts(
        starts.get((policy_id, order_id)), stops.get((policy_id, order_id)), applicable[policy_id][order_id].promised_by
    )


def _has_case_effects(target: Target, stored: Stored, stop: Stop | None) -> bool:
    """Whether writing `target` also touches a breach case (see _case_effects)."""
    if stored.case_id is not None and (target.move or (target.resolve and stop is not None)):
        return True
    return target.open_resolved and stop is not None


def _apply_plain(plain: list[tuple[int, int, Stored, Target]]) -> set[int]:
    """PostgreSQL: the compare-and-set of every plain transition in one UPDATE (one statement
    where a batch of new starts and on-time stops took one round trip each). Returns the ids
    that won; a row some other writer changed since it was read is left for the caller."""
    if not plain:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_expectation AS x SET status = v.status, started_at = v.started_at, due_at = v.due_at, "
            "met_at = v.met_at, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], "
            "%s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[]) "
            "AS v(id, was_status, was_started, was_due, was_met, status, started_at, due_at, met_at) "
            "WHERE x.id = v.id AND x.status = v.was_status AND x.started_at = v.was_started "
            "AND x.due_at = v.was_due AND x.met_at IS NOT DISTINCT FROM v.was_met RETURNING x.id",
            [
                now(),
                [p[0] for p in plain],
                [str(p[2].status) for p in plain],
                [p[2].started_at for p in plain],
                [p[2].due_at for p in plain],
                [p[2].met_at for p in plain],
                [str(p[3].status) for p in plain],
                [p[3].started_at for p in plain],
                [p[3].due_at for p in plain],
                [p[3].met_at for p in plain],
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def expectation_reconcile(
    policy: SlaPolicy, exp_id: int, order_id: int, order_key: str, facts: Facts, stored: Stored
) -> Target | None:
    """Compare-and-set the row from `stored` to its target, with the breach case's side effect
    in the same transaction. When another writer changed the row first (the sweep claimed it),
    re-read and decide again. Returns the target written, or None when nothing changed."""
    for _ in range(CAS_ATTEMPTS):
        target = expectation_target(
            stored,
            start=facts.start,
            stop=facts.stop,
            promised_by=facts.promised_by,
            follows_promise=follows_promise(policy),
        )
        if target is None:
            return None
        # savepoint=False: inside the ingest (or sweep) transaction a failure fails that whole
        # transaction anyway, and a savepoint per row cost two round trips per changed
        # expectation (most of the SLA stage's time, scripts/profile_pipeline.py); called
        # outside one, this still makes the update and its case effects one transaction.
        with transaction.atomic(savepoint=False):
            won = Expectation.objects.filter(
                id=exp_id,
                status=stored.status,
                started_at=stored.started_at,
                due_at=stored.due_at,
                met_at=stored.met_at,
            ).update(
                status=target.status,
                started_at=target.started_at,
                due_at=target.due_at,
                met_at=target.met_at,
                updated_at=now(),
            )
            if won:
                _case_effects(policy, exp_id, order_id, order_key, facts.stop, stored.case_id, target)
                return target
        row = Expectation.objects.filter(id=exp_id).values_list(*_ROW_FIELDS[2:]).first()
        if row is None:
            return None
        stored = _stored(*row)
    raise RuntimeError(f"SLA expectation {exp_id}: still changing after {CAS_ATTEMPTS} attempts")


def _case_effects(
    policy: SlaPolicy,
    exp_id: int,
    order_id: int,
    order_key: str,
    stop: Stop | None,
    case_id: int | None,
    target: Target,
) -> None:
    if target.move and case_id is not None:
        sla_breach_move(case_id=case_id, breached_at=target.due_at)
    if target.resolve and case_id is not None and stop is not None:
        sla_breach_resolve(case_id=case_id, event_id=stop.event_id, cleared_at=stop.occurred_at, stop_type=stop.type)
    if target.open_resolved and stop is not None:
        # Late, and no breach was recorded (the sweep had not run, or it was in time until an
        # earlier start arrived): the breach goes on record, already over.
        case = sla_breach_open(
            policy_name=policy.name,
            order_id=order_id,
            order_key=order_key,
            severity=policy.severity,
            queue=policy.queue,
            breached_at=target.due_at,
            cleared=(stop.event_id, stop.occurred_at, stop.type),
        )
        Expectation.objects.filter(id=exp_id).update(breach_case=case)
