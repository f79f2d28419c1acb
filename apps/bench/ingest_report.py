"""What `manage.py bench ingest` reports: the numbers of a run as one JSON-ready dict (the
setup, the machine and the code measured, the end-to-end and floor rates, the count check,
the goal) and the table printed from it. The run itself is in ingest_command.py."""

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from rich.console import Console
from rich.table import Table

from apps.bench.floors import CopyResult, ValidatorResult
from apps.bench.ingest import (
    BAR_EVENTS_PER_SECOND,
    GOAL_RATIO_TO_COPY,
    Outcome,
    Stream,
    redis_url,
)
from apps.simulator.client import NO_RESPONSE, SendReport


@dataclass
class Timed:
    """The timed run: what was posted, what the workers made of it, and how long it took."""

    report: SendReport = field(default_factory=SendReport)
    result: Outcome = field(default_factory=Outcome)
    e2e_s: float = 0.0
    drain_events: int = 0  # events still unprocessed when the last POST was answered
    drain_s: float = 0.0  # from then to the last processed


def _rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else 0.0


def numbers(
    opts: dict[str, Any],
    stream: Stream,
    validator: ValidatorResult,
    timed: Timed,
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


def print_summary(console: Console, n: dict[str, Any]) -> None:
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


def code_version() -> str:
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
