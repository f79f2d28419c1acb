"""A worker whose database connection broke (PostgreSQL restarted, failed over, or the session
was terminated) gets a working one for its next task instead of failing every task after it
(controltower/celery.py: the fix-up keeps connections between tasks, CELERY_DB_REUSE_MAX)."""

import os
import time

import orjson
import pytest
from django.db import connection

from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from tests.factories import FeedFactory, event
from tests.workers import needs_postgres, needs_redis, start_worker, stop_worker, worker_output

pytestmark = [pytest.mark.e2e, needs_postgres, needs_redis, pytest.mark.django_db(transaction=True)]


def processed_within(message: RawMessage, seconds: float, *, requeue_every: float | None = None) -> bool:
    """Wait for the message to be processed; `requeue_every`: enqueue it again meanwhile, as the
    heal sweep does with a message still waiting."""
    deadline = time.monotonic() + seconds
    last_enqueue = time.monotonic()
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status == MessageStatus.PROCESSED:
            return True
        if requeue_every is not None and time.monotonic() - last_enqueue >= requeue_every:
            queue.enqueue(message.id)
            last_enqueue = time.monotonic()
        time.sleep(0.2)
    return False


def test_a_worker_whose_database_session_was_terminated_processes_the_next_messages(real_broker):
    feed = FeedFactory()
    name = f"ct-test-worker-{os.getpid()}"
    worker = start_worker(real_broker, PGAPPNAME=name)
    try:
        first = message_receive(
            feed=feed, body=orjson.dumps({"events": [event(1)]}), content_type="application/json", enqueue=False
        )
        queue.enqueue(first.id)
        assert processed_within(first, 60), worker_output(worker)

        # The server ends the worker's sessions (as a restart does): its pooled connections die.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [name])
            assert cursor.fetchall(), "the worker's sessions were found"

        second = message_receive(
            feed=feed, body=orjson.dumps({"events": [event(2)]}), content_type="application/json", enqueue=False
        )
        queue.enqueue(second.id)
        # The first task after the cut may fail on the dead connection; the next ones must not.
        assert processed_within(second, 30, requeue_every=2), worker_output(worker)
    finally:
        stop_worker(worker)
