"""Expectations from order timelines (event-driven half of the SLA engine).

`slas_from_orders` is ingestion's stage after correlation and exceptions (AFTER_STORE), inside
the message's transaction (correlation's lock serialises it with other ingestion workers). It
re-reads the whole timeline of every order the stored events touched — earliest start, first
stop, current promise — and brings each expectation to what `deadlines.expectation_target`
says, so arrival order and late binding all converge to the same result.

Every write is a compare-and-set on the row as read (status, started_at, due_at, met_at):
the sweep may claim the same row at the same moment. The loser re-reads and decides again."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.selectors import held_among

from ..choices import CLOSED_STAGES, Deadline, ExpectationStatus
from ..deadlines import Stop, Stored, Target
from ..models import Expectation, SlaPolicy
from .transitions import (
    _ROW_FIELDS,
    Facts,
    _apply_plain,
    _has_case_effects,
    _is_late_stop,
    _late_stops_record,
    _stored,
    expectation_reconcile,
    target_of,
)


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


def first_stops(policy: SlaPolicy, order_ids: list[int]) -> dict[int, Stop]:
    """The earliest stop milestone on each order's timeline."""
    stops: dict[int, Stop] = {}
    if not policy.stop or not order_ids:
        return stops
    rows = (
        TimelineEntry.objects.filter(order_id__any=order_ids, event_type__any=list(policy.stop))
        .order_by("order_id", "occurred_at", "event_id")
        .values_list("order_id", "event_id", "occurred_at", "event_type")
    )
    listed, held = _trusted(rows)
    for order_id, event_id, occurred_at, type_ in listed:
        if event_id not in held:
            stops.setdefault(order_id, Stop(event_id, occurred_at, type_))
    return stops


def policy_evaluate(policy: SlaPolicy, order_ids: Iterable[int]) -> list[tuple[str, str, str]]:
    """One policy over these orders (a policy created or changed): see policies_evaluate."""
    return policies_evaluate([policy], order_ids)


def _trusted(rows: Iterable[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], set[int]]:
    """The (order, event, …) rows, and the ids of their future-dated events not yet trusted:
    those start and stop nothing until the release sweep (apps/pipeline/stages.py) runs them."""
    listed = list(rows)
    return listed, held_among(row[1] for row in listed)


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
        TimelineEntry.objects.filter(order_id__any=order_ids, event_type__any=types)
        .order_by("order_id", "occurred_at", "event_id")
        .values_list("order_id", "event_id", "occurred_at", "event_type")
    )
    starting: dict[str, list[int]] = {}
    stopping: dict[str, list[int]] = {}
    for policy in policies:
        starting.setdefault(policy.start, []).append(policy.id)
        for stop_type in policy.stop or []:
            stopping.setdefault(stop_type, []).append(policy.id)
    listed, held = _trusted(rows)
    for order_id, event_id, occurred_at, type_ in listed:  # oldest first: setdefault keeps the earliest
        if event_id in held:
            continue
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
        target = target_of(policy, stored, facts)
        if target is None:
            continue
        if connection.vendor == "postgresql" and (
            not _has_case_effects(target, stored, facts.stop) or _is_late_stop(target, facts.stop)
        ):
            plain.append((exp_id, order_id, stored, target, policy_id))
            continue
        key = applicable[policy_id][order_id].key
        written = expectation_reconcile(policy, exp_id, order_id, key, facts, stored)
        if written is not None and written.status in (ExpectationStatus.MET, ExpectationStatus.MET_LATE):
            closed.append((policy.name, key, written.status))
    won = _apply_plain([p[:4] for p in plain])
    late = [
        (exp_id, by_id[policy_id], order_id, applicable[policy_id][order_id].key, target, stops[(policy_id, order_id)])
        for exp_id, order_id, _, target, policy_id in plain
        if exp_id in won and _is_late_stop(target, stops.get((policy_id, order_id)))
    ]
    _late_stops_record(late)
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
