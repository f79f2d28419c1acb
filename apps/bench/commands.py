"""The `manage.py bench` subcommands `sweep`, `queue` and `lookup`: each one's options and its
run (checks, progress bars on stderr, the report or one JSON object on `write`), wired into the
bench command as live_command.py's are. The measurements themselves are in sweep.py, queue.py and
lookup.py; these are apart so that queue.py stays under the module size limit."""

import io
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

import orjson
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.bench.ingest import (
    database_label,
    database_url,
    real_services_problems,
    redis_url,
    unapplied_migrations,
)


# --- bench sweep --------------------------------------------------------------------------
def sweep_arguments(parser: ArgumentParser) -> None:
    """The `bench sweep` subcommand's options."""
    parser.add_argument("--expectations", type=int, default=1_000_000, help="pending expectations to fill")
    parser.add_argument("--policies", type=int, default=4, help="policies they are spread over")
    parser.add_argument("--overdue", type=float, default=0.07, help="share already past due (breached by the sweep)")
    parser.add_argument(
        "--layout", choices=["arrival", "random"], default="arrival", help="rows in clock-start order, or shuffled"
    )
    parser.add_argument("--workers", type=int, default=2, help="sweep threads (the beat task runs 2)")
    parser.add_argument("--keep", action="store_true", help="keep the run's rows")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


def sweep_command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    """`manage.py bench sweep`: fill with COPY, time the sweep, the report (or JSON) on `write`."""
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
        write(orjson.dumps({**result.as_dict(), "database": database_label()}).decode())
        return
    for line in sweep.report_lines(result):
        write(line)


# --- bench queue --------------------------------------------------------------------------
def queue_arguments(parser: ArgumentParser) -> None:
    """The `bench queue` subcommand's options."""
    parser.add_argument("--open", type=int, default=100_000, help="unresolved cases to have in the store")
    parser.add_argument("--resolved", type=int, default=100_000, help="resolved cases to have (history)")
    parser.add_argument("--samples", type=int, default=100, help="requests of each scenario")
    parser.add_argument("--clean", action="store_true", help="delete the bench's cases, orders and users, then stop")
    parser.add_argument("--no-http", action="store_true", help="skip the timing over HTTP (uvicorn)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


def queue_command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    """`manage.py bench queue`: fill (or top up) with COPY, time each view in-process and over
    HTTP, the table, the plans and the verdict (or JSON) on `write`."""
    from apps.bench import queue

    if connection.vendor != "postgresql":
        raise CommandError(f"bench queue fills with COPY: the database is {connection.vendor}, not PostgreSQL")
    behind = unapplied_migrations()
    if behind:
        raise CommandError(f"{len(behind)} unapplied migrations, e.g. {behind[0]}: run manage.py migrate first")
    if opts["clean"]:
        write(f"Deleted {queue.clean():,} rows of the bench's cases")
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
        write(orjson.dumps(result).decode())
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
    write(rendered.file.getvalue())  # type: ignore[attr-defined]
    for name, plan in result["plans"].items():
        write(f"plan of the default view's {name} query:\n{plan}\n")
    verdict = "meets" if result["meets_bar"] else "MISSES"
    write(
        f"bar: the default view's {' and '.join(result['bar_on'])} p95 <= {result['bar_p95_ms']} ms: {verdict} "
        f"(load average {result['load_average']})"
    )


# --- bench lookup -------------------------------------------------------------------------
def lookup_arguments(parser: ArgumentParser) -> None:
    """The `bench lookup` subcommand's options."""
    parser.add_argument("--events", type=int, default=1_000_000, help="fill the store up to this many events")
    parser.add_argument(
        "--minutes", type=float, default=30.0, help="stop filling after this long (then measure what is there)"
    )
    parser.add_argument("--samples", type=int, default=400, help="calls of each endpoint")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


def lookup_command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    """`manage.py bench lookup`: fill through the pipeline, time the API, the table and the
    verdict (or JSON) on `write`."""
    from apps.bench.lookup import run

    problems = real_services_problems(vendor=connection.vendor, redis_url=redis_url())
    if problems:
        raise CommandError("bench lookup measures the real services: " + "; ".join(problems))
    console = Console(stderr=True)
    result = run(events=opts["events"], populate_minutes=opts["minutes"], samples=opts["samples"], console=console)
    result["database"] = database_label()
    result["at"] = timezone.now().isoformat(timespec="seconds")
    if opts["json"]:
        write(orjson.dumps(result).decode())
        return
    table = Table(title=f"lookup API over {result['events_stored']:,} events, {result['orders']:,} orders")
    for column in ("call", "p50 ms", "p95 ms", "p99 ms", "mean ms", "n"):
        table.add_column(column, justify="right" if column != "call" else "left")
    for name, row in result["calls"].items():
        table.add_row(name, *(str(row[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "n")))
    rendered = Console(file=io.StringIO(), width=100)
    rendered.print(table)
    write(rendered.file.getvalue())  # type: ignore[attr-defined]
    verdict = "meets" if result["meets_bar"] else "MISSES"
    write(f"bar: p95 <= {result['bar_p95_ms']} ms on every call: {verdict}")
