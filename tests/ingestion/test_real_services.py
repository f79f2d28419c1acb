"""With the real services: a Celery worker process over Redis, PostgreSQL COPY, concurrent workers."""

import threading
import time

import httpx
import orjson
import pytest
from django.db import connections

from apps.events.models import CanonicalEvent
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from controltower.celery import app as celery_app
from tests.factories import FeedFactory, event
from tests.workers import needs_postgres, needs_redis, start_worker, stop_worker, use_broker, worker_output


@pytest.fixture
def worker(real_broker):
    proc = start_worker(real_broker)
    yield proc
    stop_worker(proc)


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
    assert message.status == MessageStatus.PROCESSED, worker_output(worker)
    assert (message.accepted, message.duplicates, len(message.rejections)) == (2, 1, 1)
    assert CanonicalEvent.objects.filter(feed=feed).count() == 2


@pytest.mark.django_db
def test_with_the_broker_down_the_message_is_kept_and_the_sweep_recovers_it(
    feed, post_events, django_capture_on_commit_callbacks
):
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    use_broker("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        started = time.monotonic()
        response = post_events(feed, {"events": [event(1)]})
        took = time.monotonic() - started
    finally:
        celery_app.conf.task_always_eager = saved[0]
        use_broker(saved[1])
    assert response.status_code == 202
    assert took < 10
    message = RawMessage.objects.get(id=response.json()["message_id"])
    assert message.status == MessageStatus.RECEIVED
    # The beat sweep, with the broker back (eager here), picks it up.
    from datetime import timedelta

    from apps.pipeline.claims import messages_heal
    from apps.pipeline.stages import ON_DEAD_LETTER

    assert messages_heal(on_dead_letter=ON_DEAD_LETTER, at=message.received_at + timedelta(minutes=1)).enqueued == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_overlapping_messages_store_each_event_once(monkeypatch, settings):
    # The tasks wait in the "broker" until both workers start, and each takes one message.
    from apps.ingestion import queue

    monkeypatch.setattr(queue, "enqueue", lambda message_id, **_: None)
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
