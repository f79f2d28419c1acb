"""The pipeline's metrics, in the Prometheus format (prometheus-client).

Two kinds:

* **Measured by the workers** as batches run: time per stage, batch size in messages and
  events, events stored, batches that conflicted or failed. Each process keeps its own; with
  PROMETHEUS_MULTIPROC_DIR set (to one directory shared by the web and worker processes of a
  host), prometheus-client's multiprocess mode adds them up and `/metrics` shows the sum.
* **Read from the database at scrape time** (`QueueCollector`): messages waiting (`received`),
  the age of the oldest, messages in `processing`, dead letters. These are true whatever
  process answers the scrape.

Events per second is `rate(controltower_pipeline_events_total[1m])` (docs/operations.md)."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.db.models import Count, Min
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.common.time import now
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage

if TYPE_CHECKING:
    from .stages import Batch

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

STAGE_SECONDS = Histogram(
    "controltower_pipeline_stage_seconds", "Time a stage took for one batch", ["lane", "stage"], buckets=_SECONDS
)
BATCH_SECONDS = Histogram(
    "controltower_pipeline_batch_seconds", "Time of one batch's stages (its transaction)", ["lane"], buckets=_SECONDS
)
BATCH_MESSAGES = Histogram(
    "controltower_pipeline_batch_messages", "Messages in one batch", ["lane"], buckets=(1, 2, 5, 10, 20, 50, 100)
)
BATCH_EVENTS = Histogram(
    "controltower_pipeline_batch_events",
    "Events stored by one batch",
    ["lane"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
EVENTS = Counter("controltower_pipeline_events", "Events stored (new or restored) by the pipeline", ["lane"])
CONFLICTS = Counter(
    "controltower_pipeline_batch_conflicts", "Batches run again after a deadlock with another batch", ["lane"]
)
FAILURES = Counter("controltower_pipeline_batch_failures", "Batches that raised (their messages retried)")


def batch_done(lane: str, batch: "Batch", timings: dict[str, float]) -> None:
    for stage, seconds in timings.items():
        STAGE_SECONDS.labels(lane, stage).observe(seconds)
    BATCH_SECONDS.labels(lane).observe(sum(timings.values()))
    BATCH_MESSAGES.labels(lane).observe(len(batch.messages))
    BATCH_EVENTS.labels(lane).observe(len(batch.event_ids))
    EVENTS.labels(lane).inc(len(batch.event_ids))


def batch_conflict(lane: str) -> None:
    CONFLICTS.labels(lane).inc()


def batch_failed() -> None:
    FAILURES.inc()


class QueueCollector(Collector):
    """Queue depth and dead letters, read from the database when scraped (two indexed queries:
    the partial index on unfinished messages and the one on failed/rejected ones)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_status = {
            row["status"]: row["n"]
            for row in RawMessage.objects.filter(status__in=[MessageStatus.RECEIVED, MessageStatus.PROCESSING])
            .values("status")
            .annotate(n=Count("id"))
        }
        oldest = RawMessage.objects.filter(status=MessageStatus.RECEIVED).aggregate(at=Min("received_at"))["at"]
        dead = RawMessage.objects.filter(status=MessageStatus.FAILED).count()
        waiting = GaugeMetricFamily("controltower_pipeline_messages_waiting", "Messages received, not yet processed")
        waiting.add_metric([], by_status.get(MessageStatus.RECEIVED, 0))
        yield waiting
        processing = GaugeMetricFamily("controltower_pipeline_messages_processing", "Messages claimed by a worker")
        processing.add_metric([], by_status.get(MessageStatus.PROCESSING, 0))
        yield processing
        age = GaugeMetricFamily(
            "controltower_pipeline_oldest_waiting_seconds", "Age of the oldest message waiting (0 when none)"
        )
        age.add_metric([], (now() - oldest).total_seconds() if oldest else 0.0)
        yield age
        letters = GaugeMetricFamily("controltower_pipeline_dead_letters", "Messages that failed every attempt")
        letters.add_metric([], dead)
        yield letters
