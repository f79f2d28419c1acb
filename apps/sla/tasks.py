from celery import shared_task

from .services import SWEEP_WORKERS, sla_sweep
from .services.open_orders import open_orders_evaluate


@shared_task
def sweep_slas() -> int:
    """Beat, every minute. Overlapping runs share the work: each round claims its rows with
    SKIP LOCKED."""
    return len(sla_sweep(workers=SWEEP_WORKERS).opened)


@shared_task(name="sla.evaluate_open_orders", acks_late=True)
def evaluate_open_orders(
    policy_id: int,
    generation: float,
    revive: bool = False,
    after: int = 0,
    evaluated: int = 0,
    total: int | None = None,
) -> int:
    """Queued on commit by a policy's save (services/open_orders.py): the policy over the orders
    open now, in batches; a task does a share and queues the next. Idempotent: a retry or a
    duplicate converges on the same rows. Returns the orders evaluated so far."""
    rest = open_orders_evaluate(
        policy_id=policy_id, generation=generation, revive=revive, after=after, evaluated=evaluated, total=total
    )
    if rest is None:
        return evaluated
    evaluate_open_orders.delay(policy_id, generation, revive, rest.after, rest.evaluated, rest.total)
    return rest.evaluated
