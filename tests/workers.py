"""Real Celery worker processes for the tests that need them (PostgreSQL + Redis).

`real_broker` makes this process publish to Redis on the run's own queue; `start_worker`
starts `celery worker` as a subprocess on the test database, as deployed."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from controltower.celery import app as celery_app

REPO = Path(__file__).parents[1]
needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")


def use_broker(url: str) -> None:
    """Point this process's Celery at another broker, dropping pooled connections to the old one."""
    celery_app.conf.broker_url = url
    # As Celery does after a fork: forget the pools (closing them would close kombu's shared ones).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def real_broker() -> Iterator[str]:
    """Celery in this process publishes to Redis, as in production, on the run's own queue
    (CELERY_QUEUE: scripts/test and .ci/run make it unique per run). Yields the queue."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    use_broker(os.environ["REDIS_URL"])
    yield celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = saved[0]
    use_broker(saved[1])


def start_worker(queue: str, *, pool: str = "solo", **env: str) -> subprocess.Popen[bytes]:
    """`celery worker` on the test database and `queue` (no -Q: as deployed, it consumes the
    regular queue and the early lane's). `env` adds settings from the environment."""
    db = connection.settings_dict
    environ = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "controltower.settings.base",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    argv = [sys.executable, "-m", "celery", "-A", "controltower", "worker", "--pool", pool]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
    # Output to a file, not a pipe: a pipe nobody reads fills up (64 KiB) and the worker blocks
    # in its next log write. `worker_output(proc)` reads it.
    log = tempfile.NamedTemporaryFile(prefix="ct-worker-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(argv, cwd=REPO, env=environ, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name  # type: ignore[attr-defined]
    return proc


def worker_output(proc: subprocess.Popen[bytes], tail: int = 20_000) -> str:
    """The last `tail` characters the worker printed."""
    with open(proc.log_path, errors="replace") as log:  # type: ignore[attr-defined]
        return log.read()[-tail:]


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def without_event_ids(value: Any) -> Any:
    """A projection's ledger without its event database ids, which differ between two runs of
    the same stream (the parallel-workers and fault tests compare runs)."""
    if isinstance(value, dict):
        return {k: without_event_ids(v) for k, v in value.items() if k != "event" and not k.endswith("_event")}
    if isinstance(value, list):
        return [without_event_ids(v) for v in value]
    return value


def dead_letter_by_correlation(monkeypatch: pytest.MonkeyPatch, message_id: Any, attempts: int) -> None:
    """Process this message `attempts` times with correlation failing each time (a bug in a
    stage after the store), so that it ends a dead letter."""
    from apps.pipeline import stages
    from apps.pipeline.runner import message_process

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("correlation is down")

    monkeypatch.setattr(stages, "events_correlate", broken)
    for _ in range(attempts):
        with pytest.raises(RuntimeError):
            message_process(message_id=message_id)
