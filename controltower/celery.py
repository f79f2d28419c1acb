"""The Celery app: `celery -A controltower worker` / `celery -A controltower beat`."""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")

app = Celery("controltower")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
