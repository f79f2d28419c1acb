"""Writing an expectation's transition: the compare-and-set on the row as read, and the breach
case it opens, moves or resolves, in the same transaction. Per row (`expectation_reconcile`,
which re-reads and decides again when another writer won) or, for the common transitions, in
bulk (`_apply_plain`, `_late_stops_record`). Used by evaluation.py and sweep.py."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from apps.common.time import now
from apps.exceptions.services import sla_breach_open, sla_breach_resolve

from ..choices import Deadline
from ..deadlines import Stop, Stored, Target, expectation_target
from ..models import Expectation, SlaPolicy
from ..services_bulk import Breach, sla_breach_move, sla_breaches_record_over

CAS_ATTEMPTS = 5
_ROW_FIELDS = ("id", "order_id", "status", "started_at", "due_at", "met_at", "breach_case_id")


def follows_promise(policy: SlaPolicy) -> bool:
    return policy.within is None and policy.deadline == Deadline.PROMISED_BY


@dataclass(frozen=True)
class Facts:
    """What the order's timeline says now, for one policy."""

    start: datetime | None
    stop: Stop | None
    promised_by: datetime | None


def _stored(status: str, started_at: datetime, due_at: datetime, met_at: datetime | None, case: int | None) -> Stored:
    return Stored(status, started_at, due_at, met_at, case)


def _has_case_effects(target: Target, stored: Stored, stop: Stop | None) -> bool:
    """Whether writing `target` also touches a breach case (see _case_effects)."""
    if stored.case_id is not None and (target.move or (target.resolve and stop is not None)):
        return True
    return target.open_resolved and stop is not None


def _is_late_stop(target: Target, stop: Stop | None) -> bool:
    """Met late with no breach on record: the breach is recorded already over. The common case
    effect (a late stop before any sweep), written in bulk by `_late_stops_record`."""
    return target.open_resolved and stop is not None


def _late_stops_record(late: list[tuple[int, SlaPolicy, int, str, Target, Stop]]) -> None:
    """The breach cases of expectations whose compare-and-set to met_late won, and their link
    from the expectation: three inserts and one UPDATE for the whole batch."""
    if not late:
        return
    case_ids = sla_breaches_record_over(
        [
            (
                Breach(policy.name, order_id, key, policy.severity, policy.queue, target.due_at),
                (stop.event_id, stop.occurred_at, stop.type),
            )
            for _, policy, order_id, key, target, stop in late
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_expectation AS x SET breach_case_id = v.case_id "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, case_id) WHERE x.id = v.id",
            [[item[0] for item in late], case_ids],
        )


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


def target_of(policy: SlaPolicy, stored: Stored, facts: Facts) -> Target | None:
    """What the row should become under this policy, given the order's facts (None: as it is)."""
    return expectation_target(
        stored,
        start=facts.start,
        stop=facts.stop,
        promised_by=facts.promised_by,
        follows_promise=follows_promise(policy),
    )


def expectation_reconcile(
    policy: SlaPolicy, exp_id: int, order_id: int, order_key: str, facts: Facts, stored: Stored
) -> Target | None:
    """Compare-and-set the row from `stored` to its target, with the breach case's side effect
    in the same transaction. When another writer changed the row first (the sweep claimed it),
    re-read and decide again. Returns the target written, or None when nothing changed."""
    for _ in range(CAS_ATTEMPTS):
        target = target_of(policy, stored, facts)
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
