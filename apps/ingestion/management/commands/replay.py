from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from apps.common.time import parse_iso
from apps.feeds.selectors import feed_get
from apps.ingestion.selectors import message_list
from apps.pipeline.runner import message_process


class Command(BaseCommand):
    help = "Re-process a feed's stored raw messages (after a mapping fix). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--feed", required=True, help="feed slug")
        parser.add_argument("--since", help="only messages received at or after this ISO time (with offset)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if feed_get(slug=opts["feed"]) is None:
            raise CommandError(f"no feed {opts['feed']!r}")
        try:
            since = parse_iso(opts["since"], field="--since") if opts["since"] else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        ids = list(
            message_list(feed_slug=opts["feed"], since=since).order_by("received_at").values_list("id", flat=True)
        )
        outcomes: dict[str, int] = {}
        with Progress(
            TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), disable=not ids
        ) as progress:
            task = progress.add_task("replay", total=len(ids))
            for message_id in ids:
                status = message_process(message_id=message_id, replay=True) or "busy (skipped)"
                outcomes[status] = outcomes.get(status, 0) + 1
                progress.advance(task)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())) or "nothing to replay"
        self.stdout.write(f"replayed {len(ids)} messages of {opts['feed']}: {summary}")
