"""The measurement of `manage.py bench live`: how long from an event's POST to the websocket
message it causes, while background traffic flows through the same pipeline.

It starts uvicorn and Celery workers (processes.Stack, on PostgreSQL and Redis), connects one
websocket to /ws/ops/ with a logged-in session, posts a simulated stream at `--rate` events/s
for `--seconds`, and meanwhile, `--probes` times a second, posts one `delivery.attempted` for an
order of its own, created (and correlated) before the load starts. A probe's latency is from
just before its POST to the arrival of the `exception.opened` naming its order. The server's
own stamps on each probe's raw message (received, processing started, processed) split that
time into HTTP, queue wait, processing and push (commit → channel layer → consumer → socket);
with the early lane (docs/live.md) the exception is pushed before the regular processing.

The command's options, checks and printed report are in live_command.py."""

import asyncio
import math
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import orjson
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from apps.correlation.models import OrderProjection
from apps.feeds.services import FeedCredentials
from apps.ingestion.models import RawMessage
from apps.live.messages import OrderUpdatedMessage
from apps.live.publish import publish_on_commit
from apps.simulator.client import post_batches

from .ingest import (
    bench_data_delete,
    bench_feed_ids,
    bench_feeds_unthrottle,
    database_url,
    progress_snapshot,
    redis_url,
    stream_make,
    unique_prefix,
)
from .processes import Stack

BAR_P95_MS = 250.0
USERNAME = "bench-live"


@dataclass
class Probe:
    order: str
    sent: float  # perf_counter just before the POST
    sent_wall: float  # time.time() at the same moment (the server stamps wall-clock times)
    message_id: str | None = None
    arrived: float | None = None  # perf_counter when its exception.opened arrived
    arrived_wall: float | None = None

    @property
    def latency_ms(self) -> float | None:
        return None if self.arrived is None else (self.arrived - self.sent) * 1000


@dataclass
class Listener:
    """A websocket client of /ws/ops/ in a thread of its own (its own event loop)."""

    url: str
    cookie: str
    origin: str
    probe_prefix: str
    push_prefix: str = ""
    arrivals: dict[str, tuple[float, float]] = field(default_factory=dict)  # order -> (perf, wall)
    pushes: dict[str, float] = field(default_factory=dict)  # order -> perf
    updates: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # probe order -> (perf, wall)
    frames: int = 0
    frame_bytes: int = 0
    error: BaseException | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            asyncio.run(self._listen())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _listen(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        headers = {"Cookie": self.cookie}
        async with connect(self.url, additional_headers=headers, origin=Origin(self.origin), max_size=None) as socket:
            self.ready.set()
            while not self.stop.is_set():
                try:
                    text = await asyncio.wait_for(socket.recv(), timeout=0.2)
                except TimeoutError:
                    continue
                now, wall = time.perf_counter(), time.time()
                self.frames += 1
                self.frame_bytes += len(text)
                message = orjson.loads(text)
                if message.get("type") == "order.updated" and message["order"].startswith(self.probe_prefix):
                    self.updates.setdefault(message["order"], []).append((now, wall))
                elif message.get("type") == "order.updated" and message["order"].startswith(self.push_prefix):
                    self.pushes.setdefault(message["order"], now)
                elif message.get("type") == "exception.opened":
                    order = message["exception"].get("order") or ""
                    if order.startswith(self.probe_prefix):
                        self.arrivals.setdefault(order, (now, wall))


def session_cookie() -> str:
    """A database session for the bench user (an agent: hears exceptions and orders)."""
    user, _ = User.objects.get_or_create(username=USERNAME, defaults={"is_active": True})
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name="cs_agent"))
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # as a login through the form would
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"sessionid={store.session_key}"


def order_event(order: str, type_: str, **extra: Any) -> dict[str, Any]:
    """An event of this type naming only this order, happening now (`event_id` from the type)."""
    suffix = type_.rsplit(".", 1)[-1]
    now = timezone.now().isoformat()
    return {"event_id": f"{order}-{suffix}", "type": type_, "occurred_at": now, "refs": {"order": order}, **extra}


def probe_orders_ready(client: httpx.Client, erp: FeedCredentials, orders: list[str], timeout_s: float = 60.0) -> None:
    """Create the probes' orders and wait until correlation has them: a probe is a failed
    delivery attempt on an order the control tower knows, as in real life."""
    for start in range(0, len(orders), 500):
        response = client.post(
            f"/api/v1/ingest/{erp.slug}/",
            content=orjson.dumps({"events": [order_event(o, "order.created") for o in orders[start : start + 500]]}),
            headers={"Authorization": f"Bearer {erp.token}", "Content-Type": "application/json"},
        )
        response.raise_for_status()
    deadline = time.monotonic() + timeout_s
    while OrderProjection.objects.filter(order_key__in=orders).count() < len(orders):
        if time.monotonic() > deadline:
            raise RuntimeError("the probes' orders were not correlated within a minute")
        time.sleep(0.2)


def probe_event(order: str) -> dict[str, Any]:
    return order_event(order, "delivery.attempted", reason={"code": "CUSTOMER_ABSENT", "text": "bench probe"})


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


def _segments(probes: list[Probe]) -> dict[str, dict[str, float]]:
    """Where a probe's time went, from the server's stamps on its raw message. The exception is
    pushed by the early lane (docs/live.md), before the regular lane has processed the message;
    the regular lane's own times (queue wait, and POST → processed: timeline, projection, the
    `order.updated`) are reported beside it."""
    ids = [p.message_id for p in probes if p.message_id and p.arrived_wall is not None]
    rows = {
        str(i): (r, s, d)
        for i, r, s, d in RawMessage.objects.filter(id__in=ids).values_list(
            "id", "received_at", "processing_started_at", "processed_at"
        )
    }
    http, early, wait, regular = [], [], [], []
    for p in probes:
        row = rows.get(str(p.message_id))
        if row is None or p.arrived_wall is None:
            continue
        stamps = [t.timestamp() for t in row if t is not None]
        if len(stamps) != 3:
            continue
        received, started, processed = stamps
        http.append((received - p.sent_wall) * 1000)
        early.append((p.arrived_wall - received) * 1000)
        wait.append((started - received) * 1000)
        regular.append((processed - p.sent_wall) * 1000)
    return {
        "post_to_received": summary(http),
        "received_to_socket": summary(early),
        "regular_queue_wait": summary(wait),
        "post_to_processed": summary(regular),
    }


def _order_updated_ms(probes: list[Probe], updates: dict[str, list[tuple[float, float]]]) -> list[float]:
    """POST → the `order.updated` that follows the regular lane's commit (timeline and projection
    up to date): the first one the socket heard after the probe's message was stamped processed.
    (The early lane's case already sends one `order.updated`, for the open exception count, which
    says nothing about the timeline.)"""
    processed = dict(
        RawMessage.objects.filter(id__in=[p.message_id for p in probes if p.message_id]).values_list(
            "id", "processed_at"
        )
    )
    out = []
    for p in probes:
        done = processed.get(UUID(p.message_id)) if p.message_id else None
        if done is None:
            continue
        after = [perf for perf, wall in updates.get(p.order, []) if wall >= done.timestamp()]
        if after:
            out.append((min(after) - p.sent) * 1000)
    return out


def _machine() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": str(row[0]) if row else "?",
        "platform": platform.platform(terse=True),
    }


def run(
    *,
    seconds: float,
    warmup_s: float = 0.0,
    rate: float,
    probes_per_second: float,
    workers: int,
    batch_size: int,
    concurrency: int,
    settle_s: float,
    keep: bool,
    worker_nice: int = 0,
    progress: Callable[[float, int, int], None] | None = None,
) -> dict[str, Any]:
    """One run; returns the numbers (see module docstring). `progress(elapsed, probes, arrived)`."""
    from apps.simulator.services import simulation_feeds_ensure

    from .ingest import FEED_PREFIX

    started_at: datetime = timezone.now()
    load_before = os.getloadavg()
    prefix = unique_prefix()
    # The load runs for the warm-up and then the measured seconds; probes only in the latter.
    stream = stream_make(events=max(1, int(rate * (seconds + warmup_s))), prefix=prefix)
    creds: dict[str, FeedCredentials] = simulation_feeds_ensure(prefix=FEED_PREFIX)
    feed_ids = bench_feed_ids()
    bench_feeds_unthrottle(feed_ids)
    cookie = session_cookie()
    probe_prefix = f"{prefix}-PROBE-"
    queue = f"ct-bench-live-{prefix.lower()}"
    probes: list[Probe] = []
    pushed: dict[str, float] = {}
    # A channel-layer prefix of the run's own: other servers on the same Redis stay out of it.
    default: dict[str, Any] = dict(settings.CHANNEL_LAYERS["default"])
    layers = {"default": {**default, "CONFIG": {**default.get("CONFIG", {}), "prefix": queue}}}
    with (
        override_settings(CHANNEL_LAYERS=layers),
        Stack(
            queue=queue,
            workers=workers,
            database_url=database_url(),
            redis_url=redis_url(),
            extra_env={"CHANNELS_PREFIX": queue},
            worker_nice=worker_nice,
        ) as stack,
    ):
        stack.wait_ready()
        host = stack.base_url.removeprefix("http://")
        push_prefix = f"{prefix}-PUSH-"
        listener = Listener(f"ws://{host}/ws/ops/", cookie, stack.base_url, probe_prefix, push_prefix)
        listening = threading.Thread(target=listener.run, name="bench-live-socket", daemon=True)
        listening.start()
        if not listener.ready.wait(15) or listener.error is not None:
            raise RuntimeError(f"the websocket did not connect: {listener.error!r}")
        probe_keys = [f"{probe_prefix}{n:05d}" for n in range(math.ceil(seconds * probes_per_second) + 5)]
        with httpx.Client(base_url=stack.base_url, timeout=30.0) as client:
            probe_orders_ready(client, creds["erp"], probe_keys)
        since = timezone.now()
        holder: dict[str, Any] = {}

        def background() -> None:
            try:
                holder["report"] = post_batches(
                    stack.base_url, creds, stream.events, batch_size=batch_size, rate=rate, concurrency=concurrency
                )
            except BaseException as exc:
                holder["error"] = exc

        loader = threading.Thread(target=background, name="bench-live-load", daemon=True)
        load_started = time.perf_counter()
        loader.start()
        time.sleep(warmup_s)  # steady state first: caches warm, the regular lane at its pace
        clock = time.perf_counter()
        lastmile = creds["lastmile"]
        with httpx.Client(base_url=stack.base_url, timeout=30.0) as client:
            n = 0
            while time.perf_counter() - clock < seconds and loader.is_alive():
                due = clock + n / probes_per_second
                time.sleep(max(0.0, due - time.perf_counter()))
                order = probe_keys[n]
                probe = Probe(order, time.perf_counter(), time.time())
                response = client.post(
                    f"/api/v1/ingest/{lastmile.slug}/",
                    content=orjson.dumps({"events": [probe_event(order)]}),
                    headers={"Authorization": f"Bearer {lastmile.token}", "Content-Type": "application/json"},
                )
                if response.status_code == 202:
                    probe.message_id = str(response.json()["message_id"])
                probes.append(probe)
                # The push alone: a message published from here (as a worker would, through the
                # Redis layer) to the same socket, outside the pipeline.
                pushed[f"{push_prefix}{n:05d}"] = time.perf_counter()
                publish_on_commit(
                    OrderUpdatedMessage(
                        type="order.updated", order=f"{push_prefix}{n:05d}", stage="", open_exceptions=0
                    )
                )
                n += 1
                stack.check_alive()
                if progress is not None:
                    progress(time.perf_counter() - clock, len(probes), len(listener.arrivals))
        loader.join()
        load_s = time.perf_counter() - load_started
        if "error" in holder:
            raise holder["error"]
        # The last probes may still be queued behind the backlog: wait for them, and for the
        # regular lane to finish every message (the early lane pushes the probes' exceptions
        # first), within reason: the processed rate is over the load and the drain.
        deadline = time.perf_counter() + settle_s
        while len(listener.arrivals) < len(probes) and time.perf_counter() < deadline:
            time.sleep(0.05)
        while time.perf_counter() < deadline:
            processed = progress_snapshot(feed_ids, since)
            if processed.finished == processed.messages:
                break
            time.sleep(0.2)
        drained_s = time.perf_counter() - load_started
        listener.stop.set()
        listening.join(5)
        processed = progress_snapshot(feed_ids, since)
    for probe in probes:
        arrival = listener.arrivals.get(probe.order)
        if arrival is not None:
            probe.arrived, probe.arrived_wall = arrival
    latencies = [p.latency_ms for p in probes if p.latency_ms is not None]
    updated = _order_updated_ms(probes, listener.updates)
    push_latencies = [(listener.pushes[k] - t) * 1000 for k, t in pushed.items() if k in listener.pushes]
    report = holder["report"]
    result: dict[str, Any] = {
        "benchmark": "live",
        "date": started_at.isoformat(timespec="seconds"),
        "setup": {
            "seconds": seconds,
            "warmup_seconds": warmup_s,
            "rate": rate,
            "probes_per_second": probes_per_second,
            "workers": workers,
            "batch_size": batch_size,
            "concurrency": concurrency,
            "worker_nice": worker_nice,
        },
        "machine": {**_machine(), "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "background": {
            "events_posted": report.events_sent,
            "posting_seconds": round(report.elapsed_s, 2),
            "posted_events_per_second": round(report.events_sent / report.elapsed_s) if report.elapsed_s else 0,
            "http_errors": {str(k): v for k, v in report.http_errors.items()},
            "events_processed_by_end": processed.finished_events,
            "processed_events_per_second": round(processed.finished_events / drained_s) if drained_s else 0,
            "load_seconds": round(load_s, 2),
            "drained_seconds": round(drained_s, 2),
        },
        "probes": {"sent": len(probes), "arrived": len(latencies), "lost": len(probes) - len(latencies)},
        "latency_ms": summary(latencies),
        "order_updated_ms": {**summary(updated), "arrived": len(updated)},
        "segments_ms": _segments(probes),
        "push_only_ms": {**summary(push_latencies), "sent": len(pushed), "arrived": len(push_latencies)},
        "socket": {"frames": listener.frames, "bytes": listener.frame_bytes},
        "bar_p95_ms": BAR_P95_MS,
    }
    result["meets_bar"] = bool(latencies) and result["latency_ms"]["p95"] <= BAR_P95_MS and not result["probes"]["lost"]
    if not keep:
        bench_data_delete(feed_ids)
    return result
