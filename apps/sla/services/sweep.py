"""The time-based half of the SLA engine (healthchecks `sendalerts`), set-based.

Each round, in one transaction: lock up to `SWEEP_BATCH` pending expectations due by `at`
through the partial index on `due_at` (`FOR UPDATE SKIP LOCKED`: overlapping sweeps share the
work instead of waiting on each other, and each row is claimed by one of them only); close
those whose stop milestone is already on the order's timeline (one query per policy); breach
the rest. On PostgreSQL one statement marks them breached and opens their `sla_breach` cases
with their history entries (`services_bulk.sla_breaches_claim_open`); elsewhere the cases are
bulk-created and linked row by row. The partial unique constraint on unresolved fingerprints
backs the row locks: a (policy, order) never has two open breaches."""

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, connections, transaction

from apps.common.time import now

from ..choices import ExpectationStatus
from ..deadlines import Stop, Stored
from ..models import Expectation, SlaPolicy
from ..services_bulk import Breach, sla_breaches_claim_open, sla_breaches_open
from .evaluation import first_stops
from .transitions import Facts, expectation_reconcile

SWEEP_BATCH = 5000
# Threads of the beat task's sweep (and the benchmark's): two keep both cores of a small server
# busy during a burst of breaches; in a quiet minute the first round finds nothing and both end.
SWEEP_WORKERS = 2
# Live messages per round: pages re-fetch their fragments on any of them, so a burst of
# thousands of breaches needs a few messages per commit, not one each (docs/sla.md).
LIVE_ANNOUNCE_PER_ROUND = 25


@dataclass
class SweepResult:
    opened: list[tuple[str, str, int]] = field(default_factory=list)  # (policy, order, case id)
    closed: list[tuple[str, str, str]] = field(default_factory=list)  # (policy, order, new status)
    claimed: int = 0  # due rows this sweep took (breached + closed)


def sla_sweep(at: datetime | None = None, *, batch: int = SWEEP_BATCH, workers: int = 1) -> SweepResult:
    """Breach every pending expectation due at or before `at` (default: now).

    `workers` > 1 runs rounds in that many threads, each on its own connection: the rounds'
    SKIP LOCKED claim already lets sweeps share the rows, and most of a round is the database's
    work, which then uses more than one core. Only on PostgreSQL, and only outside a transaction
    (the threads could not see its rows)."""
    at = at or now()
    if workers <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        result = SweepResult()
        while _round(at, batch, result):
            pass
        return result
    return _threaded(at, batch, workers)


def _threaded(at: datetime, batch: int, workers: int) -> SweepResult:
    results = [SweepResult() for _ in range(workers)]
    errors: list[BaseException] = []

    def work(result: SweepResult) -> None:
        try:
            while _round(at, batch, result):
                pass
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=work, args=(r,), name=f"sla-sweep-{n}") for n, r in enumerate(results)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    merged = SweepResult()
    for r in results:
        merged.opened.extend(r.opened)
        merged.closed.extend(r.closed)
        merged.claimed += r.claimed
    return merged


_Due = tuple[int, int, int, str]  # expectation id, policy id, order id, order key


def _round(at: datetime, batch: int, result: SweepResult) -> bool:
    """One batch in one transaction; False when nothing was left to claim."""
    with transaction.atomic():
        # Locked until commit: a concurrent sweep skips these rows and takes the next ones.
        due: list[_Due] = list(
            Expectation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=ExpectationStatus.PENDING, due_at__lte=at, policy__active=True)
            .order_by("due_at")
            .values_list("id", "policy_id", "order_id", "order__value")[:batch]
        )
        if not due:
            return False
        result.claimed += len(due)
        by_policy: dict[int, list[_Due]] = defaultdict(list)
        for row in due:
            by_policy[row[1]].append(row)
        policies = {p.id: p for p in SlaPolicy.objects.filter(id__any=list(by_policy))}
        to_breach: list[_Due] = []
        for policy_id, rows in by_policy.items():
            policy = policies[policy_id]
            # A stop already on the timeline (in time or not) closes the expectation instead.
            stops = first_stops(policy, [r[2] for r in rows])
            for row in rows:
                if row[2] in stops:
                    _close(policy, row, stops[row[2]], result)
                else:
                    to_breach.append(row)
        if connection.vendor == "postgresql":
            _breach_in_database(to_breach, policies, result)
        else:
            _breach(to_breach, policies, result)
    return True


def _close(policy: SlaPolicy, row: _Due, stop: Stop, result: SweepResult) -> None:
    exp_id, _, order_id, key = row
    started_at, due_at = Expectation.objects.filter(id=exp_id).values_list("started_at", "due_at").get()
    stored = Stored(ExpectationStatus.PENDING, started_at, due_at, None, None)
    target = expectation_reconcile(policy, exp_id, order_id, key, Facts(None, stop, None), stored)
    if target is not None:
        result.closed.append((policy.name, key, target.status))


def _breach_in_database(rows: list[_Due], policies: dict[int, SlaPolicy], result: SweepResult) -> None:
    claimed = sla_breaches_claim_open(
        [(exp_id, policies[p].name, key) for exp_id, p, _, key in rows], announce=LIVE_ANNOUNCE_PER_ROUND
    )
    result.opened.extend((c.policy_name, c.order_key, c.case_id) for c in claimed)
    taken = {c.expectation_id for c in claimed}
    left = [r for r in rows if r[0] not in taken]
    if left:
        # An unresolved case of the same (policy, order) is already open: link it, one by one.
        _breach(left, policies, result)


def _breach(rows: list[_Due], policies: dict[int, SlaPolicy], result: SweepResult) -> None:
    """The portable path: the rows are this transaction's (locked, or SQLite's single writer)."""
    if not rows:
        return
    due_at = dict(Expectation.objects.filter(id__any=[r[0] for r in rows]).values_list("id", "due_at"))
    breaches = [
        Breach(policies[p].name, order_id, key, policies[p].severity, policies[p].queue, due_at[exp_id])
        for exp_id, p, order_id, key in rows
        if policies[p].active
    ]
    rows = [r for r in rows if policies[r[1]].active]
    cases = sla_breaches_open(breaches, announce=LIVE_ANNOUNCE_PER_ROUND)
    at = now()
    for (exp_id, _, _, _), case_id in zip(rows, cases, strict=True):
        Expectation.objects.filter(id=exp_id).update(
            status=ExpectationStatus.BREACHED, breach_case_id=case_id, updated_at=at
        )
    result.opened.extend((b.policy_name, b.order_key, case_id) for b, case_id in zip(breaches, cases, strict=True))
