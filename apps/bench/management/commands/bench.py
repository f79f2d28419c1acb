"""`manage.py bench ingest --events N`: end-to-end ingest throughput on the real services.

Starts uvicorn and `--workers` Celery workers as subprocesses (same DATABASE_URL and REDIS_URL,
a queue of their own), posts a simulated stream over HTTP as fast as it goes, and times from
the first POST to the moment the last message is processed. Then, in the same run, the floors
it is compared with (design/floors.md): the validator on the same bodies and a raw COPY of the
same rows. docs/benchmarks.md has the recorded numbers and how to read them."""

import gc
import io
import logging
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, connection
from django.db.models import ProtectedError
from django.utils import timezone
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from apps.bench.ingest import (
    BAR_EVENTS_PER_SECOND,
    FEED_PREFIX,
    GOAL_RATIO_TO_COPY,
    NEEDED_ENV,
    CopyResult,
    Outcome,
    Stream,
    ValidatorResult,
    bench_data_delete,
    bench_feeds_unthrottle,
    bodies,
    copy_rate,
    database_label,
    database_url,
    jsonschema_rate,
    outcome,
    progress_snapshot,
    real_services_problems,
    redis_url,
    stream_make,
    unapplied_migrations,
    unique_prefix,
    validator_rate,
)
from apps.bench.processes import Stack, StackError
from apps.feeds.models import Feed
from apps.feeds.services import FeedCredentials
from apps.simulator.client import NO_RESPONSE, SendReport, post_batches
from apps.simulator.services import simulation_feeds_ensure
from apps.simulator.world import generate_world


@dataclass
class _Timed:
    report: SendReport = field(default_factory=SendReport)
    result: Outcome = field(default_factory=Outcome)
    e2e_s: float = 0.0
    drain_events: int = 0  # events still unprocessed when the last POST was answered
    drain_s: float = 0.0  # from then to the last processed


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "- ev/s", style="progress.data.speed")


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else 0.0


class Command(BaseCommand):
    help = "Benchmarks on the real services (PostgreSQL, Redis, uvicorn, Celery). See docs/benchmarks.md."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="target", required=True, metavar="{ingest,lookup,sweep,queue,live}")
        from apps.bench import live

        live.add_arguments(sub.add_parser("live", help="event POST → websocket message latency under background load"))
        queue = sub.add_parser("queue", help="the exception queue's first page over many open cases (COPY-filled)")
        queue.add_argument("--open", type=int, default=100_000, help="unresolved cases to have in the store")
        queue.add_argument("--resolved", type=int, default=100_000, help="resolved cases to have (history)")
        queue.add_argument("--samples", type=int, default=100, help="requests of each scenario")
        queue.add_argument("--clean", action="store_true", help="delete the bench's cases, orders and users, then stop")
        queue.add_argument("--no-http", action="store_true", help="skip the timing over HTTP (uvicorn)")
        queue.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")
        sweep = sub.add_parser("sweep", help="the SLA sweep over many open expectations (COPY-filled, synthetic)")
        sweep.add_argument("--expectations", type=int, default=1_000_000, help="pending expectations to fill")
        sweep.add_argument("--policies", type=int, default=4, help="policies they are spread over")
        sweep.add_argument("--overdue", type=float, default=0.07, help="share already past due (breached by the sweep)")
        sweep.add_argument(
            "--layout", choices=["arrival", "random"], default="arrival", help="rows in clock-start order, or shuffled"
        )
        sweep.add_argument("--workers", type=int, default=2, help="sweep threads (the beat task runs 2)")
        sweep.add_argument("--keep", action="store_true", help="keep the run's rows")
        sweep.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")
        lookup = sub.add_parser("lookup", help="p50/p95/p99 of the search, order and timeline API over a large store")
        lookup.add_argument("--events", type=int, default=1_000_000, help="fill the store up to this many events")
        lookup.add_argument(
            "--minutes", type=float, default=30.0, help="stop filling after this long (then measure what is there)"
        )
        lookup.add_argument("--samples", type=int, default=400, help="calls of each endpoint")
        lookup.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")
        ingest = sub.add_parser(
            "ingest",
            help="end-to-end ingest throughput (HTTP → worker → store), with the validator and COPY floors",
        )
        ingest.add_argument("--events", type=int, required=True, help="events to send (about)")
        ingest.add_argument("--batch-size", type=int, default=500, help="events per window (1-1000)")
        ingest.add_argument("--concurrency", type=int, default=4, help="POSTs in flight")
        ingest.add_argument("--workers", type=int, default=1, help="Celery worker processes")
        ingest.add_argument(
            "--pool", choices=["prefork", "solo"], default="prefork", help="each worker's pool (concurrency 1)"
        )
        ingest.add_argument("--web-workers", type=int, default=1, help="uvicorn worker processes")
        ingest.add_argument("--seed", type=int, default=1)
        ingest.add_argument("--duplicate-rate", type=float, default=0.03)
        ingest.add_argument("--bad-rate", type=float, default=0.002)
        ingest.add_argument("--days", type=float, default=3.0, help="the simulated world spans N days")
        ingest.add_argument("--poll", type=float, default=0.05, help="seconds between progress queries")
        ingest.add_argument(
            "--timeout", type=float, default=120.0, help="give up after this long without any progress (s)"
        )
        ingest.add_argument("--jsonschema-sample", type=int, default=2000, help="events validated with jsonschema")
        ingest.add_argument(
            "--store-only",
            action="store_true",
            help="workers without the stages after the store (correlation…), to split the time",
        )
        ingest.add_argument(
            "--server-settings",
            default="controltower.settings.base",
            help="DJANGO_SETTINGS_MODULE of the server and the workers (to try a settings change)",
        )
        ingest.add_argument("--keep", action="store_true", help="keep the run's events and messages")
        ingest.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["target"] == "ingest":
            self._ingest(opts)
        elif opts["target"] == "lookup":
            self._lookup(opts)
        elif opts["target"] == "queue":
            self._queue(opts)
        elif opts["target"] == "sweep":
            self._sweep(opts)
        elif opts["target"] == "live":
            from apps.bench import live

            live.command(opts, self.stdout.write)

    # --- bench sweep ----------------------------------------------------------------------
    def _sweep(self, opts: dict[str, Any]) -> None:
        from apps.bench import sweep

        if connection.vendor != "postgresql":
            raise CommandError(f"bench sweep fills with COPY: the database is {connection.vendor}, not PostgreSQL")
        behind = unapplied_migrations()
        if behind:
            raise CommandError(f"{len(behind)} unapplied migrations, e.g. {behind[0]}: run manage.py migrate first")
        console = Console(stderr=True)
        with Progress(
            TextColumn("filling expectations"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("fill", total=opts["expectations"])
            filled = sweep.fill(
                expectations=opts["expectations"],
                policies=opts["policies"],
                overdue_share=opts["overdue"],
                at=timezone.now(),
                layout=opts["layout"],
                advance=lambda n: progress.advance(task, n),
            )
        result = sweep.measure(filled, keep=opts["keep"], workers=opts["workers"])
        if opts["json"]:
            self.stdout.write(orjson.dumps({**result.as_dict(), "database": database_label()}).decode())
            return
        for line in sweep.report_lines(result):
            self.stdout.write(line)

    # --- bench queue ----------------------------------------------------------------------
    def _queue(self, opts: dict[str, Any]) -> None:
        from apps.bench import queue

        if connection.vendor != "postgresql":
            raise CommandError(f"bench queue fills with COPY: the database is {connection.vendor}, not PostgreSQL")
        behind = unapplied_migrations()
        if behind:
            raise CommandError(f"{len(behind)} unapplied migrations, e.g. {behind[0]}: run manage.py migrate first")
        if opts["clean"]:
            self.stdout.write(f"Deleted {queue.clean():,} rows of the bench's cases")
            return
        console = Console(stderr=True)
        with Progress(
            TextColumn("filling cases"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            have_open, have_resolved = queue.stored()
            task = progress.add_task(
                "fill",
                total=opts["open"] + opts["resolved"],
                completed=min(have_open, opts["open"]) + min(have_resolved, opts["resolved"]),
            )
            filled = queue.fill(
                open_cases=opts["open"], resolved_cases=opts["resolved"], advance=lambda n: progress.advance(task, n)
            )
        with Progress(
            TextColumn("timing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("time", total=opts["samples"] * len(queue.SCENARIOS))
            timings = queue.measure(samples=opts["samples"], advance=lambda n: progress.advance(task, n))
        if redis_url() and not opts["no_http"]:
            with Progress(
                TextColumn("timing over HTTP"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            ) as progress:
                task = progress.add_task("http", total=opts["samples"] * len(queue.SCENARIOS))
                queue.measure_http(
                    timings,
                    samples=opts["samples"],
                    database_url=database_url(),
                    redis_url=redis_url(),
                    advance=lambda n: progress.advance(task, n),
                )
        result = queue.result(filled, timings, queue.plans())
        result["database"] = database_label()
        result["at"] = timezone.now().isoformat(timespec="seconds")
        if opts["json"]:
            self.stdout.write(orjson.dumps(result).decode())
            return
        store = result["store"]
        table = Table(
            title=f"/exceptions/ over {store['open_cases']:,} open and {store['resolved_cases']:,} resolved cases, "
            f"{store['orders']:,} orders ({opts['samples']} requests each)"
        )
        parts = [p for p in queue.PARTS if f"{p}_p50_ms" in next(iter(result["scenarios"].values()))]
        table.add_column("view")
        table.add_column("cases", justify="right")
        for part in parts:
            table.add_column(f"{part.replace('_', ' ')} p50 / p95 ms", justify="right")
        for name, row in result["scenarios"].items():
            cells = [f"{row[f'{part}_p50_ms']} / {row[f'{part}_p95_ms']}" for part in parts]
            table.add_row(name, f"{row['total']:,}", *cells)
        rendered = Console(file=io.StringIO(), width=170)
        rendered.print(table)
        self.stdout.write(rendered.file.getvalue())  # type: ignore[attr-defined]
        for name, plan in result["plans"].items():
            self.stdout.write(f"plan of the default view's {name} query:\n{plan}\n")
        verdict = "meets" if result["meets_bar"] else "MISSES"
        self.stdout.write(
            f"bar: the default view's {' and '.join(result['bar_on'])} p95 <= {result['bar_p95_ms']} ms: {verdict} "
            f"(load average {result['load_average']})"
        )

    # --- bench lookup ---------------------------------------------------------------------
    def _lookup(self, opts: dict[str, Any]) -> None:
        from apps.bench.lookup import run

        problems = real_services_problems(vendor=connection.vendor, redis_url=redis_url())
        if problems:
            raise CommandError("bench lookup measures the real services: " + "; ".join(problems))
        console = Console(stderr=True)
        result = run(events=opts["events"], populate_minutes=opts["minutes"], samples=opts["samples"], console=console)
        result["database"] = database_label()
        result["at"] = timezone.now().isoformat(timespec="seconds")
        if opts["json"]:
            self.stdout.write(orjson.dumps(result).decode())
            return
        table = Table(title=f"lookup API over {result['events_stored']:,} events, {result['orders']:,} orders")
        for column in ("call", "p50 ms", "p95 ms", "p99 ms", "mean ms", "n"):
            table.add_column(column, justify="right" if column != "call" else "left")
        for name, row in result["calls"].items():
            table.add_row(name, *(str(row[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "n")))
        rendered = Console(file=io.StringIO(), width=100)
        rendered.print(table)
        self.stdout.write(rendered.file.getvalue())  # type: ignore[attr-defined]
        verdict = "meets" if result["meets_bar"] else "MISSES"
        self.stdout.write(f"bar: p95 <= {result['bar_p95_ms']} ms on every call: {verdict}")

    # --- bench ingest ---------------------------------------------------------------------
    def _ingest(self, opts: dict[str, Any]) -> None:
        problems = real_services_problems(vendor=connection.vendor, redis_url=redis_url())
        if problems:
            raise CommandError(
                "bench ingest measures the real services: "
                + "; ".join(problems)
                + f". Set {NEEDED_ENV} (create and migrate that database first), then run "
                "`python manage.py bench ingest --events 20000`."
            )
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"{database_label()} is behind the code ({len(pending)} unapplied migrations, e.g. {pending[0]}): "
                "run `python manage.py migrate` on it first."
            )
        if opts["events"] < 1 or not 1 <= opts["batch_size"] <= 1000:
            raise CommandError("--events must be >= 1 and --batch-size 1..1000")
        if min(opts["concurrency"], opts["workers"], opts["web_workers"]) < 1:
            raise CommandError("--concurrency, --workers and --web-workers must be >= 1")
        logging.getLogger("httpx").setLevel(logging.WARNING)
        out = sys.stderr if opts["json"] else getattr(self.stdout, "_out", sys.stdout)
        console = Console(file=out, highlight=False, soft_wrap=True)
        if not console.is_terminal:
            console.width = 120  # logs and docs/benchmarks.md: no wrapping at 80
        started_at = timezone.now()
        load_before = os.getloadavg()  # other work on the machine skews every figure: recorded
        code = _code_version()  # at the start: the workers import the code as it is now
        from apps.bench.maintenance import statistics_refresh

        console.print(statistics_refresh())

        prefix = unique_prefix()
        t = time.perf_counter()
        stream = stream_make(
            events=opts["events"],
            prefix=prefix,
            seed=opts["seed"],
            duplicate_rate=opts["duplicate_rate"],
            bad_rate=opts["bad_rate"],
            days=opts["days"],
        )
        console.print(
            f"[bold]Stream[/bold] prefix={prefix}: {len(stream.events):,} events from {stream.orders:,} "
            f"orders ({stream.unique:,} distinct, {stream.duplicates:,} duplicates, {stream.bad:,} bad); "
            f"per system {stream.by_system}; generated in {time.perf_counter() - t:.1f} s"
        )
        posted = bodies(stream.events, opts["batch_size"])
        # The stream is a large live heap a worker does not have: keep the collector off it.
        gc.collect()
        gc.freeze()
        validator = validator_rate(posted)
        jsonschema_rate(validator, [sim.event for sim in stream.events[: opts["jsonschema_sample"]]])
        console.print(
            f"[bold]Validator[/bold] msgspec {validator.events_per_second:,.0f} events/s "
            f"({validator.fallback_bodies} of {validator.bodies} bodies item by item); jsonschema "
            f"{validator.jsonschema_events_per_second:,.0f} events/s on {validator.jsonschema_events:,}"
            f"{' ' + validator.jsonschema_note if validator.jsonschema_note else ''}"
        )

        creds = simulation_feeds_ensure(prefix=FEED_PREFIX)
        feed_of = dict(Feed.objects.filter(slug__in=[c.slug for c in creds.values()]).values_list("slug", "pk"))
        feed_ids = list(feed_of.values())
        bench_feeds_unthrottle(feed_ids)
        queue = f"ct-bench-{prefix.lower()}"
        timed: _Timed | None = None
        try:
            with Stack(
                queue=queue,
                workers=opts["workers"],
                pool=opts["pool"],
                web_workers=opts["web_workers"],
                database_url=database_url(),
                redis_url=redis_url(),
                store_only=opts["store_only"],
                settings_module=opts["server_settings"],
            ) as stack:
                console.print(
                    f"[bold]Processes[/bold] uvicorn ({opts['web_workers']}) on {stack.base_url}, "
                    f"{opts['workers']} Celery worker(s) ({opts['pool']}, concurrency 1) on queue {queue}; "
                    f"database {database_label()}"
                )
                stack.wait_ready()
                self._warm_up(stack, creds, feed_ids, opts, prefix)
                timed = self._timed(console, stack, creds, feed_ids, stream, opts)
        except StackError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if not opts["keep"]:
                self._clean_up(console, feed_ids)

        groups = [(feed_of[creds[system].slug], system, events) for system, events in validator.valid.items()]
        copy = copy_rate(groups)
        copy_logged = copy_rate(groups, logged=True)
        gc.unfreeze()
        summary = self._numbers(opts, stream, validator, timed or _Timed(), copy, copy_logged, started_at)
        summary["machine"]["code"] = code
        summary["machine"]["load_average_before"] = [round(x, 2) for x in load_before]
        summary["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        self._print_summary(console, summary)
        if opts["json"]:
            self.stdout.write(orjson.dumps(summary).decode())
        if not summary["check"]["ok"]:
            raise CommandError("the stored counts do not match the stream: see the check above")

    def _clean_up(self, console: Console, feed_ids: list[int]) -> None:
        try:
            deleted = bench_data_delete(feed_ids)
        except (IntegrityError, ProtectedError) as exc:  # another app's rows point at the events
            console.print(
                f"[yellow]Could not delete the {FEED_PREFIX}-* feeds' events and messages[/yellow] "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); they stay in "
                f"{database_label()}, a scratch database: drop and re-create it."
            )
            return
        console.print(f"Cleaned up: {deleted:,} messages of the {FEED_PREFIX}-* feeds and their events")

    def _warm_up(
        self,
        stack: Stack,
        creds: dict[str, FeedCredentials],
        feed_ids: list[int],
        opts: dict[str, Any],
        prefix: str,
    ) -> None:
        """A few small messages through server and workers (imports, connections, the staging
        table), so that the timed run measures the steady state, not the start-up."""
        since = timezone.now()
        world = generate_world(orders=5, seed=opts["seed"] + 1000, start=since, id_prefix=prefix + "W")
        warm = post_batches(stack.base_url, creds, world[:40], batch_size=5, concurrency=2)
        deadline = time.monotonic() + 60
        while progress_snapshot(feed_ids, since).finished < len(warm.messages):
            stack.check_alive()
            if time.monotonic() > deadline:
                raise StackError(f"the warm-up messages were not processed in 60 s (logs: {stack.logs_hint()})")
            time.sleep(0.05)

    def _timed(
        self,
        console: Console,
        stack: Stack,
        creds: dict[str, FeedCredentials],
        feed_ids: list[int],
        stream: Stream,
        opts: dict[str, Any],
    ) -> "_Timed":
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
        )
        total = len(stream.events)
        holder: dict[str, Any] = {}
        with Progress(*columns, console=console) as bar:
            posting = bar.add_task("posting   ", total=total)
            processing = bar.add_task("processing", total=total)

            def post() -> None:
                try:
                    holder["report"] = post_batches(
                        stack.base_url,
                        creds,
                        stream.events,
                        batch_size=opts["batch_size"],
                        rate=None,
                        concurrency=opts["concurrency"],
                        progress=lambda n: bar.advance(posting, n),
                    )
                except BaseException as exc:  # re-raised in the main thread
                    holder["error"] = exc

            since = timezone.now()  # the server stamps received_at with the same clock
            clock = time.perf_counter()
            thread = threading.Thread(target=post, name="bench-post", daemon=True)
            thread.start()
            progress_at, seen = time.monotonic(), (-1, -1)
            posted_at: tuple[float, int] | None = None  # when posting ended, events processed by then
            while True:
                snap = progress_snapshot(feed_ids, since)
                bar.update(processing, completed=snap.finished_events)
                posted = int(bar.tasks[posting].completed)
                if (snap.finished, posted) != seen:
                    seen, progress_at = (snap.finished, posted), time.monotonic()
                if not thread.is_alive():
                    if "error" in holder:
                        raise holder["error"]
                    report: SendReport = holder["report"]
                    if posted_at is None:
                        posted_at = (time.perf_counter() - clock, snap.finished_events)
                    if snap.finished >= len(report.messages) and snap.finished == snap.messages:
                        break
                stack.check_alive()
                if time.monotonic() - progress_at > opts["timeout"]:
                    stack.failed = True
                    raise CommandError(
                        f"no progress for {opts['timeout']:.0f} s ({snap.finished} of {snap.messages} "
                        f"messages processed); process logs kept in {stack.logs_hint()}"
                    )
                time.sleep(opts["poll"])
            detected_s = time.perf_counter() - clock
        result = outcome(report.messages)
        e2e_s = detected_s
        if result.last_processed_at is not None:  # the worker's own stamp, not our poll
            e2e_s = min(detected_s, max(0.001, (result.last_processed_at - since).total_seconds()))
        assert posted_at is not None
        drain_s = max(0.0, e2e_s - posted_at[0])
        return _Timed(report, result, e2e_s, report.events_sent - posted_at[1], drain_s)

    # --- the numbers ----------------------------------------------------------------------
    def _numbers(
        self,
        opts: dict[str, Any],
        stream: Stream,
        validator: ValidatorResult,
        timed: _Timed,
        copy: CopyResult,
        copy_logged: CopyResult,
        started_at: datetime,
    ) -> dict[str, Any]:
        report, result, e2e_s = timed.report, timed.result, timed.e2e_s
        sent = report.events_sent
        e2e = _rate(sent, e2e_s)
        one_process_s = validator.seconds + copy.prepare_seconds + copy.seconds
        check = {
            "stored": result.stored,
            "expected_stored": stream.unique,
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "expected_duplicates": stream.duplicates,
            "rejected": result.rejected,
            "expected_rejected": stream.bad,
            "failed_messages": result.failed_messages,
            "events_given_up": report.events_failed,
            "http_errors": {("no response" if k == NO_RESPONSE else str(k)): v for k, v in report.http_errors.items()},
            "failure_errors": result.errors,
        }
        check["ok"] = (
            result.stored == result.accepted == stream.unique
            and result.duplicates == stream.duplicates
            and result.rejected == stream.bad
            and result.failed_messages == 0
            and report.events_failed == 0
        )
        copy_rate_ = copy.events_per_second
        return {
            "benchmark": "ingest",
            "date": started_at.isoformat(timespec="seconds"),
            "command": (
                f"python manage.py bench ingest --events {opts['events']} --batch-size {opts['batch_size']} "
                f"--concurrency {opts['concurrency']} --workers {opts['workers']} --pool {opts['pool']}"
                + (" --store-only" if opts["store_only"] else "")
                + (
                    f" --server-settings {opts['server_settings']}"
                    if opts["server_settings"] != "controltower.settings.base"
                    else ""
                )
            ),
            "setup": {
                "events": opts["events"],
                "batch_size": opts["batch_size"],
                "concurrency": opts["concurrency"],
                "workers": opts["workers"],
                "pool": opts["pool"],
                "web_workers": opts["web_workers"],
                "store_only": opts["store_only"],
                "server_settings": opts["server_settings"],
                "seed": opts["seed"],
                "duplicate_rate": opts["duplicate_rate"],
                "bad_rate": opts["bad_rate"],
            },
            "machine": _machine(),
            "stream": {
                "events": len(stream.events),
                "orders": stream.orders,
                "distinct": stream.unique,
                "duplicates": stream.duplicates,
                "bad": stream.bad,
                "by_system": stream.by_system,
                "messages": len(report.messages),
                "mean_events_per_message": round(_rate(sent, len(report.messages)), 1),
            },
            "end_to_end": {"events": sent, "seconds": round(e2e_s, 3), "events_per_second": round(e2e)},
            # After the last POST: the worker(s) alone on the backlog (the machine no longer shared
            # with the server and the client). Meaningless when there was no backlog.
            "drain_after_posting": {
                "events": timed.drain_events,
                "seconds": round(timed.drain_s, 3),
                "events_per_second": round(_rate(timed.drain_events, timed.drain_s)),
            },
            "posting": {
                "events": sent,
                "seconds": round(report.elapsed_s, 3),
                "events_per_second": round(report.events_per_second),
            },
            "check": check,
            "validator": {
                "msgspec_events_per_second": round(validator.events_per_second),
                "msgspec_events": validator.events,
                "bodies": validator.bodies,
                "bodies_item_by_item": validator.fallback_bodies,
                "jsonschema_events_per_second": round(validator.jsonschema_events_per_second),
                "jsonschema_sample": validator.jsonschema_events,
                "note": validator.jsonschema_note,
            },
            "copy": {
                "events": copy.events,
                "refs": copy.refs,
                "seconds": round(copy.seconds, 3),
                "events_per_second": round(copy_rate_),
                "prepare_seconds": round(copy.prepare_seconds, 3),
            },
            # The same COPY into ordinary (WAL-logged) tables, as the real tables are written.
            "copy_logged": {
                "events": copy_logged.events,
                "refs": copy_logged.refs,
                "seconds": round(copy_logged.seconds, 3),
                "events_per_second": round(copy_logged.events_per_second),
            },
            "one_process_validate_rows_copy_events_per_second": round(_rate(copy.events, one_process_s)),
            "ratio_end_to_end_to_copy": round(e2e / copy_rate_, 4) if copy_rate_ else None,
            "ratio_end_to_end_to_copy_logged": (
                round(e2e / copy_logged.events_per_second, 4) if copy_logged.events_per_second else None
            ),
            "goal": {
                "ratio_to_copy": round(GOAL_RATIO_TO_COPY, 4),
                "events_per_second_at_goal_ratio": round(copy_rate_ * GOAL_RATIO_TO_COPY),
                "bar_events_per_second": BAR_EVENTS_PER_SECOND,
                "meets_bar": e2e >= BAR_EVENTS_PER_SECOND,
                "meets_goal_ratio": bool(copy_rate_) and e2e / copy_rate_ >= GOAL_RATIO_TO_COPY,
            },
        }

    def _print_summary(self, console: Console, n: dict[str, Any]) -> None:
        s, e2e, post, check = n["stream"], n["end_to_end"], n["posting"], n["check"]
        v, copy, goal = n["validator"], n["copy"], n["goal"]
        setup = n["setup"]
        ratio = n["ratio_end_to_end_to_copy"]
        table = Table(title="bench ingest", show_header=False, box=None, padding=(0, 2), title_justify="left")
        table.add_row(
            "setup",
            f"{setup['workers']} worker(s) {setup['pool']}, uvicorn x{setup['web_workers']}, "
            f"concurrency {setup['concurrency']}, batch size {setup['batch_size']}; "
            f"{n['machine']['cpus']} CPUs, Python {n['machine']['python']}, code {n['machine']['code']}; "
            "load average (1 min) "
            f"{n['machine']['load_average_before'][0]} before, {n['machine']['load_average_after'][0]} after",
        )
        table.add_row(
            "stream",
            f"{s['events']:,} events ({s['distinct']:,} distinct, {s['duplicates']:,} duplicates, "
            f"{s['bad']:,} bad) in {s['messages']:,} messages ({s['mean_events_per_message']} events/message)",
        )
        table.add_row(
            "END TO END",
            f"[bold]{e2e['events_per_second']:,} events/s[/bold] ({e2e['events']:,} events, first POST → "
            f"last processed in {e2e['seconds']:.2f} s); bar {goal['bar_events_per_second']:,.0f}: "
            + ("[green]met[/green]" if goal["meets_bar"] else "[red]not met[/red]"),
        )
        drain = n["drain_after_posting"]
        table.add_row(
            "drain",
            f"{drain['events_per_second']:,} events/s (the workers alone after the last POST: "
            f"{drain['events']:,} events in {drain['seconds']:.2f} s)",
        )
        table.add_row("posting only", f"{post['events_per_second']:,} events/s ({post['seconds']:.2f} s)")
        table.add_row(
            "check",
            f"stored {check['stored']:,} (expected {check['expected_stored']:,}), duplicates "
            f"{check['duplicates']:,} (expected {check['expected_duplicates']:,}), rejected "
            f"{check['rejected']:,} (expected {check['expected_rejected']:,}), failed messages "
            f"{check['failed_messages']}, HTTP errors {check['http_errors'] or 'none'}: "
            + ("[green]ok[/green]" if check["ok"] else "[red]MISMATCH[/red]"),
        )
        for error, count in sorted(check["failure_errors"].items(), key=lambda item: -item[1])[:3]:
            table.add_row("[red]failed[/red]", f"{count} message(s): {error}")
        table.add_row(
            "validator",
            f"msgspec {v['msgspec_events_per_second']:,} events/s ({v['bodies_item_by_item']} of "
            f"{v['bodies']} bodies item by item); jsonschema {v['jsonschema_events_per_second']:,} "
            f"events/s on {v['jsonschema_sample']:,} {v['note']}".rstrip(),
        )
        table.add_row(
            "COPY floor",
            f"{copy['events_per_second']:,} events/s ({copy['events']:,} events + {copy['refs']:,} refs "
            f"in {copy['seconds']:.2f} s, TEMP tables); into logged tables "
            f"{n['copy_logged']['events_per_second']:,} events/s",
        )
        table.add_row(
            "one process",
            f"{n['one_process_validate_rows_copy_events_per_second']:,} events/s (validate + rows + COPY)",
        )
        table.add_row(
            "ratio",
            (f"end to end / COPY = {ratio:.3f} (1/{1 / ratio:.1f})" if ratio else "-")
            + (f", to logged COPY 1/{1 / logged:.1f}" if (logged := n["ratio_end_to_end_to_copy_logged"]) else "")
            + f"; goal 1/7 = {goal['events_per_second_at_goal_ratio']:,} events/s: "
            + ("[green]met[/green]" if goal["meets_goal_ratio"] else "[red]not met[/red]"),
        )
        console.print(table)


def _code_version() -> str:
    """The commit measured, `+dirty` when apps/ or controltower/ have uncommitted changes."""
    try:
        git = ["git", "-C", str(settings.BASE_DIR)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)  # noqa: S603
        dirty = subprocess.run(  # noqa: S603
            [*git, "status", "--porcelain", "--", "apps", "controltower"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _machine() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    postgres = str(row[0]) if row else "?"
    try:
        import redis

        info: Any = redis.Redis.from_url(redis_url()).info("server")
        redis_version = str(info.get("redis_version", "?"))
    except Exception:
        redis_version = "?"
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": postgres,
        "redis": redis_version,
        "platform": platform.platform(terse=True),
    }
