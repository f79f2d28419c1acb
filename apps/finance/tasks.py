from celery import shared_task

from .services.reconciliation import reconciliation_sweep
from .services.snapshots import snapshot_run_process


@shared_task(name="finance.sweep_reconciliation")
def sweep_reconciliation() -> int:
    """Beat, every minute: orders whose pending finding's grace period has run out."""
    return reconciliation_sweep().evaluated


@shared_task(name="finance.process_snapshot_run")
def process_snapshot_run(run_id: int) -> str:
    """An uploaded ERP snapshot (http-api.md "ERP snapshot runs"), compared in the background."""
    return snapshot_run_process(run_id).status
