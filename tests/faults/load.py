"""One fault run: a database of its own (a copy of the template), the real processes on it
(uvicorn, two Celery workers, the early lane's worker, `celery beat`), the simulator's noisy
stream posted over HTTP at a steady rate, a fault injected mid-load, then the drain.

What users see afterwards (`seen`) and the message counts (`counts`) are read with the ORM
through a database alias of the run's own (`register_database`): the test process's default
database is pytest-django's, on the machine's server, and is not used here."""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import environ
import orjson
from django.db import OperationalError, connections
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from kombu import pools

from apps.bench.ingest import Stream
from apps.bench.processes import Stack, StackError
from apps.correlation.models import OrderProjection, TimelineEntry
from apps.events.models import CanonicalEvent
from apps.exceptions.models import ExceptionCase
from apps.feeds.services import FeedCredentials
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.simulator.client import SendReport, post_batches
from tests.workers import use_broker, without_event_ids

from .prepare import PROBE_SLUG
from .services import PostgresCluster, RedisServer

TEMPLATE = "faults_template"
PROBE_ORDER = "PROBE-"
# Events/s posted: below what two workers process on 2 cores (~900/s with the web and the poster
# beside them), so that no backlog builds and the time to recover is the fault's, not a queue's.
RATE = float(os.environ.get("FAULTS_RATE", "700"))
CONCURRENCY = 4
# Recovery in seconds, not minutes: the heal sweep every 2 s, a dead worker's claim freed 3 s
# after it was made, a message whose task was lost enqueued again after 5 s.
FAST_RECOVERY = {
    "INGEST_HEAL_SECONDS": "2",
    "INGEST_CLAIM_GRACE_SECONDS": "3",
    "INGEST_REQUEUE_AFTER_SECONDS": "5",
}
DRAIN_TIMEOUT_S = 180.0
UNFINISHED = (MessageStatus.RECEIVED, MessageStatus.PROCESSING)
PROJECTION_FIELDS = [
    f.name for f in OrderProjection._meta.concrete_fields if f.name not in {"order", "updated_at", "fold"}
]


def register_database(name: str, url: str) -> str:
    """An ORM alias for database `name` (what `.using(alias)` reads); returns the alias."""
    alias = f"faults_{name}"
    if alias not in connections.settings:
        config = environ.Env.db_url_config(url)
        # configure_settings fills the defaults (TIME_ZONE, OPTIONS…); it insists on a default.
        configured = connections.configure_settings({"default": connections.settings["default"], alias: config})
        connections.settings[alias] = configured[alias]
    return alias


def fresh(alias: str) -> None:
    """Drop the alias's connection: after a restart of the server it is a dead one."""
    connections[alias].close()


@dataclass
class Probe:
    """One POST of the test's own during the fault (the intake must answer it)."""

    status: int  # 0: no answer
    seconds: float
    retry_after: str | None
    message_id: str | None


@dataclass
class RunResult:
    name: str
    alias: str
    report: SendReport
    started_at: datetime
    fault_at: datetime | None = None
    back_at: datetime | None = None  # the service is back (equal to fault_at for a kill)
    probes: list[Probe] = field(default_factory=list)
    last_processed_at: datetime | None = None
    # The fault's own messages done: those whose attempt it cut (a second attempt) and those
    # received while the service was away (their tasks lost or never sent).
    recovered_at: datetime | None = None
    logs: str = ""

    def seconds_after_fault(self, at: datetime | None) -> float | None:
        if at is None or self.fault_at is None:
            return None
        return round((at - self.fault_at).total_seconds(), 1)

    @property
    def drained_s(self) -> float | None:
        """From the first POST to the last message processed."""
        if self.last_processed_at is None:
            return None
        return round((self.last_processed_at - self.started_at).total_seconds(), 1)

    def summary(self, reference: "RunResult | None" = None) -> str:
        """One line for the CI log: the load, the fault and the times to recover."""
        head = (
            f"[faults] {self.name}: {self.report.events_sent:,} events in {len(self.report.messages):,} messages "
            f"at {RATE:.0f} events/s, drained {self.drained_s} s after the first POST"
        )
        if self.fault_at is None:
            return head
        http = ", ".join(f"{k or 'no answer'} x{v}" for k, v in sorted(self.report.http_errors.items())) or "none"
        extra = ""
        if reference is not None and reference.drained_s is not None and self.drained_s is not None:
            extra = f" ({self.drained_s - reference.drained_s:+.1f} s against the clean run)"
        recovered = self.seconds_after_fault(self.recovered_at)
        recovery = "no message was cut or held by it" if recovered is None else f"{recovered} s"
        return (
            f"{head}{extra}; fault at +{(self.fault_at - self.started_at).total_seconds():.1f} s, service back "
            f"{self.seconds_after_fault(self.back_at)} s after it; time to recover (the fault's messages "
            f"processed): {recovery}; last message processed "
            f"{self.seconds_after_fault(self.last_processed_at)} s after the fault; HTTP errors, retried: {http}"
        )


Fault = Callable[["FaultContext"], None]


@dataclass
class FaultContext:
    """What a fault sees: the processes, the services, and the probe helper."""

    stack: Stack
    cluster: PostgresCluster
    redis: RedisServer
    database: str
    probe_creds: FeedCredentials
    result: RunResult
    probes_sent: int = 0

    def mark_fault(self) -> None:
        self.result.fault_at = timezone.now()

    def mark_back(self) -> None:
        self.result.back_at = timezone.now()

    def probe(self, timeout_s: float = 30.0) -> Probe:
        """POST one event for an order of the probe's own, as a partner would, and time it."""
        import httpx

        self.probes_sent += 1
        n = self.probes_sent
        body = {
            "events": [
                {
                    "event_id": f"probe-{n}",
                    "type": "order.created",
                    "occurred_at": timezone.now().isoformat(),
                    "refs": {"order": f"{PROBE_ORDER}{n}"},
                }
            ]
        }
        started = time.monotonic()
        try:
            response = httpx.post(
                f"{self.stack.base_url}/api/v1/ingest/{self.probe_creds.slug}/",
                content=orjson.dumps(body),
                headers={"Authorization": f"Bearer {self.probe_creds.token}", "Content-Type": "application/json"},
                timeout=timeout_s,
            )
        except httpx.TransportError:
            probe = Probe(0, time.monotonic() - started, None, None)
        else:
            message_id = response.json().get("message_id") if response.status_code == 202 else None
            probe = Probe(
                response.status_code, time.monotonic() - started, response.headers.get("Retry-After"), message_id
            )
        self.result.probes.append(probe)
        return probe


def run(
    *,
    name: str,
    cluster: PostgresCluster,
    redis: RedisServer,
    stream: Stream,
    creds: dict[str, FeedCredentials],
    fault: Fault | None = None,
    fault_after_s: float = 6.0,
) -> RunResult:
    """The stream through the real processes on database `faults_<name>`, `fault` called
    `fault_after_s` into the load; returns once every message is finished (or raises)."""
    database = f"faults_{name}"
    cluster.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    cluster.execute(f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE}"')
    alias = register_database(name, cluster.url(database))
    # The readiness ping goes to the run's Redis, on fresh connections: kombu keeps a pool per
    # broker URL, whose connections died with a Redis the previous run killed.
    pools.reset()
    use_broker(redis.url)
    result = RunResult(name, alias, SendReport(), timezone.now())
    with Stack(
        queue=f"ct-faults-{name}",
        workers=2,
        database_url=cluster.url(database),
        redis_url=redis.url,
        extra_env={**FAST_RECOVERY, "CHANNELS_PREFIX": f"ct-faults-{name}"},
        beat=True,
    ) as stack:
        stack.wait_ready(timeout_s=90)
        context = FaultContext(stack, cluster, redis, database, creds["probe"], result)
        holder: dict[str, Any] = {}

        def load() -> None:
            try:
                holder["report"] = post_batches(
                    stack.base_url,
                    {k: v for k, v in creds.items() if k != "probe"},
                    stream.events,
                    batch_size=200,
                    rate=RATE,
                    concurrency=CONCURRENCY,
                )
            except BaseException as exc:
                holder["error"] = exc

        result.started_at = timezone.now()
        loader = threading.Thread(target=load, name=f"faults-{name}-load", daemon=True)
        loader.start()
        if fault is not None:
            time.sleep(fault_after_s)
            fault(context)
        loader.join(timeout=600)
        if "error" in holder:
            raise holder["error"]
        result.report = holder["report"]
        try:
            wait_drained(
                alias, expected=len(result.report.messages) + sum(p.message_id is not None for p in result.probes)
            )
        except AssertionError as exc:
            stack.failed = True
            result.logs = "\n".join(f"--- {p.name}:\n{p.tail(40)}" for p in stack.procs)
            raise AssertionError(f"{exc}\n{result.logs}\n(logs in {stack.logs_hint()})") from None
        except StackError:
            stack.failed = True
            raise
    stamps(result)
    return result


def wait_drained(alias: str, *, expected: int, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    """Until `expected` messages are stored and none of them is waiting or in processing."""
    deadline = time.monotonic() + timeout_s
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            row = RawMessage.objects.using(alias).aggregate(
                total=Count("id"), unfinished=Count("id", filter=Q(status__in=UNFINISHED))
            )
        except OperationalError:
            fresh(alias)
            time.sleep(0.5)
            continue
        if row["total"] >= expected and not row["unfinished"]:
            return
        time.sleep(0.5)
    statuses = dict(
        RawMessage.objects.using(alias).values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    raise AssertionError(f"not drained {timeout_s:.0f} s after the load: {row}, expected {expected}: {statuses}")


def stamps(result: RunResult) -> None:
    """When the last message was processed, and when every message received up to the moment
    the service was back was (the time to recover)."""
    messages = RawMessage.objects.using(result.alias)
    result.last_processed_at = messages.aggregate(last=Max("processed_at"))["last"]
    if result.fault_at is not None and result.back_at is not None:
        cut = Q(attempts__gt=1) | Q(received_at__gte=result.fault_at, received_at__lte=result.back_at)
        result.recovered_at = messages.filter(cut).aggregate(last=Max("processed_at"))["last"]


# --- what users see, and the counts ------------------------------------------------------------
def seen(alias: str) -> dict[str, Any]:
    """Timelines, projections, unmatched events and exception cases of the stream's orders
    (the probes' own orders left out), as JSON-comparable values."""
    projections = {
        p["order_key"]: {**p, "ledger": without_event_ids(p["ledger"])}
        for p in OrderProjection.objects.using(alias)
        .exclude(order_key__startswith=PROBE_ORDER)
        .values(*PROJECTION_FIELDS)
    }
    view = {
        "projections": projections,
        "timeline": sorted(
            TimelineEntry.objects.using(alias)
            .exclude(order__value__startswith=PROBE_ORDER)
            .values_list("order__kind", "order__value", "event__event_key")
        ),
        "unmatched": sorted(
            CanonicalEvent.objects.using(alias)
            .filter(matched=False)
            .exclude(feed__slug=PROBE_SLUG)
            .values_list("feed__system", "event_key")
        ),
        "cases": sorted(
            ExceptionCase.objects.using(alias)
            .exclude(order__value__startswith=PROBE_ORDER)
            .values_list("kind", "fingerprint", "status", "occurrences", "order__value", "cleared_at")
        ),
    }
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(view, default=str))
    return loaded


def counts(alias: str) -> dict[str, Any]:
    """Messages by status, the per-message counts summed, the events stored (the stream's feeds)."""
    messages = RawMessage.objects.using(alias).exclude(feed__slug=PROBE_SLUG)
    sums = messages.aggregate(accepted=Sum("accepted"), duplicates=Sum("duplicates"))
    rejected = sum(len(r) for r in messages.values_list("rejections", flat=True))
    return {
        "messages": dict(messages.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
        "accepted": sums["accepted"] or 0,
        "duplicates": sums["duplicates"] or 0,
        "rejected_events": rejected,
        "events_stored": CanonicalEvent.objects.using(alias).exclude(feed__slug=PROBE_SLUG).count(),
        "events_stored_twice": CanonicalEvent.objects.using(alias)
        .values("feed_id", "event_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
    }


def retried(alias: str) -> int:
    """Messages that took more than one attempt (a crash or a failure counted)."""
    return RawMessage.objects.using(alias).filter(attempts__gt=1).count()
