"""`manage.py reconcile_snapshot FILE [--from T] [--until T] [--json]`: an ERP snapshot run from
the command line (http-api.md "ERP snapshot runs"), processed in this process (not by Celery)
with a progress bar on stderr; the summary (or, with --json, the run as the API returns it) on
stdout. Exit code 0 when the run is done, 1 when it failed."""

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from apps.common.time import parse_iso
from apps.finance.api.runs import run_json
from apps.finance.choices import RunStatus
from apps.finance.services.snapshots import MAX_UPLOAD_BYTES, snapshot_run_create, snapshot_run_process


def _time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_iso(value, field=field)
    except ValueError as exc:
        raise CommandError(f"--{field}: not an RFC 3339 time with an offset (e.g. 2026-11-01T00:00:00Z)") from exc


class Command(BaseCommand):
    help = "Compare an ERP export (CSV) with the control tower: an ERP snapshot run, processed here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", help="the ERP export: CSV, UTF-8, header order,status,invoice,amount,currency,sku,qty"
        )
        parser.add_argument(
            "--from", dest="window_from", help="missing_in_snapshot: orders created at or after (RFC 3339)"
        )
        parser.add_argument(
            "--until", dest="window_until", help="missing_in_snapshot: orders created before (RFC 3339)"
        )
        parser.add_argument(
            "--json", action="store_true", help="print the run as GET /api/v1/reconciliation/runs/<id>/"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise CommandError(f"{path}: over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
        window_from, window_until = _time(opts["window_from"], "from"), _time(opts["window_until"], "until")
        if window_from and window_until and window_until <= window_from:
            raise CommandError("--until must be after --from")
        run = snapshot_run_create(
            body=path.read_bytes(),
            filename=path.name,
            uploaded_by=None,
            window_from=window_from,
            window_until=window_until,
            enqueue=False,
        )
        console = Console(stderr=True)
        with Progress(
            TextColumn(f"run {run.id}: rows"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=not console.is_terminal,
        ) as progress:
            task = progress.add_task("rows", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            run = snapshot_run_process(run.id, progress=advance)
        if opts["json"]:
            self.stdout.write(orjson.dumps(run_json(run)).decode())
        else:
            for line in _summary(run):
                self.stdout.write(line)
        if run.status != RunStatus.DONE:
            raise SystemExit(1)


def _summary(run: Any) -> list[str]:
    if run.status == RunStatus.FAILED:
        return [f"run {run.id} failed: {run.failure}"]
    missing = "not counted (no --from / --until)" if run.missing_in_snapshot is None else str(run.missing_in_snapshot)
    lines = [
        f"run {run.id} done: {run.rows:,} row{'s' if run.rows != 1 else ''}, "
        f"{run.orders:,} order{'s' if run.orders != 1 else ''}",
        f"  matched              {run.matched:,}",
        f"  mismatched           {run.mismatched:,}",
        f"  missing_in_tower     {run.missing_in_tower:,}",
        f"  missing_in_snapshot  {missing}",
        f"  rows left out        {run.error_count:,}",
    ]
    for error in run.errors[:20]:
        lines.append(f"    row {error['row']}: {error['error']}")
    if run.error_count > 20:
        lines.append(f"    … and {run.error_count - 20:,} more")
    findings = run.findings.order_by("id").values_list("order_key", "rule", "detail")
    shown = list(findings[:20])
    if shown:
        lines.append("  findings:")
        lines.extend(f"    {key} {rule}: {detail}" for key, rule, detail in shown)
        rest = findings.count() - len(shown)
        if rest > 0:
            lines.append(f"    … and {rest:,} more (GET /api/v1/reconciliation/runs/{run.id}/findings/)")
    return lines
