"""`manage.py evaluate_slas [--now ISO]`: run the SLA sweep as of a time (default: now) and
print the breaches it opened and the expectations it closed. Safe beside the beat task: the
rounds claim their rows with SKIP LOCKED, so the two share the work."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.time import parse_iso
from apps.sla.services import SWEEP_WORKERS, sla_sweep


class Command(BaseCommand):
    help = "Breach the SLA expectations due as of --now (default: now) and print what changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", default=None, help="ISO-8601 time with offset, e.g. 2026-11-25T14:00:00Z")

    def handle(self, *args: Any, **opts: Any) -> None:
        at = None
        if opts["now"]:
            try:
                at = parse_iso(opts["now"].replace("Z", "+00:00"), field="--now")
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        result = sla_sweep(at, workers=SWEEP_WORKERS)  # as the beat task runs it
        for policy, order, case_id in result.opened:
            self.stdout.write(f"opened sla_breach {policy} order {order} (exception {case_id})")
        for policy, order, status in result.closed:
            self.stdout.write(f"closed {policy} order {order}: {status}")
        self.stdout.write(f"{len(result.opened)} opened, {len(result.closed)} closed")
