"""Two workers correlating two halves of one order at the same moment (PostgreSQL only).

Message A (TMS) binds tracking number 1Z to shipment SH for order SO; message B (last mile)
carries the run and the scans by 1Z. Processed one after the other, every scan joins SO. Processed
at once, neither transaction sees the other's rows until it commits: without the graph's row
locks (apps/correlation/locks.py; both messages name 1Z) B's scans would stay unmatched for
good, since no later event would revisit them. The race must end exactly where the sequential
run ends. With CORRELATION_LOCKING=false in the environment this test fails (checked 2026-12-02)."""

import os
import threading
import time
from typing import Any

import orjson
import pytest
from django.db import connections
from django.db.models import Count

from apps.correlation import services
from apps.correlation.models import Node, OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL (DATABASE_URL)"
    ),
]

T = "2026-11-25T{:02d}:00:00+00:00".format
ROUNDS = 4
PAUSE = 0.1  # seconds


def parts(tag: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The order's events: a prelude sent first, then the two halves of its links. Ids carry
    `tag` so that rounds do not share nodes."""
    so, sh, tn, run = f"SO-{tag}", f"SH-{tag}", f"1Z-{tag}", f"R-{tag}"
    # The order and the tracking number exist before the race (a carrier's pick-up scan came
    # first), so the two halves create no node in common: nothing but the node locks
    # order them (a shared new node would, through its unique index).
    prelude = [
        {"event_id": f"created-{tag}", "type": "order.created", "occurred_at": T(1), "refs": {"order": so}},
        {"event_id": f"pickup-{tag}", "type": "shipment.picked_up", "occurred_at": T(3),
         "refs": {"tracking_number": tn}},
    ]  # fmt: skip
    tms = [
        {"event_id": f"planned-{tag}", "type": "shipment.planned", "occurred_at": T(2),
         "refs": {"order": so, "shipment": sh, "tracking_number": tn}},
        {"event_id": f"departed-{tag}", "type": "shipment.departed", "occurred_at": T(4), "refs": {"shipment": sh}},
    ]  # fmt: skip
    lastmile = [
        {"event_id": f"run-{tag}", "type": "run.planned", "occurred_at": T(5),
         "refs": {"delivery_run": run, "tracking_number": tn}},
        {"event_id": f"dispatched-{tag}", "type": "run.dispatched", "occurred_at": T(6),
         "refs": {"delivery_run": run}},
        {"event_id": f"ofd-{tag}", "type": "delivery.out_for_delivery", "occurred_at": T(7),
         "refs": {"delivery_run": run, "tracking_number": tn}},
        {"event_id": f"pod-{tag}", "type": "delivery.completed", "occurred_at": T(8),
         "refs": {"tracking_number": tn}, "pod": {"signed_by": "R. Ace"}},
    ]  # fmt: skip
    return prelude, tms, lastmile


def send_prelude(feeds: dict[str, Any], prelude: list[dict[str, Any]]) -> None:
    for feed, event in zip((feeds["erp"], feeds["lastmile"]), prelude, strict=True):
        assert message_process(message_id=receive(feed, [event]).id) == MessageStatus.PROCESSED


def outcome(tag: str) -> dict[str, Any]:
    """What users see of the order, with the round's tag blanked out."""
    projection = OrderProjection.objects.get(order_key=f"SO-{tag}")
    fields = ("stage", "partial", "shipments", "warehouse_tasks", "aliases", "pod", "event_count", "systems")
    seen = {
        "projection": {f: getattr(projection, f) for f in fields},
        "timeline": sorted(
            TimelineEntry.objects.filter(order=projection.order).values_list("event__event_key", flat=True)
        ),
        "unmatched": sorted(
            CanonicalEvent.objects.filter(event_key__endswith=tag, matched=False).values_list("event_key", flat=True)
        ),
    }
    return orjson.loads(orjson.dumps(seen).decode().replace(tag, "<TAG>"))


@pytest.fixture
def feeds(monkeypatch: pytest.MonkeyPatch, settings: Any) -> dict[str, Any]:
    # Receive without the eager after-commit processing: the test's threads process, each its
    # own message (a worker may otherwise claim the other waiting message into its batch, and
    # then there is no race).
    monkeypatch.setattr(queue, "enqueue", lambda message_id, **_: None)
    settings.INGEST_BATCH_MESSAGES = 1
    return {s: FeedFactory(system=s) for s in ("erp", "tms", "lastmile")}


@pytest.fixture
def wide_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the race: a pause before looking for the orders an event reaches and another
    before the transaction commits. Without the lock, each worker would then read the graph
    before the other's half is committed (checked by hand: the scans stay unmatched)."""
    reaching, refresh = services.orders_touched, services.orders_refresh

    def slow_reaching(*args: Any, **kwargs: Any) -> Any:
        time.sleep(PAUSE)
        return reaching(*args, **kwargs)

    def slow_refresh(*args: Any, **kwargs: Any) -> Any:
        result = refresh(*args, **kwargs)
        time.sleep(PAUSE)
        return result

    monkeypatch.setattr(services, "orders_touched", slow_reaching)
    monkeypatch.setattr(services, "orders_refresh", slow_refresh)


def receive(feed: Any, events: list[dict[str, Any]]) -> Any:
    return message_receive(feed=feed, body=orjson.dumps({"events": events}), content_type="application/json")


def work(message_id: Any, barrier: threading.Barrier, results: list[str | None], errors: list[BaseException]) -> None:
    """A worker: wait for the other, then process the message in this thread's own connection."""
    try:
        barrier.wait()
        results.append(message_process(message_id=message_id))
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_messages_with_halves_of_an_order_race_to_the_sequential_result(feeds, wide_window):
    prelude, tms, lastmile = parts("seq")
    send_prelude(feeds, prelude)
    for feed, events in ((feeds["tms"], tms), (feeds["lastmile"], lastmile)):
        assert message_process(message_id=receive(feed, events).id) == MessageStatus.PROCESSED
    sequential = outcome("seq")
    assert sequential["projection"]["stage"] == "delivered"
    assert len(sequential["timeline"]) == 8
    assert sequential["unmatched"] == []

    for n in range(ROUNDS):
        tag = f"race{n}"
        prelude, tms, lastmile = parts(tag)
        send_prelude(feeds, prelude)
        # Alternate which half is received (and so queued) first.
        pair = [(feeds["tms"], tms), (feeds["lastmile"], lastmile)][:: 1 if n % 2 else -1]
        messages = [receive(feed, events) for feed, events in pair]
        barrier = threading.Barrier(len(messages))
        results: list[str | None] = []
        errors: list[BaseException] = []

        threads = [threading.Thread(target=work, args=(m.id, barrier, results, errors)) for m in messages]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert results == [MessageStatus.PROCESSED] * 2, list(
            RawMessage.objects.filter(id__in=[m.id for m in messages]).values("status", "attempts", "error")
        )
        assert outcome(tag) == sequential, tag

    # One node per id, whatever raced to create it.
    duplicates = Node.objects.values("kind", "value").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    assert Node.objects.filter(kind="tracking_number", value__startswith="1Z-race", entity__isnull=True).count() == 0
