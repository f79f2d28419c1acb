"""With the real services: a Celery worker process over Redis, PostgreSQL COPY, concurrent workers."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest
from django.db import connection, connections

from apps.events.models import CanonicalEvent
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_process, message_receive
from controltower.celery import app as celery_app
from tests.factories import FeedFactory, event

REPO = Path(__file__).parents[2]
needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
)
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")


def _use_broker(url: str) -> None:
    """Point this process's Celery at another broker, dropping pooled connections to the old one."""
    celery_app.conf.broker_url = url
    # As Celery does after a fork: forget the pools (closing them would close kombu's shared ones).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def real_broker():
    """Celery in this process publishes to Redis, as in production, on the run's own queue
    (CELERY_QUEUE: scripts/test and .ci/run make it unique per run)."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    _use_broker(os.environ["REDIS_URL"])
    yield celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = saved[0]
    _use_broker(saved[1])


@pytest.fixture
def worker(real_broker):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": real_broker,
        "DJANGO_SETTINGS_MODULE": "controltower.settings.base",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "controltower",
            "worker",
            "--pool",
            "solo",
            # No -Q: as deployed, the worker consumes the regular queue (CELERY_QUEUE) and the
            # early lane's (small messages go there first).
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.e2e
@needs_postgres
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_events_posted_over_http(live_server, worker):
    feed = FeedFactory()
    body = {"events": [event(1), event(2), event(2), event(3, type="order.teleported")]}
    response = httpx.post(
        f"{live_server.url}/api/v1/ingest/{feed.slug}/",
        content=orjson.dumps(body),
        headers={"Authorization": f"Bearer {feed.credentials.token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202
    message_id = response.json()["message_id"]
    deadline = time.monotonic() + 60
    message = RawMessage.objects.get(id=message_id)
    while message.status not in (MessageStatus.PROCESSED, MessageStatus.REJECTED) and time.monotonic() < deadline:
        time.sleep(0.2)
        message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED, worker.stdout.read1().decode() if worker.poll() else ""
    assert (message.accepted, message.duplicates, len(message.rejections)) == (2, 1, 1)
    assert CanonicalEvent.objects.filter(feed=feed).count() == 2


@pytest.mark.django_db
def test_with_the_broker_down_the_message_is_kept_and_the_sweep_recovers_it(
    feed, post_events, django_capture_on_commit_callbacks
):
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    _use_broker("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        started = time.monotonic()
        response = post_events(feed, {"events": [event(1)]})
        took = time.monotonic() - started
    finally:
        celery_app.conf.task_always_eager = saved[0]
        _use_broker(saved[1])
    assert response.status_code == 202
    assert took < 10
    message = RawMessage.objects.get(id=response.json()["message_id"])
    assert message.status == MessageStatus.RECEIVED
    # The beat sweep, with the broker back (eager here), picks it up.
    from datetime import timedelta

    from apps.ingestion.services import messages_requeue_stalled

    assert messages_requeue_stalled(at=message.received_at + timedelta(minutes=1)) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_overlapping_messages_store_each_event_once(monkeypatch, settings):
    # The tasks wait in the "broker" until both workers start, and each takes one message.
    from apps.ingestion import services as ingestion

    monkeypatch.setattr(ingestion, "_enqueue", lambda message_id, **_: None)
    settings.INGEST_BATCH_MESSAGES = 1
    feed = FeedFactory()
    batches = [[event(i) for i in range(0, 300)], [event(i) for i in range(150, 450)]]
    messages = [
        message_receive(feed=feed, body=orjson.dumps({"events": b}), content_type="application/json") for b in batches
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    outcomes: list[str | None] = []

    def work(message_id):
        try:
            barrier.wait()
            outcomes.append(message_process(message_id=message_id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(m.id,)) for m in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert outcomes == ["processed", "processed"]
    assert CanonicalEvent.objects.filter(feed=feed).count() == 450
    counted = [RawMessage.objects.get(id=m.id) for m in messages]
    assert sum(m.accepted for m in counted) == 450
    assert sum(m.duplicates for m in counted) == 150
