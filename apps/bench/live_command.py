"""`manage.py bench live` on the command line: its options, the checks before a run, the
progress bar on stderr, and the report (or one JSON object) printed from the run's numbers.
The measurement itself (processes, websocket, probes) is in live.py."""

from collections.abc import Callable
from typing import Any

import orjson
from django.db import connection

from .ingest import real_services_problems, redis_url, unapplied_migrations
from .live import run


def report_lines(result: dict[str, Any]) -> list[str]:
    lat, bg, probes, seg, setup = (
        result["latency_ms"],
        result["background"],
        result["probes"],
        result["segments_ms"],
        result["setup"],
    )
    lines = [
        f"bench live — {result['date']}, {result['machine']['cpus']} CPUs, PostgreSQL {result['machine']['postgres']}, "
        f"load average {result['machine']['load_average_before'][0]:.2f} before, "
        f"{result['machine']['load_average_after'][0]:.2f} after",
        result.get("statistics", ""),
        f"setup: {setup['rate']:.0f} events/s for {setup.get('warmup_seconds', 0):.0f} s of warm-up and "
        f"{setup['seconds']:.0f} s of probes, in bodies of up to {setup['batch_size']}, "
        f"{setup['workers']} worker(s) at nice {setup.get('worker_nice', 0)} and one early-lane worker, "
        f"{setup['probes_per_second']} probe(s)/s",
        f"background: posted {bg['events_posted']:,} events at {bg['posted_events_per_second']:,}/s; "
        f"processed {bg['events_processed_by_end']:,} by the end, {bg.get('drained_seconds', 0):.1f} s after the start "
        f"({bg['processed_events_per_second']:,}/s)",
        f"probes: {probes['sent']} sent, {probes['arrived']} arrived, {probes['lost']} lost",
    ]
    if lat:
        lines.append(
            f"POST → websocket exception.opened: p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms"
        )
    updated = result.get("order_updated_ms", {})
    if updated.get("p50") is not None:
        lines.append(
            f"POST → websocket order.updated ({updated['arrived']}/{probes['sent']}): p50 {updated['p50']} ms, "
            f"p95 {updated['p95']} ms, max {updated['max']} ms"
        )
    for name, label in (
        ("post_to_received", "POST → raw message committed (HTTP)"),
        ("received_to_socket", "→ socket (early lane: queue, store, exceptions, commit, push)"),
        ("regular_queue_wait", "regular lane: received → a worker claims it"),
        ("post_to_processed", "regular lane: POST → processed (timeline, projection)"),
    ):
        if seg.get(name):
            lines.append(f"  {label}: p50 {seg[name]['p50']} ms, p95 {seg[name]['p95']} ms, max {seg[name]['max']} ms")
    push = result["push_only_ms"]
    if push.get("p50") is not None:
        lines.append(
            f"push alone (publish → Redis layer → consumer → socket, {push['arrived']}/{push['sent']}): "
            f"p50 {push['p50']} ms, p95 {push['p95']} ms, max {push['max']} ms"
        )
    lines.append(f"socket: {result['socket']['frames']:,} frames, {result['socket']['bytes']:,} bytes")
    verdict = "meets" if result["meets_bar"] else "MISSES"
    lines.append(f"bar: p95 <= {result['bar_p95_ms']:.0f} ms: {verdict}")
    return lines


def add_arguments(parser: Any) -> None:
    """The `bench live` subcommand's options (wired into the bench command)."""
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the probes run, under the load")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="the load runs this long first, without probes (steady state)"
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="background events per second")
    parser.add_argument("--probes", type=float, default=2.0, help="probe events per second")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--batch-size", type=int, default=200, help="background events per window (1-1000)")
    parser.add_argument("--concurrency", type=int, default=4, help="background POSTs in flight")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="CPU niceness of the regular workers, as deployed (docker/compose.yaml WORKER_NICE); 0: same as the rest",
    )
    parser.add_argument("--settle", type=float, default=60.0, help="wait this long for the last probes (s)")
    parser.add_argument("--keep", action="store_true", help="keep the run's events and messages")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


def command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    """`manage.py bench live`: checks, a progress bar on stderr, the report (or JSON) on `write`."""
    from django.core.management.base import CommandError
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    problems = real_services_problems(vendor=connection.vendor, redis_url=redis_url())
    if problems:
        raise CommandError("bench live measures the real services: " + "; ".join(problems))
    behind = unapplied_migrations()
    if behind:
        raise CommandError(f"{len(behind)} unapplied migrations, e.g. {behind[0]}: run manage.py migrate first")
    if not 1 <= opts["batch_size"] <= 1000 or opts["rate"] <= 0 or opts["probes"] <= 0 or opts["seconds"] <= 0:
        raise CommandError("--batch-size must be 1..1000 and --rate, --probes, --seconds positive")
    import logging

    from .maintenance import analyzing_while, statistics_refresh

    logging.getLogger("httpx").setLevel(logging.WARNING)
    console = Console(stderr=True)
    maintenance = statistics_refresh()
    console.print(maintenance)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar, analyzing_while():
        task = bar.add_task("load + probes", total=opts["seconds"])

        def progress(elapsed: float, sent: int, arrived: int) -> None:
            bar.update(task, completed=min(elapsed, opts["seconds"]), description=f"probes {arrived}/{sent} arrived")

        result = run(
            seconds=opts["seconds"],
            warmup_s=opts["warmup"],
            rate=opts["rate"],
            probes_per_second=opts["probes"],
            workers=opts["workers"],
            batch_size=opts["batch_size"],
            concurrency=opts["concurrency"],
            worker_nice=opts["worker_nice"],
            settle_s=opts["settle"],
            keep=opts["keep"],
            progress=progress,
        )
    result["statistics"] = maintenance
    if opts["json"]:
        write(orjson.dumps(result).decode())
        return
    for line in report_lines(result):
        write(line)
