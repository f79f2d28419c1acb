"""Several real worker processes on one noisy stream give exactly what one worker gives.

The stream (apps/simulator) has duplicates, reordering, late binding (last-mile scans before
the TMS names the tracking number), split orders, consolidated shipments and runs shared by
many orders. It is sent twice, under two id prefixes (so the runs share no node): once
processed message by message in this process, once by three Celery worker processes at once
with small batches, so that many batches correlate at the same time on overlapping orders.
What users see — timelines, stages, each system's view, partner exceptions, SLA breaches,
the unmatched list — must be the same, with the prefix blanked out.

What keeps it so is the graph's row locks (apps/correlation/locks.py). Switched off, this test
fails: `CORRELATION_LOCKING=false ./scripts/test tests/pipeline/test_parallel_workers.py` (the
workers inherit the environment) — projections differ, 3 runs out of 3 on 2026-12-02."""

import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.exceptions.models import ExceptionCase
from apps.finance.models import InvoiceHold, OrderReconciliation
from apps.ingestion import queue
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from apps.simulator.management.commands.seed_demo import DEMO_POLICIES
from apps.simulator.noise import make_noisy
from apps.simulator.world import generate_world, world_stats
from apps.sla.services import sla_policy_create
from tests.factories import FeedFactory
from tests.workers import needs_postgres, needs_redis, start_worker, stop_worker, without_event_ids, worker_output

pytestmark = [needs_postgres, needs_redis, pytest.mark.django_db(transaction=True)]

START = datetime(2026, 11, 30, tzinfo=UTC)
WORKERS = 3
WINDOW = 12  # events per window; each window is one message per system
PROJECTION_FIELDS = [
    f.name for f in OrderProjection._meta.concrete_fields if f.name not in {"order", "updated_at", "fold"}
]


def send(tag: str) -> list[Any]:
    """The same world under prefix `tag`, received (not processed) as messages, in order."""
    clean = generate_world(orders=45, seed=22, start=START, id_prefix=tag)
    stats = world_stats(clean)
    assert stats["split"] >= 2, stats
    assert stats["consolidated"] >= 2, stats
    assert stats["late_bound"] >= 2, stats
    noisy = make_noisy(clean, seed=22, duplicate_rate=0.08, reorder_window=30, bad_rate=0.01)
    feeds = {s: FeedFactory(system=s, slug=f"{tag.lower()}-{s}") for s in ("erp", "wms", "tms", "lastmile")}
    ids = []
    for start in range(0, len(noisy), WINDOW):
        by_system: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sim in noisy[start : start + WINDOW]:
            by_system[sim.system].append(sim.event)
        for system, events in by_system.items():
            body = orjson.dumps({"events": events})
            ids.append(
                message_receive(feed=feeds[system], body=body, content_type="application/json", enqueue=False).id
            )
    return ids


def seen(tag: str) -> dict[str, Any]:
    """What users see of run `tag`, with the tag blanked out."""
    projections = {
        p["order_key"]: {**p, "ledger": without_event_ids(p["ledger"])}
        for p in OrderProjection.objects.filter(order_key__contains=tag).values(*PROJECTION_FIELDS)
    }
    cases = ExceptionCase.objects.filter(fingerprint__contains=tag)
    view = {
        "projections": projections,
        "timeline": sorted(
            TimelineEntry.objects.filter(order__value__contains=tag).values_list("order__value", "event__event_key")
        ),
        "unmatched": sorted(
            CanonicalEvent.objects.filter(feed__slug__startswith=tag.lower(), matched=False).values_list(
                "feed__system", "event_key"
            )
        ),
        "cases": sorted(
            cases.values_list("kind", "fingerprint", "status", "occurrences", "order__value", "cleared_at")
        ),
        "holds": sorted(
            InvoiceHold.objects.filter(order_key__contains=tag).values_list(
                "order_key", "invoice", "status", "reason", "outcome", "release_hint"
            )
        ),
        "reconciliation": sorted(
            OrderReconciliation.objects.filter(order_key__contains=tag).values_list("order_key", "status", "findings")
        ),
    }
    return orjson.loads(orjson.dumps(view, default=str).decode().replace(tag, "<RUN>").replace(tag.lower(), "<run>"))


def wait_processed(ids: list[Any], workers: list[Any], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = RawMessage.objects.filter(id__in=ids, status__in=[MessageStatus.RECEIVED, MessageStatus.PROCESSING])
        if not left.exists():
            return
        if any(w.poll() is not None for w in workers):
            break
        time.sleep(0.5)
    for worker in workers:
        stop_worker(worker)
    output = "\n".join(worker_output(w, 3000) for w in workers)
    rows = list(left.values_list("status", "attempts", "error"))
    raise AssertionError(f"messages left unprocessed: {rows}\n{output}")


def test_three_workers_on_one_noisy_stream_give_what_one_gives(real_broker):
    for policy in DEMO_POLICIES:
        sla_policy_create(actor="test", **policy)

    one = send("PWONE")
    for message_id in one:
        message_process(message_id=message_id)
    sequential = seen("PWONE")
    assert len(sequential["projections"]) >= 45
    assert sequential["cases"], "the world must open partner exceptions and SLA breaches"
    assert {c[0] for c in sequential["cases"]} >= {"partner_exception", "sla_breach"}

    many = send("PWMANY")
    # Small batches, so that many of them correlate at once on overlapping orders.
    workers = [start_worker(real_broker, INGEST_BATCH_MESSAGES="3") for _ in range(WORKERS)]
    try:
        for message_id in many:
            queue.enqueue(message_id)
        wait_processed(many, workers)
    finally:
        for worker in workers:
            stop_worker(worker)

    assert not RawMessage.objects.filter(id__in=many, status=MessageStatus.FAILED).exists()
    parallel = seen("PWMANY")
    for part in ("projections", "timeline", "unmatched", "cases"):
        assert parallel[part] == sequential[part], part
