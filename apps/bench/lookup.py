"""`bench lookup`: latency of the lookup API (search, order, timeline) over a large store.

The store is filled through the real pipeline, in-process (message_receive + message_process,
batched like a worker under load), from simulated worlds of the same shape as the demo's; the
API is then called over HTTP on an ASGI server (uvicorn, the psycopg pool) by one client, ids
drawn at random from what was stored."""

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
from django.contrib.auth.models import Group, User
from django.utils import timezone

from apps.accounts.services import api_token_create
from apps.correlation.models import Node, OrderProjection
from apps.events.models import CanonicalEvent
from apps.feeds.models import Feed
from apps.ingestion.choices import MessageStatus
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from apps.simulator.noise import make_noisy
from apps.simulator.services import simulation_feeds_ensure
from apps.simulator.world import generate_world

FEED_PREFIX = "lookupbench"
BAR_P95_MS = 30.0


def stored_events() -> int:
    return CanonicalEvent.objects.count()


def populate(*, target_events: int, deadline_s: float, advance: Callable[[int], None], seed: int = 11) -> int:
    """Add simulated worlds until `target_events` are stored or the deadline passes."""
    simulation_feeds_ensure(prefix=FEED_PREFIX)
    feeds = {f.system: f for f in Feed.objects.filter(slug__startswith=f"{FEED_PREFIX}-")}
    started = time.monotonic()
    current = stored_events()
    round_no = 0
    while current < target_events and time.monotonic() - started < deadline_s:
        round_no += 1
        world = generate_world(
            orders=2000,
            seed=seed + round_no,
            start=timezone.now() - timedelta(days=3),
            id_prefix=f"L{int(time.time())}{round_no}",
        )
        stream = make_noisy(world, seed=seed + round_no, bad_rate=0.0)
        ids = []
        for start in range(0, len(stream), 3000):
            per_system: dict[str, list[dict[str, object]]] = {}
            for e in stream[start : start + 3000]:
                per_system.setdefault(e.system, []).append(e.event)
            for system, events in per_system.items():
                for chunk in range(0, len(events), 1000):
                    body = orjson.dumps({"events": events[chunk : chunk + 1000]})
                    ids.append(
                        message_receive(
                            feed=feeds[system], body=body, content_type="application/json", enqueue=False
                        ).id
                    )
        for message_id in ids:
            message_process(message_id=message_id)
        after = stored_events()
        advance(after - current)
        current = after
    leftover = RawMessage.objects.filter(feed__slug__startswith=f"{FEED_PREFIX}-", status=MessageStatus.RECEIVED)
    for message_id in leftover.values_list("id", flat=True):
        message_process(message_id=message_id)
    return stored_events()


def bench_token() -> str:
    user, _ = User.objects.get_or_create(username="bench-lookup")
    user.groups.set([Group.objects.get(name="cs_agent")])
    return api_token_create(user=user, name="bench lookup")


@dataclass
class Latency:
    name: str
    samples_ms: list[float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def row(self) -> dict[str, float]:
        return {
            "p50_ms": round(self.pct(50), 2),
            "p95_ms": round(self.pct(95), 2),
            "p99_ms": round(self.pct(99), 2),
            "mean_ms": round(statistics.fmean(self.samples_ms), 2),
            "n": len(self.samples_ms),
        }


def sample_ids(n: int, seed: int = 5) -> dict[str, list[str]]:
    """Random order ids and random ids of every searchable kind, from what is stored."""
    rng = random.Random(seed)  # noqa: S311 - sampling ids for a benchmark
    max_order = OrderProjection.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    orders: list[str] = []
    while len(orders) < n and max_order:
        key = (
            OrderProjection.objects.filter(pk__gte=rng.randint(1, max_order))
            .values_list("order_key", flat=True)
            .first()
        )
        if key:
            orders.append(key)
    max_node = Node.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    anything: list[str] = []
    while len(anything) < n and max_node:
        value = Node.objects.filter(pk__gte=rng.randint(1, max_node)).values_list("value", flat=True).first()
        if value:
            anything.append(value)
    return {"orders": orders, "ids": anything}


def measure(base_url: str, token: str, ids: dict[str, list[str]], advance: Callable[[int], None]) -> list[Latency]:
    results = {name: Latency(name, []) for name in ("search", "order", "timeline")}
    headers = {"Authorization": f"Token {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        for _ in range(20):  # warm the pool and the caches
            client.get("/api/v1/orders/" + ids["orders"][0] + "/")
        for order, any_id in zip(ids["orders"], ids["ids"], strict=False):
            for name, url in (
                ("search", "/api/v1/search/"),
                ("order", f"/api/v1/orders/{order}/"),
                ("timeline", f"/api/v1/orders/{order}/timeline/"),
            ):
                started = time.perf_counter()
                response = client.get(url, params={"q": any_id} if name == "search" else None)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: HTTP {response.status_code}")
                results[name].samples_ms.append(elapsed)
            advance(1)
    return list(results.values())


def run(*, events: int, populate_minutes: float, samples: int, console: Any) -> dict[str, Any]:
    """Fill up to `events` (or as many as fit in `populate_minutes`), then time the lookup API."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from apps.bench.processes import Stack

    have = stored_events()
    if have < events:
        with Progress(
            TextColumn("storing events"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("store", total=events, completed=have)
            have = populate(
                target_events=events, deadline_s=populate_minutes * 60, advance=lambda n: progress.advance(task, n)
            )
    token = bench_token()
    ids = sample_ids(samples)
    from django.conf import settings

    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    with Stack(
        queue=f"lookup-{int(time.time())}", workers=0, database_url=database_url, redis_url=settings.REDIS_URL
    ) as stack:
        stack.wait_ready()
        with Progress(TextColumn("calling the API"), BarColumn(), MofNCompleteColumn(), console=console) as progress:
            task = progress.add_task("api", total=len(ids["orders"]))
            latencies = measure(stack.base_url, token, ids, lambda n: progress.advance(task, n))
    return {
        "events_stored": have,
        "orders": OrderProjection.objects.count(),
        "ids": Node.objects.count(),
        "calls": {lat.name: lat.row() for lat in latencies},
        "bar_p95_ms": BAR_P95_MS,
        "meets_bar": all(lat.pct(95) <= BAR_P95_MS for lat in latencies),
    }
