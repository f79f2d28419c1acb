"""`bench queue`: the exception queue's first page over a large number of open cases (issue:
100k open exceptions, p95 ≤ 100 ms).

The store is synthetic and COPYed straight into the tables, once (a second run reuses it and
tops it up): orders with their projections, `open` unresolved cases with the spread a busy
operation has (mostly partner exceptions, some SLA breaches and system cases; few critical,
most medium; ops ahead of customer service and finance; a fifth acknowledged, some snoozed; some
assigned), and resolved cases as history. Then, for the ops lead's default view and a few
filters, it times:

- `selector`: what the view asks the database: the tab counts and the first page of rows;
- `fragment`: the results fragment the page re-fetches on every live message, through Django's
  test Client with a logged-in session (middleware, permissions, template);
- `page`: the whole page, the same way;

and prints each query's plan for the default view, to show which index answers it."""

import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings

from apps.common.time import now
from apps.correlation.models import Node
from apps.exceptions.forms import QueueFilterForm
from apps.exceptions.models import ExceptionCase
from apps.exceptions.selectors import (
    COUNT_CAP,
    exception_count_base,
    exception_list,
    exception_queue_counts,
    queue_default,
)

PREFIX = "bench-queue"  # fingerprints of the bench's cases
ORDER_PREFIX = "BQ-"  # keys of the bench's orders
BAR_P95_MS = 100.0
COPY_CHUNK = 20_000
WORKERS = 20  # people cases are assigned to

KINDS = [
    ("partner_exception", 70),
    ("sla_breach", 20),
    ("unmatched_event", 3),
    ("feed_silent", 3),
    ("ingestion", 2),
    ("reconciliation", 2),
]
SEVERITIES = [("critical", 3), ("high", 17), ("medium", 55), ("low", 25)]
PARTNER_CODES = [
    ("delivery.attempted", "CUSTOMER_ABSENT", "customer_service"),
    ("delivery.attempted", "ADDRESS_NOT_FOUND", "customer_service"),
    ("delivery.failed", "REFUSED", "ops"),
    ("shipment.tender_rejected", "NO_CAPACITY", "ops"),
    ("shipment.delayed", "WEATHER", "ops"),
    ("pick.short", "SHORT_PICK", "ops"),
    ("inventory.short", "STOCK_OUT", "ops"),
    ("exception.raised", "DAMAGED", "ops"),
]
SLA_POLICIES = ["pick-within-4h", "ship-by-cutoff", "deliver-by-promise", "tender-within-2h"]
CUSTOMERS = [
    f"{a} {b}"
    for a in ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent", "Vandelay")
    for b in ("Retail GmbH", "Foods Ltd", "Pharma AG", "Home & Garden", "Electronics BV")
]
STAGES = ["released", "allocated", "picking", "picked", "packed", "shipped", "in_transit", "out_for_delivery"]

# name → the page's GET parameters
SCENARIOS: dict[str, dict[str, str]] = {
    "ops lead, default (my queue, needs action)": {},
    "all queues": {"queue": "all"},
    "critical only": {"queue": "all", "severity": "critical"},
    "SLA breaches older than 24h": {"kind": "sla_breach", "age": "24h"},
    "assigned to me": {"assignee": "me"},
    "unassigned, customer service": {"queue": "customer_service", "assignee": "unassigned"},
    "customer contains 'globex'": {"queue": "all", "customer": "globex"},
    "page 20": {"page": "20"},
    "resolved (history)": {"status": "resolved", "queue": "all"},
}


@dataclass
class Filled:
    open_cases: int
    resolved_cases: int
    orders: int
    added: int
    seconds: float


PARTS = ("selector", "fragment", "page", "http_fragment", "http_page")


@dataclass
class Timing:
    name: str
    params: dict[str, str]
    total: int = 0
    rows: int = 0
    samples_ms: dict[str, list[float]] = field(default_factory=lambda: {part: [] for part in PARTS})

    def row(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"params": self.params, "total": self.total, "rows": self.rows}
        for part, samples in self.samples_ms.items():
            if samples:
                stats[f"{part}_p50_ms"] = round(pct(samples, 50), 2)
                stats[f"{part}_p95_ms"] = round(pct(samples, 95), 2)
        return stats


def pct(samples: list[float], p: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


# --- fill ------------------------------------------------------------------------------------


def bench_users() -> tuple[User, list[int]]:
    """The ops lead who looks at the queue, and the people cases are assigned to (the ops lead
    among them, for `assignee=me`)."""
    ops_lead, _ = User.objects.get_or_create(username=f"{PREFIX}-lead")
    ops_lead.groups.set([Group.objects.get(name="ops_lead")])
    ids = [ops_lead.id]
    for n in range(1, WORKERS):
        user, _ = User.objects.get_or_create(username=f"{PREFIX}-{n:02d}")
        user.groups.set([Group.objects.get(name="ops_lead" if n % 2 else "cs_agent")])
        ids.append(user.id)
    return ops_lead, ids


def stored() -> tuple[int, int]:
    cases = ExceptionCase.objects.filter(fingerprint__startswith=f"{PREFIX}:")
    return cases.exclude(status="resolved").count(), cases.filter(status="resolved").count()


def fill(
    *, open_cases: int, resolved_cases: int, advance: Callable[[int], None], seed: int = 3, at: datetime | None = None
) -> Filled:
    """Top the bench's store up to `open_cases` unresolved and `resolved_cases` resolved cases."""
    started = time.perf_counter()
    at = at or now()
    rng = random.Random(seed + open_cases)  # noqa: S311 - synthetic data for a benchmark
    have_open, have_resolved = stored()
    _, workers = bench_users()
    want_open, want_resolved = max(0, open_cases - have_open), max(0, resolved_cases - have_resolved)
    orders = _orders_ensure(max(1, (open_cases + resolved_cases) // 6), rng, at)
    run = f"{int(time.time())}"
    added = 0
    for status_kind, want in (("open", want_open), ("resolved", want_resolved)):
        for start in range(0, want, COPY_CHUNK):
            n = min(COPY_CHUNK, want - start)
            rows = [
                _case_row(rng, at, orders, workers, status_kind, f"{run}:{status_kind}:{start + i}") for i in range(n)
            ]
            _copy_cases(rows)
            added += n
            advance(n)
    with connection.cursor() as cursor:
        # VACUUM too, as autovacuum would after a load: the tab counts are index-only scans, and
        # without a visibility map PostgreSQL reads the table instead (a server with autovacuum
        # off measured a sequential scan here).
        cursor.execute("VACUUM (ANALYZE) exceptions_exceptioncase, correlation_orderprojection, correlation_node")
    have_open, have_resolved = stored()
    return Filled(have_open, have_resolved, len(orders), added, time.perf_counter() - started)


def _orders_ensure(count: int, rng: random.Random, at: datetime) -> list[tuple[int, str]]:
    """(node id, order key) of `count` bench orders, creating the missing ones with projections."""
    existing = list(
        Node.objects.filter(kind="order", value__startswith=ORDER_PREFIX).order_by("id").values_list("id", "value")
    )
    missing = count - len(existing)
    if missing > 0:
        first = len(existing)
        keys = [f"{ORDER_PREFIX}{first + n:07d}" for n in range(missing)]
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy("COPY correlation_node (kind, value) FROM STDIN") as copy:
                for key in keys:
                    copy.write_row(("order", key))
            raw.execute("SELECT id, value FROM correlation_node WHERE kind = 'order' AND value = ANY(%s)", [keys])
            created = raw.fetchall()
            with raw.copy(
                "COPY correlation_orderprojection (order_id, order_key, stage, partial, customer, service_level, "
                "promised_by, eta, eta_feed, systems, shipments, warehouse_tasks, aliases, on_hold, event_count, "
                "ledger, fold, last_event_at, updated_at) FROM STDIN"
            ) as copy:
                for node_id, key in created:
                    promised = at + timedelta(hours=rng.uniform(-24, 72))
                    copy.write_row(
                        (
                            node_id, key, rng.choice(STAGES), False, rng.choice(CUSTOMERS),
                            rng.choice(["standard", "express", "next-day"]), promised,
                            promised + timedelta(hours=rng.uniform(-6, 12)), "", "{}", "[]", "[]", "{}",
                            False, rng.randint(3, 30), "{}", "{}", at - timedelta(hours=rng.uniform(0, 48)), at,
                        )
                    )  # fmt: skip
        existing.extend(created)
    return existing[:count]


def _case_row(
    rng: random.Random, at: datetime, orders: list[tuple[int, str]], workers: list[int], status_kind: str, key: str
) -> tuple[object, ...]:
    kind = _weighted(rng, KINDS)
    severity = _weighted(rng, SEVERITIES)
    order_id, order_key = (
        rng.choice(orders) if kind in ("partner_exception", "sla_breach", "reconciliation") else (None, "")
    )
    queue, source_type = "ops", ""
    if kind == "partner_exception":
        source_type, code, queue = rng.choice(PARTNER_CODES)
        if rng.random() < 0.15:
            order_id, order_key = None, ""  # a scan on no order yet
    elif kind == "sla_breach":
        code = rng.choice(SLA_POLICIES)
        queue = "customer_service" if code == "deliver-by-promise" else "ops"
    elif kind == "reconciliation":
        code, queue = rng.choice(["qty_mismatch", "invoiced_not_delivered", "missing_in_erp"]), "finance"
    else:
        code = {"feed_silent": "silent", "ingestion": "dead_letters", "unmatched_event": "no_order_after_24h"}[kind]
    subject = f"order:{order_key}" if order_id else f"tracking_number:1Z{key.replace(':', '')[-12:]}"
    # Skewed to recent: most of what is open opened in the last day; a tail goes back a week.
    opened = at - timedelta(hours=min(rng.expovariate(1 / 14), 24 * 7))
    last_seen = opened + (at - opened) * rng.random() ** 2
    status, snoozed_until, resolved_at, cleared_at, resolution = "open", None, None, None, ""
    if status_kind == "resolved":
        status, resolved_at = "resolved", last_seen + timedelta(minutes=rng.uniform(5, 600))
        cleared_at, resolution = resolved_at, rng.choice(["auto: delivery.completed", "Re-delivered", "Credit issued"])
    else:
        roll = rng.random()
        if roll < 0.2:
            status = "acknowledged"
        elif roll < 0.3:
            status, snoozed_until = "snoozed", at + timedelta(hours=rng.uniform(-4, 20))
    assignee = rng.choice(workers) if rng.random() < (0.4 if status == "acknowledged" else 0.15) else None
    return (
        kind, code, f"{PREFIX}:{key}", subject, source_type, order_id, severity, queue, status, assignee,
        opened, last_seen, rng.randint(1, 6), snoozed_until, resolved_at, resolution, cleared_at, at,
    )  # fmt: skip


_CASE_COLUMNS = (
    "kind, code, fingerprint, subject, source_type, order_id, severity, queue, status, assignee_id, opened_at, "
    "last_seen_at, occurrences, snoozed_until, resolved_at, resolution, cleared_at, created_at"
)


def _copy_cases(rows: list[tuple[object, ...]]) -> None:
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY exceptions_exceptioncase ({_CASE_COLUMNS}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def clean() -> int:
    """Delete the bench's cases, orders and users."""
    cases, _ = ExceptionCase.objects.filter(fingerprint__startswith=f"{PREFIX}:").delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM correlation_orderprojection WHERE order_key LIKE %s", [f"{ORDER_PREFIX}%"])
        cursor.execute("DELETE FROM correlation_node WHERE kind = 'order' AND value LIKE %s", [f"{ORDER_PREFIX}%"])
    User.objects.filter(username__startswith=f"{PREFIX}-").delete()
    return cases


# --- measure ---------------------------------------------------------------------------------


FRAGMENT_HEADERS = {"HX-Request": "true", "HX-Target": "queue-results"}


def measure(*, samples: int, advance: Callable[[int], None]) -> list[Timing]:
    """In-process: the selector, and the view through Django's test Client."""
    ops_lead = User.objects.get(username=f"{PREFIX}-lead")
    timings = []
    with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        client = Client()
        client.force_login(ops_lead)
        for _ in range(20):  # warm the pool, the template cache, the database's buffers
            client.get("/exceptions/")
            client.get("/exceptions/", headers=FRAGMENT_HEADERS)
        for name, params in SCENARIOS.items():
            timing = Timing(name, params)
            for _ in range(samples):
                started = time.perf_counter()
                timing.total, timing.rows = _selector(ops_lead, params)
                timing.samples_ms["selector"].append((time.perf_counter() - started) * 1000)
                for part, headers in (("fragment", FRAGMENT_HEADERS), ("page", {})):
                    started = time.perf_counter()
                    response = client.get("/exceptions/", params, headers=headers)
                    timing.samples_ms[part].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise RuntimeError(f"/exceptions/ {params}: HTTP {response.status_code}")
                advance(1)
            timings.append(timing)
    return timings


def measure_http(
    timings: list[Timing], *, samples: int, database_url: str, redis_url: str, advance: Callable[[int], None]
) -> None:
    """Over HTTP, as a browser gets it: uvicorn (ASGI, the psycopg pool) in its own process, with
    the ops lead's session cookie."""
    import logging

    import httpx

    from apps.bench.processes import Stack

    logging.getLogger("httpx").setLevel(logging.WARNING)

    client = Client()
    client.force_login(User.objects.get(username=f"{PREFIX}-lead"))
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    with Stack(
        queue=f"{PREFIX}-{int(time.time())}", workers=0, database_url=database_url, redis_url=redis_url
    ) as stack:
        stack.wait_ready()
        with httpx.Client(base_url=stack.base_url, cookies=cookies, timeout=30, follow_redirects=False) as http:
            for _ in range(20):
                http.get("/exceptions/")
                http.get("/exceptions/", headers=FRAGMENT_HEADERS)
            for timing in timings:
                for _ in range(samples):
                    for part, headers in (("http_fragment", FRAGMENT_HEADERS), ("http_page", {})):
                        started = time.perf_counter()
                        response = http.get("/exceptions/", params=timing.params, headers=headers)
                        timing.samples_ms[part].append((time.perf_counter() - started) * 1000)
                        if response.status_code != 200:
                            raise RuntimeError(f"/exceptions/ {timing.params}: HTTP {response.status_code}")
                    advance(1)


def _selector(user: User, params: dict[str, str]) -> tuple[int, int]:
    """The view's database work for these parameters: tab counts, then the page's rows."""
    form = QueueFilterForm(params, role_queue=queue_default(user=user))
    filters = form.filters()
    total, _ = exception_queue_counts(filters=filters, viewer=user).of(form.queue_of(form.tab))
    page = max(1, int(params.get("page", "1")))
    rows = list(exception_list(filters=filters, viewer=user)[(page - 1) * 50 : page * 50])
    return total, len(rows)


def plans(params: dict[str, str] | None = None) -> dict[str, str]:
    """EXPLAIN ANALYZE of the view's queries for these parameters (the default view without)."""
    user = User.objects.get(username=f"{PREFIX}-lead")
    form = QueueFilterForm(params or {}, role_queue=queue_default(user=user))
    filters = form.filters()
    count = exception_count_base(filters=filters, viewer=user).filter(queue=form.queue_of(form.tab) or "ops")
    return {
        "rows": exception_list(filters=filters, viewer=user)[:50].explain(analyze=True),
        "count (one queue's, capped)": count[:COUNT_CAP].explain(analyze=True),
    }


def result(filled: Filled, timings: list[Timing], plan: dict[str, str]) -> dict[str, Any]:
    """The bar is on the default view: the page over HTTP when measured, else through the Client."""
    default = timings[0].samples_ms
    bar_parts = ("http_page", "http_fragment") if default["http_page"] else ("page", "fragment")
    return {
        "store": asdict(filled),
        "scenarios": {t.name: t.row() for t in timings},
        "plans": plan,
        "bar_p95_ms": BAR_P95_MS,
        "bar_on": list(bar_parts),
        "meets_bar": all(pct(default[part], 95) <= BAR_P95_MS for part in bar_parts),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
