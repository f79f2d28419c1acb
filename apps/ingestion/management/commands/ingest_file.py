from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from apps.feeds.selectors import feed_get
from apps.ingestion.files import FileRefused, file_receive, file_split


class Command(BaseCommand):
    help = (
        "Ingest a partner's file (any size) into a feed: kept as evidence, split into messages of at most "
        "1,000 events, each processed by the pipeline. The same file given twice is one file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--feed", required=True, help="feed slug")
        parser.add_argument("path", help="the file")
        parser.add_argument(
            "--no-queue",
            action="store_true",
            help="store and split only: the messages wait as received, and the pipeline's heal sweep "
            "queues them (a backfill left to the workers' own pace)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        feed = feed_get(slug=opts["feed"])
        if feed is None:
            raise CommandError(f"no feed {opts['feed']!r}")
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"no file {path}")
        size = path.stat().st_size
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            disable=not self.stdout.isatty(),
        ) as progress:
            store = progress.add_task("store", total=size)

            def chunks() -> Any:
                with path.open("rb") as handle:
                    while chunk := handle.read(settings.INGEST_FILE_CHUNK_BYTES):
                        progress.advance(store, len(chunk))
                        yield chunk

            try:
                received = file_receive(feed=feed, chunks=chunks(), name=path.name, enqueue=False)
            except FileRefused as exc:
                raise CommandError(exc.detail) from None
            record = received.file
            if received.created or record.status == "received":
                split = progress.add_task("split", total=size)
                done = file_split(
                    file_id=record.id,
                    progress=lambda read, total: progress.update(split, completed=read),
                    enqueue=not opts["no_queue"],
                )
                record = done or record
        record.refresh_from_db()
        state = "new file" if received.created else "already received (same bytes): nothing new"
        self.stdout.write(
            f"{path.name}: {state}; file {record.id} {record.status}, {record.parts} messages, "
            f"{record.events} events{'; ' + record.error if record.error else ''}"
        )
        for error in record.errors[:20]:
            self.stdout.write(f"  envelope: {error}")
