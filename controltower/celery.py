"""The Celery app: `celery -A controltower worker` / `celery -A controltower beat`."""

import gc
import os

from celery import Celery
from celery.signals import task_postrun, worker_process_init
from django.conf import settings
from django.db import connections
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")

app = Celery("controltower")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# A worker started without -Q consumes the regular queue and the early lane's, so a deployment
# that runs no dedicated early worker still processes every message; one that does runs
# `celery -A controltower worker -Q <CELERY_EARLY_QUEUE>` beside the others (docs/operations.md).
app.conf.task_queues = [Queue(settings.CELERY_TASK_DEFAULT_QUEUE), Queue(settings.INGEST_EARLY_QUEUE)]

# (gen0, gen1, gen2) for worker processes; WORKER_GC_THRESHOLDS="700,10,10" restores Python's.
GC_THRESHOLDS = tuple(int(n) for n in os.environ.get("WORKER_GC_THRESHOLDS", "100000,50,1000").split(","))


@worker_process_init.connect
def _tune_gc(**_: object) -> None:
    """A worker folds batches of thousands of events: with the default thresholds the cyclic
    collector runs every 700 allocations and walks the objects of Django, the models and the
    libraries each time. Freeze what exists after start-up (never garbage) and collect the
    young generation less often: ~8-10 % of a worker's time (docs/benchmarks.md, 2026-12-02).
    Infrastructure, not domain flow: that is why it is a signal."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@task_postrun.connect
def _drop_broken_connections(**_: object) -> None:
    """CELERY_DB_REUSE_MAX keeps a task's database connection for the next task (a new pool per
    task would halve the speed), and nothing else closes it in a worker. One that broke (the
    server restarted, failed over) would then fail every later task of the process with "the
    connection is lost" (tests/faults): closed here, it goes back to the pool, which discards it,
    and the next task gets a working one. Only after a database error, so no cost otherwise."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred and not conn.is_usable():
            conn.close()
