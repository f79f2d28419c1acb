"""`manage.py bench holds`: the finance screen and the invoice-holds API over many holds, on
PostgreSQL (issue: 50,000 holds, p95 <= 100 ms for each request).

It seeds the holds set-based, straight into the tables (INSERT … SELECT generate_series in chunks
of CHUNK rows): one order node (`BH-…`) per hold, the hold itself with the spread a busy
finance desk has (80% held; awaiting POD 60%, delivery failed 15%, quantity mismatch 15%,
disputed 10%; held up to 60 days; EUR 80%, GBP 12%, USD 8%; 300 customers, a few large; amounts
10 to 5000), and its activity (placed, released). The page and the API read no order projection,
so none is seeded. Then VACUUM (ANALYZE), and, as a finance user, it times each of REQUESTS
(lookup.py's approach: interleaved, after a warm-up, nearest-rank percentiles):

- `client`: in this process through Django's test Client (middleware, permissions, template);
- `http`: over HTTP on uvicorn (apps/bench/processes.Stack, the psycopg pool), as lookup.py and
  queue.py do, when REDIS_URL is set (the Stack's worker needs a broker), not --no-http, and not
  inside a transaction (a test's: the server would not see the rows).

It counts each request's queries and their time, prints the table (or one JSON object), and
deletes everything it wrote unless --keep. The bar is on `http` when measured, else `client`."""

import io
import os
import time
from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.accounts.models import AuditLog
from apps.accounts.services import api_token_create
from apps.common.time import now
from apps.finance.models import InvoiceHold

from .ingest import database_label, database_url, redis_url, unapplied_migrations
from .lookup import Latency

PREFIX = "BH-"  # order keys (correlation nodes) of the bench; its invoices are INV-BH-…
USERNAME = "bench-holds"
BAR_P95_MS = 100.0
CHUNK = 10_000
WARMUP = 10  # requests of each kind before timing
API_PAGE_SIZE = 50  # REST_FRAMEWORK["PAGE_SIZE"]
FRAGMENT = {"HX-Request": "true", "HX-Target": "finance-results"}


@dataclass(frozen=True)
class Call:
    name: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    api: bool = False  # token auth instead of the session

    @property
    def url(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return self.path + (f"?{query}" if query else "")


REQUESTS = [
    Call("page", "/finance/", {}, {}),
    Call("page, delivery failed 8-30d", "/finance/", {"reason": "delivery_failed", "age": "8-30d"}, {}),
    Call("api, held", "/api/v1/invoice-holds/", {"status": "held"}, {}, api=True),
    Call(
        "api, held GBP page 5", "/api/v1/invoice-holds/", {"status": "held", "currency": "GBP", "page": "5"}, {}, True
    ),
    Call("fragment (htmx refresh)", "/finance/", {}, FRAGMENT),
]


def calls() -> list[Call]:
    """REQUESTS, page 5 brought down to the last page there is (a small run has fewer)."""
    out = []
    for call in REQUESTS:
        if "page" in call.params:
            held = InvoiceHold.objects.filter(status="held", currency=call.params.get("currency", "")).count()
            last = max(1, -(-held // API_PAGE_SIZE))
            call = replace(call, params={**call.params, "page": str(min(int(call.params["page"]), last))})
        out.append(call)
    return out


SEED_SQL = """
WITH nodes AS (
  INSERT INTO correlation_node (kind, value)
  SELECT 'order', %(prefix)s || lpad(g::text, 7, '0') FROM generate_series(%(lo)s, %(hi)s) AS g
  RETURNING id, value
), draws AS MATERIALIZED (
  SELECT id, value, random() AS r_status, random() AS r_reason, random() AS r_age, random() AS r_currency,
         random() AS r_customer, random() AS r_amount, random() AS r_release, random() AS r_outcome,
         random() AS r_posted
  FROM nodes
), shaped AS (
  SELECT id, value, r_outcome, r_posted,
    CASE WHEN r_status < 0.8 THEN 'held' ELSE 'released' END AS status,
    CASE WHEN r_reason < 0.6 THEN 'awaiting_pod' WHEN r_reason < 0.75 THEN 'delivery_failed'
         WHEN r_reason < 0.9 THEN 'quantity_mismatch' ELSE 'disputed' END AS reason,
    %(at)s::timestamptz - r_age * interval '60 days' AS held_since,
    r_release,
    CASE WHEN r_currency < 0.8 THEN 'EUR' WHEN r_currency < 0.92 THEN 'GBP' ELSE 'USD' END AS currency,
    'Bench Customer ' || lpad(floor(r_customer * r_customer * 300)::int::text, 3, '0') AS customer,
    round((10 + r_amount * 4990)::numeric, 2) AS amount
  FROM draws
), timed AS (
  SELECT *, CASE WHEN status = 'released' THEN held_since + r_release * (%(at)s::timestamptz - held_since) END
    AS released_at
  FROM shaped
), holds AS (
  INSERT INTO finance_invoicehold (invoice, order_id, order_key, customer, status, reason, release_hint, manual,
    amount, currency, held_since, posted_while_held_at, released_at, outcome, release_note, created_at, updated_at)
  SELECT 'INV-' || value, id, value, customer, status, reason, CASE reason
      WHEN 'awaiting_pod' THEN 'POD of ' || value || '-S1 missing; 0 of 1 shipments delivered'
      WHEN 'delivery_failed' THEN 'delivery of ' || value || '-S1 failed (REFUSED); a proof of delivery releases it'
      WHEN 'quantity_mismatch' THEN 'SKU-042: ordered 12, delivered 10; a corrected POD or order change releases it'
      ELSE 'disputed by hand: only a person releases it' END, reason = 'disputed', amount, currency,
    held_since, CASE WHEN r_posted < 0.03 THEN least(held_since + interval '1 day', %(at)s::timestamptz) END,
    released_at,
    CASE WHEN status = 'held' THEN '' WHEN reason = 'disputed' THEN 'manual'
         WHEN r_outcome < 0.9 THEN 'cleared' ELSE 'cancelled' END,
    CASE WHEN status = 'released' AND reason = 'disputed' THEN 'bench: credit note agreed' ELSE '' END,
    held_since, coalesce(released_at, held_since)
  FROM timed
  RETURNING id, status, held_since, released_at
)
INSERT INTO finance_holdactivity (hold_id, action, detail, at)
SELECT id, 'placed', '{"bench": true}'::jsonb, held_since FROM holds
UNION ALL
SELECT id, 'released', '{"bench": true}'::jsonb, released_at FROM holds WHERE status = 'released'
"""


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--holds", type=int, default=50_000, help="invoice holds to seed (one order each)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind")
    parser.add_argument("--no-http", action="store_true", help="skip the timing over HTTP (uvicorn)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded holds, orders and the user")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


# --- seed and clean ----------------------------------------------------------------------------
def seed(holds: int, advance: Callable[[int], None]) -> dict[str, Any]:
    """`holds` holds on as many new orders, in set-based chunks; then the planner's statistics."""
    at = now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")  # the same mix on every run
        for lo in range(1, holds + 1, CHUNK):
            hi = min(lo + CHUNK - 1, holds)
            with transaction.atomic():
                cursor.execute(SEED_SQL, {"prefix": PREFIX, "lo": lo, "hi": hi, "at": at})
            advance(hi - lo + 1)
        tables = "finance_invoicehold, finance_holdactivity, correlation_node"
        # VACUUM too when it can run (not inside a transaction, as under a test): a loaded table
        # is all-visible once autovacuum has passed, and the counts are index-only scans then.
        cursor.execute(f"ANALYZE {tables}" if connection.in_atomic_block else f"VACUUM (ANALYZE) {tables}")
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'held') FROM finance_invoicehold WHERE order_key LIKE %s",
            [f"{PREFIX}%"],
        )
        seeded, held = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM finance_invoicehold")
        (total,) = cursor.fetchone()
    return {"seeded": seeded, "held": held, "in_table": total}


def clean() -> int:
    """Delete the bench's holds (with their activity), orders, user, token and its audit row."""
    pattern = f"{PREFIX}%"
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM finance_holdactivity WHERE hold_id IN "
            "(SELECT id FROM finance_invoicehold WHERE order_key LIKE %s)",
            [pattern],
        )
        cursor.execute("DELETE FROM finance_invoicehold WHERE order_key LIKE %s", [pattern])
        deleted = int(cursor.rowcount)
        cursor.execute("DELETE FROM correlation_node WHERE kind = 'order' AND value LIKE %s", [pattern])
    User.objects.filter(username=USERNAME).delete()  # its tokens with it
    AuditLog.objects.filter(action="api_token.created", target=f"user:{USERNAME}").delete()
    return deleted


def left_over() -> dict[str, int]:
    """What of the bench is still in the database (all zero after a clean)."""
    pattern = f"{PREFIX}%"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM finance_invoicehold WHERE order_key LIKE %s", [pattern])
        (holds,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM correlation_node WHERE kind = 'order' AND value LIKE %s", [pattern])
        (nodes,) = cursor.fetchone()
    return {"holds": holds, "orders": nodes, "users": User.objects.filter(username=USERNAME).count()}


def finance_user() -> tuple[User, str]:
    """The finance user who looks at the screen, and an API token of theirs."""
    user, _ = User.objects.get_or_create(username=USERNAME)
    user.groups.set([Group.objects.get(name="finance")])
    return user, api_token_create(user=user, name="bench holds")


# --- measure -----------------------------------------------------------------------------------
def _headers(call: Call, token: str) -> dict[str, str]:
    return {**call.headers, **({"Authorization": f"Token {token}"} if call.api else {})}


def measure_client(
    user: User, token: str, todo: list[Call], requests: int, advance: Callable[[int], None]
) -> tuple[dict[str, Latency], dict[str, dict[str, Any]]]:
    """In this process, through the test Client: the timings, and one request's queries each."""
    timings = {call.name: Latency(call.name, []) for call in todo}
    queries: dict[str, dict[str, Any]] = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        session, api = Client(), Client()
        session.force_login(user)

        def get(call: Call) -> float:
            client = api if call.api else session
            started = time.perf_counter()
            response = client.get(call.path, call.params, headers=_headers(call, token))
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{call.url}: HTTP {response.status_code}")
            return elapsed

        for call in todo:
            for _ in range(WARMUP):  # the pool, the template cache, the database's buffers
                get(call)
            with CaptureQueriesContext(connection) as captured:
                get(call)
            times = [float(q["time"]) * 1000 for q in captured.captured_queries]
            slowest = max(range(len(times)), key=times.__getitem__) if times else None
            queries[call.name] = {
                "queries": len(times),
                "sql_ms": round(sum(times), 2),
                "slowest_ms": round(times[slowest], 2) if slowest is not None else 0.0,
                "slowest_sql": captured.captured_queries[slowest]["sql"][:300] if slowest is not None else "",
            }
        for _ in range(requests):
            for call in todo:
                timings[call.name].samples_ms.append(get(call))
            advance(1)
        session.logout()
    return timings, queries


def measure_http(
    user: User, token: str, todo: list[Call], requests: int, advance: Callable[[int], None]
) -> dict[str, Latency]:
    """Over HTTP on uvicorn (the psycopg pool), with the user's session cookie or token."""
    import logging

    import httpx

    from .processes import Stack

    logging.getLogger("httpx").setLevel(logging.WARNING)
    login = Client()
    login.force_login(user)
    cookies = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value}
    timings = {call.name: Latency(call.name, []) for call in todo}
    with (
        Stack(
            queue=f"{USERNAME}-{int(time.time())}", workers=0, database_url=database_url(), redis_url=redis_url()
        ) as stack,
    ):
        stack.wait_ready()
        with httpx.Client(base_url=stack.base_url, timeout=30, follow_redirects=False) as http:

            def get(call: Call) -> float:
                started = time.perf_counter()
                response = http.get(
                    call.path,
                    params=call.params,
                    headers=_headers(call, token),
                    cookies=None if call.api else cookies,
                )
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{call.url} over HTTP: {response.status_code}")
                return elapsed

            for call in todo:
                for _ in range(WARMUP):
                    get(call)
            for _ in range(requests):
                for call in todo:
                    timings[call.name].samples_ms.append(get(call))
                advance(1)
    login.logout()
    return timings


def _stats(latency: Latency) -> dict[str, float]:
    row = latency.row()
    return {
        "p50_ms": row["p50_ms"],
        "p95_ms": row["p95_ms"],
        "max_ms": round(max(latency.samples_ms), 2),
        "n": row["n"],
    }


# --- the command -------------------------------------------------------------------------------
def run(opts: dict[str, Any], console: Console) -> dict[str, Any]:
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    clean()  # what an interrupted run left
    started = time.perf_counter()
    with Progress(TextColumn("seeding holds"), *columns, console=console) as progress:
        task = progress.add_task("seed", total=opts["holds"])
        store = seed(opts["holds"], lambda n: progress.advance(task, n))
    store["seconds"] = round(time.perf_counter() - started, 2)
    user, token = finance_user()
    todo = calls()
    try:
        with Progress(TextColumn("timing (test Client)"), *columns, console=console) as progress:
            task = progress.add_task("client", total=opts["requests"])
            client, queries = measure_client(user, token, todo, opts["requests"], lambda n: progress.advance(task, n))
        http: dict[str, Latency] = {}
        # Not inside a transaction (a test's): the server's connections would not see the rows.
        if redis_url() and not opts["no_http"] and not connection.in_atomic_block:
            with Progress(TextColumn("timing over HTTP"), *columns, console=console) as progress:
                task = progress.add_task("http", total=opts["requests"])
                http = measure_http(user, token, todo, opts["requests"], lambda n: progress.advance(task, n))
    finally:
        if not opts["keep"]:
            clean()
    bar_on = "http" if http else "client"
    rows: dict[str, dict[str, Any]] = {}
    for call in todo:
        rows[call.name] = {"url": call.url, "client": _stats(client[call.name]), **queries[call.name]}
        if http:
            rows[call.name]["http"] = _stats(http[call.name])
    return {
        "store": store,
        "requests": rows,
        "bar_p95_ms": BAR_P95_MS,
        "bar_on": bar_on,
        "meets_bar": all(row[bar_on]["p95_ms"] <= BAR_P95_MS for row in rows.values()),
        "kept": bool(opts["keep"]),
        "left_over": left_over(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "database": database_label(),
        "at": now().isoformat(timespec="seconds"),
    }


def command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    if connection.vendor != "postgresql":
        raise CommandError(f"bench holds seeds set-based: the database is {connection.vendor}, not PostgreSQL")
    behind = unapplied_migrations()
    if behind:
        raise CommandError(f"{len(behind)} unapplied migrations, e.g. {behind[0]}: run manage.py migrate first")
    if opts["holds"] < 1 or opts["requests"] < 1:
        raise CommandError("--holds and --requests must be at least 1")
    result = run(opts, Console(stderr=True))
    if opts["json"]:
        write(orjson.dumps(result).decode())
        return
    store = result["store"]
    table = Table(
        title=f"finance holds: {store['seeded']:,} seeded ({store['held']:,} held), {store['in_table']:,} in the "
        f"table; {opts['requests']} requests each, {result['cpus']} CPUs"
    )
    parts = ["client", *(["http"] if result["bar_on"] == "http" else [])]
    table.add_column("request")
    for part in parts:
        table.add_column(f"{part} p50 / p95 / max ms", justify="right")
    table.add_column("queries (ms), one request", justify="right")
    for name, row in result["requests"].items():
        cells = [f"{row[p]['p50_ms']} / {row[p]['p95_ms']} / {row[p]['max_ms']}" for p in parts]
        table.add_row(f"{name}\n[dim]{row['url']}[/dim]", *cells, f"{row['queries']} ({row['sql_ms']})")
    rendered = Console(file=io.StringIO(), width=150)
    rendered.print(table)
    write(rendered.file.getvalue())  # type: ignore[attr-defined]
    verdict = "meets" if result["meets_bar"] else "MISSES"
    write(f"bar: p95 <= {BAR_P95_MS:.0f} ms on every request ({result['bar_on']}): {verdict}")
    write(f"seeded in {store['seconds']} s; {'kept' if result['kept'] else 'cleaned up'}: {result['left_over']}")
