"""Applying a policy to the orders open when it is saved (created, edited or re-activated), off
the request.

The save commits the policy and its audit record together and queues `sla.evaluate_open_orders`
on commit (`evaluation_queue`). The task walks the open orders by id, BATCH at a time, each batch
in a transaction of its own with the policy row locked (a deactivation waits for the batch, then
cancels what it started), and evaluates the batch set-based (evaluation.policy_evaluate: a fixed
handful of queries whatever its size). Evaluating is idempotent, so a task retried or run twice
converges on the same expectations; events that arrive meanwhile are evaluated by the pipeline as
usual.

A newer save of the same policy supersedes a run in progress: the run stops at its next batch and
the newer one covers every open order again. A re-activation's run (which revives the clocks the
deactivation cancelled) always finishes, unless the policy is deactivated again.

Progress is kept in the cache (`evaluation_progress`) for the policy's page and API: how many open
orders, how many evaluated so far. It is display only; losing it loses nothing."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction

from apps.common.time import now
from apps.correlation.models import OrderProjection

from ..choices import CLOSED_STAGES, ExpectationStatus
from ..models import Expectation, SlaPolicy
from .evaluation import policy_evaluate

logger = logging.getLogger(__name__)

BATCH = 1000  # open orders per transaction
BATCHES_PER_TASK = 20  # then the task queues the rest: a task's time is limited (CELERY_TASK_TIME_LIMIT)
PROGRESS_TTL = timedelta(days=1)


class EvaluationState:
    QUEUED = "queued"  # saved; the task has not started
    RUNNING = "running"
    DONE = "done"
    NOT_QUEUED = "not_queued"  # the broker was down: saving the policy again retries
    STOPPED = "stopped"  # the policy was deactivated (or deleted) meanwhile


@dataclass(frozen=True, slots=True)
class EvaluationProgress:
    state: str  # an EvaluationState value
    orders_total: int | None  # open orders when the run started (None until it has)
    orders_evaluated: int
    generation: float

    @property
    def in_progress(self) -> bool:
        return self.state in (EvaluationState.QUEUED, EvaluationState.RUNNING)

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "orders_total": self.orders_total, "orders_evaluated": self.orders_evaluated}


def _key(policy_id: int) -> str:
    return f"sla:open-orders-evaluation:{policy_id}"


def generation_of(policy: SlaPolicy) -> float:
    """Which save of the policy a run serves (its updated_at: every save sets it)."""
    return policy.updated_at.timestamp()


def evaluation_progress(*, policy_id: int) -> EvaluationProgress | None:
    raw = cache.get(_key(policy_id))
    if not isinstance(raw, dict):
        return None
    return EvaluationProgress(raw["state"], raw["orders_total"], raw["orders_evaluated"], raw["generation"])


def _progress_set(policy_id: int, generation: float, state: str, total: int | None, evaluated: int) -> None:
    """Record a run's progress, unless a newer save's run owns the record now."""
    current = evaluation_progress(policy_id=policy_id)
    if current is not None and current.generation > generation:
        return
    value = {"state": state, "orders_total": total, "orders_evaluated": evaluated, "generation": generation}
    cache.set(_key(policy_id), value, timeout=int(PROGRESS_TTL.total_seconds()))


def evaluation_queue(policy: SlaPolicy, *, revive: bool) -> None:
    """Inside the save's transaction: queue the policy's run over the open orders once it commits
    (nothing is queued if it rolls back)."""
    policy_id, generation = policy.id, generation_of(policy)

    def enqueue() -> None:
        from ..tasks import evaluate_open_orders

        _progress_set(policy_id, generation, EvaluationState.QUEUED, None, 0)
        try:
            evaluate_open_orders.delay(policy_id, generation, revive)
        except Exception:  # the broker is down: the policy is saved; say so on its page
            logger.exception("SLA policy %s: evaluating the open orders could not be queued", policy_id)
            _progress_set(policy_id, generation, EvaluationState.NOT_QUEUED, None, 0)

    transaction.on_commit(enqueue)


def _open_orders() -> Any:
    return OrderProjection.objects.exclude(stage__in=CLOSED_STAGES)


@dataclass(frozen=True, slots=True)
class Continuation:
    """Where a run stopped to let the next task go on (a task's time is limited)."""

    after: int  # the last order id evaluated
    evaluated: int
    total: int


def open_orders_evaluate(
    *,
    policy_id: int,
    generation: float,
    revive: bool,
    after: int = 0,
    evaluated: int = 0,
    total: int | None = None,
    batch: int | None = None,
    batches: int | None = None,
) -> Continuation | None:
    """One task's share of a run: evaluate the policy over the open orders with ids above
    `after`, `batch` at a time, for at most `batches` batches. Returns where to go on, or None
    when the run is over (done, stopped or superseded)."""
    batch, batches = batch or BATCH, batches or BATCHES_PER_TASK
    if total is None:
        total = _open_orders().count()  # once per run, for the progress
    _progress_set(policy_id, generation, EvaluationState.RUNNING, total, evaluated)
    for _ in range(batches):
        with transaction.atomic():
            policy = SlaPolicy.objects.select_for_update().filter(id=policy_id).first()
            if policy is None or not policy.active:
                _progress_set(policy_id, generation, EvaluationState.STOPPED, total, evaluated)
                return None
            if not revive and generation_of(policy) > generation:
                return None  # superseded: the newer save's run covers every open order
            following = _open_orders().filter(order_id__gt=after).order_by("order_id")
            ids = list(following.values_list("order_id", flat=True)[:batch])
            if not ids:
                break
            if revive:
                _revive(policy, ids)
            policy_evaluate(policy, ids)
        after, evaluated = ids[-1], evaluated + len(ids)
        total = max(total, evaluated)  # orders opened during the run
        _progress_set(policy_id, generation, EvaluationState.RUNNING, total, evaluated)
        if len(ids) < batch:
            break
    else:
        return Continuation(after, evaluated, total)
    _progress_set(policy_id, generation, EvaluationState.DONE, evaluated, evaluated)
    return None


def _revive(policy: SlaPolicy, order_ids: list[int]) -> int:
    """The clocks a deactivation cancelled run again on the orders still open; the evaluation
    that follows closes those whose stop arrived meanwhile, and the sweep breaches the overdue."""
    return Expectation.objects.filter(
        policy=policy, status=ExpectationStatus.CANCELLED, order_id__any=order_ids
    ).update(status=ExpectationStatus.PENDING, updated_at=now())
