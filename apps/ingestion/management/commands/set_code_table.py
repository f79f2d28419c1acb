import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.feeds.selectors import feed_get
from apps.ingestion.feed_formats import FormatSettingsError, code_table_set, feed_context


class Command(BaseCommand):
    help = (
        "Override codes of a feed's code table (a new version; audited), e.g. "
        "--feed acme-214 --table x12.at7 --map ZZ=shipment.delayed --map X9=ignore --unmap SD. "
        "Then `replay --feed S` corrects the events already stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--feed", required=True)
        parser.add_argument("--table", required=True, help="e.g. x12.at7 (the feed page lists its tables)")
        parser.add_argument("--map", action="append", default=[], metavar="CODE=TYPE", help="canonical type or ignore")
        parser.add_argument("--unmap", action="append", default=[], metavar="CODE", help="remove a standard code")
        parser.add_argument("--file", help="a JSON object {code: type|ignore|null} replacing the feed's override")
        parser.add_argument("--note", default="", help="why (kept with the version)")
        parser.add_argument("--show", action="store_true", help="print the table in force and change nothing")

    def handle(self, *args: Any, **opts: Any) -> None:
        feed = feed_get(slug=opts["feed"])
        if feed is None:
            raise CommandError(f"no feed {opts['feed']!r}")
        codes = feed_context(feed).codes
        if opts["show"]:
            self.stdout.write(json.dumps(codes.entries(opts["table"]), indent=2, sort_keys=True))
            self.stdout.write(f"version {codes.version(opts['table'])}")
            return
        from apps.ingestion.feed_formats import feed_overrides

        current = feed_overrides(feed.pk).get(opts["table"], (0, {}))[1]
        if opts["file"]:
            try:
                entries = json.loads(Path(opts["file"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"--file: {exc}") from None
        else:
            entries = dict(current)
            for pair in opts["map"]:
                code, sep, value = pair.partition("=")
                if not sep:
                    raise CommandError(f"--map {pair!r}: want CODE=TYPE")
                entries[code.strip()] = value.strip()
            for code in opts["unmap"]:
                entries[code.strip()] = None
        try:
            row = code_table_set(feed=feed, table=opts["table"], entries=entries, note=opts["note"])
        except FormatSettingsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{opts['table']} of {feed.slug}: version {row.version} ({len(entries)} codes overridden)")
