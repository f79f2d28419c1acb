"""`manage.py bench soak --minutes 10 --rate 500 [--json]`: a steady load for a long while,
and whether anything grows under it (a leak, connections piling up, a backlog).

It starts the processes as deployed (processes.Stack: uvicorn, `--workers` Celery workers, the
early lane's worker and `celery beat`, on this database and Redis), posts the simulator's stream
over HTTP at `--rate` events/s for `--minutes`, one simulated world per minute (generated while
the previous minute is posted, so that the bench itself does not hold the whole stream), and at
the end of each minute samples:

- the resident memory (VmRSS, /proc) of the web process and of the workers (each worker's
  process tree: a prefork pool's processes count), summed;
- the database's open connections (`pg_stat_activity` on this database; by process in the
  JSON, from each process's application_name);
- Redis's `used_memory` (INFO memory);
- how far behind processing is (messages received and not yet finished).

After the load it waits up to `--settle` s for the last messages, then takes each minute's p95
of POST → processed: a message's `processed_at` minus its `received_at` (stamped when its POST
arrives), over the messages received in that minute.

Verdict: "flat" when every metric grew by at most 5 % from minute 2 (minute 1 is the warm-up:
caches, pools, the first batches) to the end. The end is the median of the last three minutes,
and a growth under a metric's noise floor (NOISE_FLOOR: a few MB, one connection, 50 ms) does not
count: Redis's few MB move with the queue's depth at the moment of the sample, and a minute's
p95 with the batches in flight, by more than 5 % from one minute to the next without growing."""

import io
import math
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from .ingest import (
    FEED_PREFIX,
    Stream,
    bench_data_delete,
    bench_feed_ids,
    bench_feeds_unthrottle,
    database_label,
    database_url,
    progress_snapshot,
    real_services_problems,
    redis_url,
    stream_make,
    unapplied_migrations,
    unique_prefix,
)
from .processes import Stack, rss_bytes

FLAT_GROWTH = 0.05  # at most +5 % from minute 2 to the end
# Absolute changes below these are sampling noise, not growth (see the module docstring).
NOISE_FLOOR = {"web_rss_mb": 10.0, "workers_rss_mb": 10.0, "p95_ms": 50.0, "db_connections": 1, "redis_used_mb": 1.0}
METRICS = {  # sample field -> label
    "web_rss_mb": "web RSS MB",
    "workers_rss_mb": "workers RSS MB",
    "p95_ms": "p95 POST → processed ms",
    "db_connections": "DB connections",
    "redis_used_mb": "Redis used MB",
}


@dataclass
class Sample:
    minute: int
    at_s: float  # since the load started
    posted_events: int  # so far
    processed_events: int  # so far (finished messages' events)
    backlog_messages: int  # received, not yet finished
    web_rss_mb: float
    workers_rss_mb: float
    db_connections: int
    db_connections_by_process: dict[str, int]
    redis_used_mb: float
    p95_ms: float | None = None  # POST → processed over the minute's messages (after the run)
    messages: int = 0  # received in this minute
    unfinished: int = 0  # of those, still not finished after the settle


@dataclass
class Counter:
    """Events posted so far, from post_batches' progress callback (its threads)."""

    value: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, n: int) -> None:
        with self.lock:
            self.value += n


def db_connections() -> tuple[int, dict[str, int]]:
    """Open connections to this database, in all and by application_name (ct-web, ct-worker-1…)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(nullif(application_name, ''), '?'), count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() GROUP BY 1"
        )
        rows = {str(name): int(n) for name, n in cursor.fetchall()}
    return sum(rows.values()), rows


def redis_used_bytes(url: str) -> int:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def minute_latencies(feed_ids: list[int], started: datetime, minutes: int) -> list[tuple[int, float | None, int]]:
    """Per minute of the load: (messages received, p95 POST → processed in ms, still unfinished)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT floor(extract(epoch FROM received_at - %s) / 60)::int AS minute, count(*), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) "
            "FILTER (WHERE processed_at IS NOT NULL), count(*) FILTER (WHERE processed_at IS NULL) "
            "FROM ingestion_rawmessage WHERE feed_id = ANY(%s) AND received_at >= %s GROUP BY 1",
            [started, feed_ids, started],
        )
        rows = {int(m): (int(n), p95, int(u)) for m, n, p95, u in cursor.fetchall()}
    out = []
    for minute in range(minutes):
        n, p95, unfinished = rows.get(minute, (0, None, 0))
        out.append((n, None if p95 is None else round(float(p95) * 1000, 1), unfinished))
    return out


def end_value(samples: list[Sample], name: str) -> float | None:
    """The metric at the end: the median of the last three minutes after minute 2."""
    values = [v for v in (getattr(s, name) for s in samples[2:][-3:]) if v is not None]
    return statistics.median(values) if values else None


def growth(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    """Each metric from minute 2 to the end: {start, end, growth (a fraction), grew (past
    FLAT_GROWTH and past its noise floor)}; None where it was not measured."""
    out: dict[str, dict[str, Any]] = {}
    for name in METRICS:
        start = getattr(samples[1], name) if len(samples) >= 3 else None
        end = end_value(samples, name) if start is not None else None
        if start is None or end is None or start == 0:
            out[name] = {"start": start, "end": end, "growth": None, "grew": None}
            continue
        fraction = end / start - 1
        grew = fraction > FLAT_GROWTH and end - start > NOISE_FLOOR[name]
        out[name] = {"start": start, "end": end, "growth": round(fraction, 4), "grew": grew}
    return out


def verdict(grown: dict[str, dict[str, Any]]) -> tuple[bool, str]:
    """(flat?, the sentence): flat when no measured metric grew (see `growth`)."""
    measured = {k: v for k, v in grown.items() if v["grew"] is not None}
    if not measured:
        return False, "too short to tell (at least 3 minutes, the first one a warm-up)"
    over = {k: v for k, v in measured.items() if v["grew"]}
    if not over:
        return (
            True,
            f"flat: no metric grew by more than {FLAT_GROWTH:.0%} (and its noise floor) from minute 2 to the end",
        )
    parts = ", ".join(f"{METRICS[k]} {v['start']} → {v['end']} ({v['growth']:+.1%})" for k, v in over.items())
    return False, f"NOT flat: {parts} from minute 2 to the end"


def run(
    *,
    minutes: int,
    rate: float,
    workers: int,
    batch_size: int,
    concurrency: int,
    settle_s: float,
    progress: Callable[[float, int, int], None] | None = None,
) -> dict[str, Any]:
    """One soak; returns the numbers (see module docstring). `progress(elapsed, posted, processed)`.
    The run's events and messages stay: `clean()` deletes them (after the report is out)."""
    from apps.feeds.services import FeedCredentials
    from apps.simulator.client import post_batches
    from apps.simulator.services import simulation_feeds_ensure

    prefix = unique_prefix()
    per_minute = max(1, round(rate * 60))
    creds: dict[str, FeedCredentials] = simulation_feeds_ensure(prefix=FEED_PREFIX)
    feed_ids = bench_feed_ids()
    bench_feeds_unthrottle(feed_ids)
    queue = f"ct-bench-soak-{prefix.lower()}"
    load_before = os.getloadavg()
    posted = Counter()
    holder: dict[str, Any] = {"http_errors": {}, "events_failed": 0}
    samples: list[Sample] = []

    def minute_stream(minute: int) -> Stream:
        return stream_make(events=per_minute, prefix=f"{prefix}M{minute:03d}", seed=minute + 1)

    with Stack(
        queue=queue,
        workers=workers,
        database_url=database_url(),
        redis_url=redis_url(),
        extra_env={"CHANNELS_PREFIX": queue},
        beat=True,
    ) as stack:
        stack.wait_ready()
        first = minute_stream(0)
        started_at = timezone.now()
        clock = time.perf_counter()

        def load() -> None:
            try:
                upcoming: dict[int, Stream] = {0: first}
                for minute in range(minutes):
                    maker = None
                    if minute + 1 < minutes:
                        nxt = minute + 1

                        def make(n: int = nxt) -> None:
                            upcoming[n] = minute_stream(n)

                        maker = threading.Thread(target=make, name="bench-soak-stream", daemon=True)
                        maker.start()
                    # Each minute at its own pace from its own start: the load stays on the clock.
                    time.sleep(max(0.0, clock + minute * 60 - time.perf_counter()))
                    report = post_batches(
                        stack.base_url,
                        creds,
                        upcoming.pop(minute).events,
                        batch_size=batch_size,
                        rate=rate,
                        concurrency=concurrency,
                        progress=posted.add,
                    )
                    for status, n in report.http_errors.items():
                        holder["http_errors"][str(status)] = holder["http_errors"].get(str(status), 0) + n
                    holder["events_failed"] += report.events_failed
                    if maker is not None:
                        maker.join()
            except BaseException as exc:
                holder["error"] = exc

        loader = threading.Thread(target=load, name="bench-soak-load", daemon=True)
        loader.start()
        for minute in range(1, minutes + 1):
            while time.perf_counter() < clock + minute * 60:
                time.sleep(min(1.0, max(0.0, clock + minute * 60 - time.perf_counter())))
                if "error" in holder:
                    raise holder["error"]
                stack.check_alive()
                if progress is not None:
                    progress(time.perf_counter() - clock, posted.value, 0)
            snapshot = progress_snapshot(feed_ids, started_at)
            total, by_process = db_connections()
            names = [*(f"worker-{i}" for i in range(1, workers + 1)), "worker-early"]
            workers_rss = sum(rss_bytes(stack.proc(name).popen.pid) for name in names)
            samples.append(
                Sample(
                    minute=minute,
                    at_s=round(time.perf_counter() - clock, 1),
                    posted_events=posted.value,
                    processed_events=snapshot.finished_events,
                    backlog_messages=snapshot.messages - snapshot.finished,
                    web_rss_mb=round(rss_bytes(stack.proc("web").popen.pid) / 2**20, 1),
                    workers_rss_mb=round(workers_rss / 2**20, 1),
                    db_connections=total,
                    db_connections_by_process=by_process,
                    redis_used_mb=round(redis_used_bytes(redis_url()) / 2**20, 2),
                )
            )
        loader.join()
        if "error" in holder:
            raise holder["error"]
        load_s = time.perf_counter() - clock
        deadline = time.perf_counter() + settle_s
        while time.perf_counter() < deadline:
            snapshot = progress_snapshot(feed_ids, started_at)
            if snapshot.finished == snapshot.messages:
                break
            time.sleep(0.5)
        drained_s = time.perf_counter() - clock
        snapshot = progress_snapshot(feed_ids, started_at)
    for sample, (messages, p95, unfinished) in zip(
        samples, minute_latencies(feed_ids, started_at, minutes), strict=True
    ):
        sample.messages, sample.p95_ms, sample.unfinished = messages, p95, unfinished
    grown = growth(samples)
    flat, sentence = verdict(grown)
    result: dict[str, Any] = {
        "benchmark": "soak",
        "date": started_at.isoformat(timespec="seconds"),
        "setup": {
            "minutes": minutes,
            "rate": rate,
            "workers": workers,
            "batch_size": batch_size,
            "concurrency": concurrency,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": _memory_gb(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "database": database_label(),
        "load": {
            "events_posted": posted.value,
            "posted_events_per_second": round(posted.value / load_s) if load_s else 0,
            "events_processed": snapshot.finished_events,
            "processed_events_per_second": round(snapshot.finished_events / drained_s) if drained_s else 0,
            "unfinished_after_settle": snapshot.messages - snapshot.finished,
            "http_errors": holder["http_errors"],
            "events_given_up": holder["events_failed"],
            "load_seconds": round(load_s, 1),
            "drained_seconds": round(drained_s, 1),
        },
        "samples": [asdict(s) for s in samples],
        "growth_from_minute_2": grown,
        "flat": flat,
        "verdict": sentence,
    }
    return result


def clean() -> int:
    """Delete the bench feeds' events and messages (hundreds of thousands: minutes)."""
    return bench_data_delete(bench_feed_ids())


def _memory_gb() -> float | None:
    try:
        for line in open("/proc/meminfo").read().splitlines():  # noqa: SIM115 - a one-off read
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


# --- the command line ----------------------------------------------------------------------
def add_arguments(parser: Any) -> None:
    """The `bench soak` subcommand's options (wired into the bench command)."""
    parser.add_argument("--minutes", type=int, default=10, help="how long the load runs (samples once a minute)")
    parser.add_argument("--rate", type=float, default=500.0, help="events per second, steady")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (plus the early lane's)")
    parser.add_argument("--batch-size", type=int, default=200, help="events per body at most (1-1000)")
    parser.add_argument("--concurrency", type=int, default=4, help="POSTs in flight")
    parser.add_argument("--settle", type=float, default=120.0, help="wait this long for the last messages (s)")
    parser.add_argument("--keep", action="store_true", help="keep the run's events and messages")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress to stderr)")


def report_lines(result: dict[str, Any]) -> list[str]:
    from rich.console import Console
    from rich.table import Table

    load, setup, machine = result["load"], result["setup"], result["machine"]
    table = Table(
        title=f"bench soak — {result['date']}, {machine['cpus']} CPUs, {machine['memory_gb']} GB, "
        f"{setup['rate']:.0f} events/s for {setup['minutes']} min, {setup['workers']} worker(s)"
    )
    columns = [
        ("min", "minute"),
        ("posted", "posted_events"),
        ("processed", "processed_events"),
        ("backlog msgs", "backlog_messages"),
        *((label, name) for name, label in METRICS.items()),
    ]
    for label, _ in columns:
        table.add_column(label, justify="right")
    for sample in result["samples"]:
        table.add_row(*(_cell(sample[name]) for _, name in columns))
    rendered = Console(file=io.StringIO(), width=160)
    rendered.print(table)
    grown = ", ".join(
        f"{label} {_percent(result['growth_from_minute_2'][name]['growth'])}" for name, label in METRICS.items()
    )
    return [
        rendered.file.getvalue(),  # type: ignore[attr-defined]
        f"load: {load['events_posted']:,} events posted at {load['posted_events_per_second']:,}/s, "
        f"{load['events_processed']:,} processed ({load['processed_events_per_second']:,}/s over load and drain), "
        f"{load['unfinished_after_settle']} message(s) unfinished {load['drained_seconds']:.0f} s after the start; "
        f"HTTP errors {load['http_errors'] or 'none'}; load average {machine['load_average_before'][0]:.2f} before, "
        f"{machine['load_average_after'][0]:.2f} after",
        f"growth from minute 2 to the end: {grown}",
        result.get("statistics", ""),
        result["verdict"],
    ]


def _percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:+.1%}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if not math.isnan(value) else "-"
    return str(value)


def command(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    """`manage.py bench soak`: checks, a progress bar on stderr, the table (or JSON) on `write`."""
    import logging

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    problems = real_services_problems(vendor=connection.vendor, redis_url=redis_url())
    if problems:
        raise CommandError("bench soak measures the real services: " + "; ".join(problems))
    behind = unapplied_migrations()
    if behind:
        raise CommandError(f"{len(behind)} unapplied migrations, e.g. {behind[0]}: run manage.py migrate first")
    if opts["minutes"] < 1 or opts["rate"] <= 0 or not 1 <= opts["batch_size"] <= 1000:
        raise CommandError("--minutes must be at least 1, --rate positive, --batch-size 1..1000")
    from .maintenance import analyzing_while, statistics_refresh

    logging.getLogger("httpx").setLevel(logging.WARNING)
    console = Console(stderr=True)
    # What autovacuum does in production (analyze as the tables grow), done by hand where it is
    # off: without it the soak measures a planner without statistics, whose latency grows with
    # the store (the first soak: p95 58 ms at minute 2, 330-560 ms from minute 6; docs/benchmarks.md).
    maintenance = statistics_refresh()
    console.print(maintenance)
    total = opts["minutes"] * 60
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar, analyzing_while():
        task = bar.add_task("soak", total=total)

        def progress(elapsed: float, sent: int, _: int) -> None:
            bar.update(task, completed=min(elapsed, total), description=f"soak: {sent:,} events posted")

        result = run(
            minutes=opts["minutes"],
            rate=opts["rate"],
            workers=opts["workers"],
            batch_size=opts["batch_size"],
            concurrency=opts["concurrency"],
            settle_s=opts["settle"],
            progress=progress,
        )
    result["statistics"] = maintenance
    if opts["json"]:
        write(orjson.dumps(result).decode())
    else:
        for line in report_lines(result):
            write(line)
    if not opts["keep"]:
        console.print("deleting the run's events and messages (--keep keeps them)…")
        console.print(f"deleted {clean():,} messages")
