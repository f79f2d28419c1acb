"""`manage.py bench ingest --events N`: end-to-end ingest throughput on the real services.

Starts uvicorn and `--workers` Celery workers as subprocesses (same DATABASE_URL and REDIS_URL,
a queue of their own), posts a simulated stream over HTTP as fast as it goes, and times from
the first POST to the moment the last message is processed. Then, in the same run, the floors
it is compared with (design/floors.md): the validator on the same bodies and a raw COPY of the
same rows. docs/benchmarks.md has the recorded numbers and how to read them.

The pieces are in ingest.py, the floors in floors.py, the numbers and the printed summary in
ingest_report.py; this module is the subcommand's options and the run that strings them together."""

import gc
import logging
import os
import sys
import threading
import time
from argparse import ArgumentParser
from typing import Any

import orjson
from django.core.management.base import CommandError, OutputWrapper
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
from rich.text import Text

from apps.bench.floors import copy_rate, jsonschema_rate, validator_rate
from apps.bench.ingest import (
    FEED_PREFIX,
    NEEDED_ENV,
    Stream,
    bench_data_delete,
    bench_feeds_unthrottle,
    bodies,
    database_label,
    database_url,
    outcome,
    progress_snapshot,
    real_services_problems,
    redis_url,
    stream_make,
    unapplied_migrations,
    unique_prefix,
)
from apps.bench.ingest_report import Timed, code_version, numbers, print_summary
from apps.bench.processes import Stack, StackError
from apps.feeds.models import Feed
from apps.feeds.services import FeedCredentials
from apps.simulator.client import SendReport, post_batches
from apps.simulator.services import simulation_feeds_ensure
from apps.simulator.world import generate_world


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "- ev/s", style="progress.data.speed")


def add_arguments(parser: ArgumentParser) -> None:
    """The `bench ingest` subcommand's options (wired into the bench command)."""
    parser.add_argument("--events", type=int, required=True, help="events to send (about)")
    parser.add_argument("--batch-size", type=int, default=500, help="events per window (1-1000)")
    parser.add_argument("--concurrency", type=int, default=4, help="POSTs in flight")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument(
        "--pool", choices=["prefork", "solo"], default="prefork", help="each worker's pool (concurrency 1)"
    )
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duplicate-rate", type=float, default=0.03)
    parser.add_argument("--bad-rate", type=float, default=0.002)
    parser.add_argument("--days", type=float, default=3.0, help="the simulated world spans N days")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between progress queries")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after this long without any progress (s)")
    parser.add_argument("--jsonschema-sample", type=int, default=2000, help="events validated with jsonschema")
    parser.add_argument(
        "--store-only",
        action="store_true",
        help="workers without the stages after the store (correlation…), to split the time",
    )
    parser.add_argument(
        "--server-settings",
        default="controltower.settings.base",
        help="DJANGO_SETTINGS_MODULE of the server and the workers (to try a settings change)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's events and messages")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


def command(opts: dict[str, Any], stdout: OutputWrapper) -> None:
    """`manage.py bench ingest`: checks, the run with its progress, the summary (and JSON on `stdout`).

    It takes the command's `stdout` itself, not a `write`: the summary and the progress bars
    are printed by rich straight onto the stream underneath (stderr with --json)."""
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
    out = sys.stderr if opts["json"] else getattr(stdout, "_out", sys.stdout)
    console = Console(file=out, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120  # logs and docs/benchmarks.md: no wrapping at 80
    started_at = timezone.now()
    load_before = os.getloadavg()  # other work on the machine skews every figure: recorded
    code = code_version()  # at the start: the workers import the code as it is now
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
    timed: Timed | None = None
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
            _warm_up(stack, creds, feed_ids, opts, prefix)
            timed = _timed(console, stack, creds, feed_ids, stream, opts)
    except StackError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        if not opts["keep"]:
            _clean_up(console, feed_ids)

    groups = [(feed_of[creds[system].slug], system, events) for system, events in validator.valid.items()]
    copy = copy_rate(groups)
    copy_logged = copy_rate(groups, logged=True)
    gc.unfreeze()
    summary = numbers(opts, stream, validator, timed or Timed(), copy, copy_logged, started_at)
    summary["machine"]["code"] = code
    summary["machine"]["load_average_before"] = [round(x, 2) for x in load_before]
    summary["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print_summary(console, summary)
    if opts["json"]:
        stdout.write(orjson.dumps(summary).decode())
    if not summary["check"]["ok"]:
        raise CommandError("the stored counts do not match the stream: see the check above")


def _clean_up(console: Console, feed_ids: list[int]) -> None:
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
    console: Console,
    stack: Stack,
    creds: dict[str, FeedCredentials],
    feed_ids: list[int],
    stream: Stream,
    opts: dict[str, Any],
) -> Timed:
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
    )
    total = len(stream.events)
    holder: dict[str, Any] = {}
    from apps.bench.maintenance import analyzing_while

    with Progress(*columns, console=console) as bar, analyzing_while():
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
    return Timed(report, result, e2e_s, report.events_sent - posted_at[1], drain_s)
