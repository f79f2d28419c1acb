"""Claims that heal themselves (apps/pipeline/claims.py).

A claim commits `processing` and counts the attempt; the processing transaction's first
statement (`hold`) row-locks the claimed messages until it ends. The heal sweep
(`messages_heal`) skips locked rows, so what it finds in `processing` past the grace belongs to
a dead worker: freed, or a dead letter once INGEST_MAX_ATTEMPTS attempts are spent. Here: a real
worker SIGKILLed mid-batch is taken over by another, nothing lost or doubled; a live worker's
message is left alone; a message that keeps killing its worker ends as a dead letter; and a
slow worker whose claim was healed and taken over leaves the message alone, even when its batch
then fails."""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import psycopg
import pytest
from django.db import connection, connections, transaction

from apps.common.time import now
from apps.correlation.models import TimelineEntry
from apps.events.models import CanonicalEvent
from apps.exceptions.choices import CaseStatus
from apps.exceptions.models import ExceptionActivity, ExceptionCase
from apps.feeds.models import Feed
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline import claims, runner, stages
from apps.pipeline.runner import batch_run, message_process
from apps.pipeline.stages import ON_DEAD_LETTER, STAGES
from tests.factories import FeedFactory, event
from tests.workers import needs_postgres, needs_redis, start_worker, stop_worker, worker_output


def receive(feed: Feed, events: list[dict[str, Any]]) -> RawMessage:
    """Stored, not enqueued: the test decides who processes it."""
    body = orjson.dumps({"events": events})
    return message_receive(feed=feed, body=body, content_type="application/json", enqueue=False)


def heal() -> claims.HealResult:
    return claims.messages_heal(on_dead_letter=ON_DEAD_LETTER)


def other_connection() -> psycopg.Connection[Any]:
    """A connection of its own to the test database, autocommit off: another worker's session."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        connect_timeout=5,
    )


def wait_for[T](condition: Callable[[], T], *, timeout: float, what: str, every: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --- a real worker killed mid-batch ----------------------------------------------------------


def k_event(n: int, order: str = "SO-K") -> dict[str, Any]:
    return event(f"k{n}", refs={"order": order, "warehouse_task": f"WT-K{n}"})


# Five messages, all naming SO-K; some events twice (a partner resending), one on another order.
BATCH = [
    [k_event(1), k_event(2)],
    [k_event(2), k_event(3)],
    [k_event(4, order="SO-L"), k_event(5)],
    [k_event(1), k_event(6)],
    [k_event(7)],
]
NODE_LOCK = "SELECT id FROM correlation_node WHERE kind = 'order' AND value = 'SO-K' FOR NO KEY UPDATE"
KILL_BOUND = 60  # seconds from the kill to the whole batch processed by another worker


def backend_waiting_on_a_lock() -> int | None:
    """The pid of a backend of the test database waiting for a lock on correlation_node."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE %s AND pid <> pg_backend_pid()",
            ["%correlation_node%"],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def backend_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is None


@pytest.mark.e2e
@needs_postgres
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_is_taken_over_and_nothing_is_lost_or_doubled(real_broker, settings):
    settings.INGEST_CLAIM_GRACE = timedelta(seconds=2)  # the sweep below runs in this process
    feed = FeedFactory()
    prelude = receive(feed, [event("k-created", type="order.created", refs={"order": "SO-K"})])
    assert message_process(message_id=prelude.id) == MessageStatus.PROCESSED  # node (order, SO-K) exists

    workers: dict[str, subprocess.Popen[bytes]] = {}
    locker = other_connection()
    try:
        # Another transaction holds SO-K: worker A's batch will wait for it inside `correlate`,
        # its messages claimed and held. That is where the kill lands.
        with locker.cursor() as cursor:
            cursor.execute(NODE_LOCK)
            assert cursor.fetchone(), "the prelude made the order's node"
        messages = [receive(feed, events) for events in BATCH]
        ids = {m.id for m in messages}
        workers["A"] = a = start_worker(real_broker)
        for message in messages:
            queue.enqueue(message.id)

        def diagnostics() -> str:
            rows = RawMessage.objects.filter(id__in=ids).values_list("id", "status", "attempts", "error")
            logs = [f"--- worker {name} (exit {w.poll()}):\n{worker_output(w, 4000)}" for name, w in workers.items()]
            return "\n".join([*map(str, rows), *logs])

        try:
            blocked = wait_for(backend_waiting_on_a_lock, timeout=30, what="worker A to wait on the node lock")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{diagnostics()}") from None
        # One claim took the whole batch (claim_waiting), and every message is held by A.
        claimed = RawMessage.objects.filter(id__in=ids, status=MessageStatus.PROCESSING, attempts=1)
        assert set(claimed.values_list("id", flat=True)) == ids, diagnostics()

        os.kill(a.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        a.wait(timeout=10)
        # A's backend, blocked on the lock, sees its client gone only once it is granted.
        locker.commit()
        wait_for(lambda: backend_gone(blocked), timeout=10, what="worker A's backend to end")

        workers["B"] = start_worker(real_broker)
        waiting = RawMessage.objects.filter(id__in=ids).exclude(status=MessageStatus.PROCESSED)
        freed = 0
        while waiting.exists() and time.monotonic() - killed_at < KILL_BOUND:
            freed += heal().freed  # as beat would, every second
            time.sleep(1)
        took = time.monotonic() - killed_at
        assert not waiting.exists(), f"not processed {KILL_BOUND} s after the kill:\n{diagnostics()}"
        print(f"worker A killed mid-batch; worker B had the batch done {took:.1f} s later ({freed} freed)")

        final = list(RawMessage.objects.filter(id__in=ids))
        assert all(m.attempts == 2 for m in final), diagnostics()  # the crash counted, once
        assert freed == len(ids), diagnostics()
    finally:
        locker.close()
        for worker in workers.values():
            stop_worker(worker)

    sent = [e["event_id"] for events in BATCH for e in events]
    distinct = set(sent)
    assert CanonicalEvent.objects.filter(feed=feed).exclude(event_key="e-k-created").count() == len(distinct)
    assert sum(m.accepted for m in final) == len(distinct)
    assert sum(m.duplicates for m in final) == len(sent) - len(distinct)
    on_so_k = {e["event_id"] for events in BATCH for e in events if e["refs"]["order"] == "SO-K"}
    timeline = list(
        TimelineEntry.objects.filter(order__kind="order", order__value="SO-K").values_list(
            "event__event_key", flat=True
        )
    )
    assert sorted(timeline) == sorted({"e-k-created", *on_so_k})
    assert not RawMessage.objects.filter(status=MessageStatus.FAILED).exists()


# --- the sweep and a live worker ---------------------------------------------------------------


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_heal_sweep_leaves_a_live_workers_message_alone(settings, monkeypatch):
    settings.INGEST_CLAIM_GRACE = timedelta(0)
    enqueued: list[str] = []
    monkeypatch.setattr(queue, "enqueue", lambda message_id, **_: enqueued.append(str(message_id)))
    message = receive(FeedFactory(), [event(1)])
    assert claims.claim(message.id, replay=False)

    held, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def live_worker() -> None:
        """A worker's processing transaction, stuck after its first statement."""
        try:
            with transaction.atomic():
                stale = RawMessage.objects.get(id=message.id)
                assert claims.hold([stale]) == {message.id}
                held.set()
                assert done.wait(timeout=30)
        except BaseException as exc:
            errors.append(exc)
            held.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=live_worker)
    thread.start()
    try:
        assert held.wait(timeout=10)
        assert not errors
        assert heal() == claims.HealResult(freed=0, dead_letters=0, enqueued=0)
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.PROCESSING, 1)
    finally:
        done.set()  # its transaction ends (nothing written: as if it had died)
        thread.join(timeout=10)
    assert not errors

    assert heal().freed == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.RECEIVED, 1)
    assert message.error.startswith("WorkerLost")
    assert enqueued == [str(message.id)]


# --- a message that kills its worker -----------------------------------------------------------


def crashed(message: RawMessage, attempts: int) -> None:
    """As a worker that died while processing it leaves it (no lock held, claimed long ago)."""
    RawMessage.objects.filter(id=message.id).update(
        status=MessageStatus.PROCESSING, attempts=attempts, processing_started_at=now() - timedelta(days=1)
    )


@pytest.mark.django_db
def test_a_message_that_kills_its_worker_every_attempt_becomes_a_dead_letter(feed, settings):
    message = receive(feed, [event(1)])
    crashed(message, settings.INGEST_MAX_ATTEMPTS)
    assert heal() == claims.HealResult(freed=0, dead_letters=1, enqueued=0)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error.startswith("WorkerLost")
    assert f"attempt {settings.INGEST_MAX_ATTEMPTS} of {settings.INGEST_MAX_ATTEMPTS}" in message.error
    [case] = ExceptionCase.objects.filter(kind="ingestion")
    assert (case.code, case.subject, case.status) == ("WorkerLost", f"feed:{feed.slug}", CaseStatus.OPEN)
    [opened] = ExceptionActivity.objects.filter(case=case, action="opened")
    assert opened.detail["message"] == str(message.id)
    assert heal() == claims.HealResult(freed=0, dead_letters=0, enqueued=0)  # once is enough


@pytest.mark.django_db
def test_before_the_last_attempt_a_dead_workers_message_is_freed_and_processed(feed, settings):
    message = receive(feed, [event(1)])
    crashed(message, settings.INGEST_MAX_ATTEMPTS - 1)
    assert heal() == claims.HealResult(freed=1, dead_letters=0, enqueued=0)  # enqueued: eager here
    message.refresh_from_db()
    assert (message.status, message.attempts, message.accepted) == (
        MessageStatus.PROCESSED,
        settings.INGEST_MAX_ATTEMPTS,
        1,
    )
    assert not ExceptionCase.objects.filter(kind="ingestion").exists()


# --- a slow worker ------------------------------------------------------------------------------


@needs_postgres
@pytest.mark.django_db
def test_a_slow_worker_whose_claim_was_taken_over_leaves_the_message_alone(feed, settings, monkeypatch):
    settings.INGEST_CLAIM_GRACE = timedelta(0)
    monkeypatch.setattr(queue, "enqueue", lambda message_id, **_: None)  # the test is both workers
    message = receive(feed, [event(1)])
    assert claims.claim(message.id, replay=False)
    slow = RawMessage.objects.select_related("feed").get(id=message.id)  # attempt 1, not held yet
    assert heal().freed == 1  # too slow: the sweep took it for a dead worker's
    assert claims.claim(message.id, replay=False)  # another worker: attempt 2
    taker = RawMessage.objects.select_related("feed").get(id=message.id)
    assert (slow.attempts, taker.attempts) == (1, 2)

    assert claims.hold([slow]) == set()
    assert batch_run([slow], STAGES) == {}  # the slow worker's batch leaves it alone
    assert not CanonicalEvent.objects.filter(feed=feed).exists()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PROCESSING, 2)

    assert batch_run([taker], STAGES) == {message.id: MessageStatus.PROCESSED}
    assert batch_run([slow], STAGES) == {}
    message.refresh_from_db()
    assert (message.status, message.attempts, message.accepted, message.duplicates) == (
        MessageStatus.PROCESSED,
        2,
        1,
        0,
    )
    assert CanonicalEvent.objects.filter(feed=feed).count() == 1


@needs_postgres
@pytest.mark.django_db
def test_a_slow_worker_whose_batch_fails_leaves_the_new_claims_alone(feed, settings, monkeypatch):
    settings.INGEST_CLAIM_GRACE = timedelta(0)
    settings.INGEST_MAX_ATTEMPTS = 2  # the taker's claims are the last attempts: releasing one dead-letters it
    monkeypatch.setattr(queue, "enqueue", lambda message_id, **_: None)
    primary, companion = receive(feed, [event(1)]), receive(feed, [event(2)])
    real_batch_run = runner.batch_run

    def slow_batch_run(messages: list[RawMessage], *args: Any, **kwargs: Any) -> Any:
        """Worker 1 has claimed and read its batch, then is slower than the grace: the sweep
        heals both claims and another worker re-claims them (attempt 2), not holding them yet."""
        assert [m.id for m in messages] == [primary.id, companion.id]
        assert [m.attempts for m in messages] == [1, 1]
        assert heal().freed == 2
        assert all(claims.claim(m.id, replay=False) for m in messages)
        return real_batch_run(messages, *args, **kwargs)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("worker 1's batch failed")

    real_store = stages.events_store_batch
    monkeypatch.setattr(runner, "batch_run", slow_batch_run)
    monkeypatch.setattr(stages, "events_store_batch", broken)
    with pytest.raises(RuntimeError):
        message_process(message_id=primary.id)

    # Worker 1's failure released nothing: both are still the taker's, not dead letters.
    for message in RawMessage.objects.filter(id__in=[primary.id, companion.id]):
        assert (message.status, message.attempts) == (MessageStatus.PROCESSING, 2)
        assert message.error.startswith("WorkerLost"), message.error  # the sweep's, not worker 1's
    assert not ExceptionCase.objects.filter(kind="ingestion").exists()

    monkeypatch.setattr(stages, "events_store_batch", real_store)  # fixed: worker 2 goes on
    taker = list(RawMessage.objects.select_related("feed").filter(id__in=[primary.id, companion.id]))
    assert batch_run(taker, STAGES) == {primary.id: MessageStatus.PROCESSED, companion.id: MessageStatus.PROCESSED}
    assert CanonicalEvent.objects.filter(feed=feed).count() == 2
