"""`manage.py sweep_exceptions [--now ISO]`: run the system-case sweep (feed_silent, ingestion,
unmatched_event) as of a time (default: now) and print what it opened and resolved. Safe beside
the beat task: opening is guarded by the one-unresolved-case-per-fingerprint constraint and
resolving is compare-and-set."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.common.time import parse_iso
from apps.exceptions.services.system import system_sweep


class Command(BaseCommand):
    help = "Open and resolve feed_silent, ingestion and unmatched_event cases as of --now (default: now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", default=None, help="ISO-8601 time with offset, e.g. 2026-11-25T14:00:00Z")

    def handle(self, *args: Any, **opts: Any) -> None:
        at = None
        if opts["now"]:
            try:
                at = parse_iso(opts["now"].replace("Z", "+00:00"), field="--now")
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        result = system_sweep(at)
        for kind, code, subject, case_id in result.opened:
            self.stdout.write(f"opened {kind} {code} {subject} (exception {case_id})")
        for kind, code, subject, case_id in result.resolved:
            self.stdout.write(f"resolved {kind} {code} {subject} (exception {case_id})")
        self.stdout.write(f"{len(result.opened)} opened, {len(result.resolved)} resolved")
