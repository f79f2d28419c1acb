"""`manage.py reconcile_orders [--all] [--now ISO]`: the reconciliation sweep as of a time
(default: now) — the orders whose grace period or settle time has run out — or, with --all,
invoice holds and rules for every order (after `rebuild_projections`, or a change of a grace
period or the tolerance). Safe beside ingestion and the beat task (row locks per chunk)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from apps.common.time import parse_iso
from apps.correlation.models import OrderProjection
from apps.finance.services.reconciliation import ReconcileResult, orders_reevaluate, reconciliation_sweep


class Command(BaseCommand):
    help = "Re-evaluate invoice holds and reconciliation: the due orders, or --all of them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every order, not only the due ones")
        parser.add_argument("--now", default=None, help="ISO-8601 time with offset, e.g. 2026-11-25T14:00:00Z")

    def handle(self, *args: Any, **opts: Any) -> None:
        at = None
        if opts["now"]:
            try:
                at = parse_iso(opts["now"].replace("Z", "+00:00"), field="--now")
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        if not opts["all"]:
            self._report(reconciliation_sweep(at))
            return
        console = Console(stderr=True)
        columns = (TextColumn("orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            task = progress.add_task("orders", total=OrderProjection.objects.count())
            result = orders_reevaluate(at, progress=lambda n: progress.advance(task, n))
        self._report(result)

    def _report(self, result: ReconcileResult) -> None:
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items())) or "nothing due"
        self.stdout.write(
            f"{result.evaluated} orders evaluated ({statuses}); "
            f"{len(result.cases_opened)} exceptions opened, {len(result.cases_resolved)} resolved"
        )
