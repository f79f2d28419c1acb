"""The SLA engine's writes: expectations from timelines (`evaluation`), the breach sweep
(`sweep`) and the policies themselves (`policies`). docs/sla.md describes the rules."""

from .evaluation import policy_evaluate, slas_from_orders
from .policies import APPLIES_TO_KEYS, sla_policy_create, sla_policy_set_active, sla_policy_update
from .sweep import SWEEP_BATCH, SWEEP_WORKERS, SweepResult, sla_sweep

__all__ = [
    "APPLIES_TO_KEYS",
    "SWEEP_BATCH",
    "SWEEP_WORKERS",
    "SweepResult",
    "policy_evaluate",
    "sla_policy_create",
    "sla_policy_set_active",
    "sla_policy_update",
    "sla_sweep",
    "slas_from_orders",
]
