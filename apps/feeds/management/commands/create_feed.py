import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.events.taxonomy import System
from apps.feeds.choices import FeedFormat
from apps.feeds.models import Feed
from apps.feeds.services import feed_create


class Command(BaseCommand):
    help = 'Create a partner (if new) and a feed; prints {"slug", "token", "hmac_secret"} once.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--partner", required=True)
        parser.add_argument("--system", required=True, choices=System.values)
        parser.add_argument("--format", required=True, choices=FeedFormat.values)
        parser.add_argument("--require-signature", action="store_true")
        parser.add_argument(
            "--timezone", default="UTC", help="IANA zone for source times without an offset (default UTC)"
        )
        parser.add_argument("--mapping", help="custom-json: a JSON file with the feed's declarative mapping")

    def handle(self, *args: Any, **opts: Any) -> None:
        if Feed.objects.filter(slug=opts["slug"]).exists():
            raise CommandError(f"a feed with slug {opts['slug']!r} already exists")
        try:
            ZoneInfo(opts["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"--timezone: unknown zone {opts['timezone']!r} (want e.g. Europe/Berlin)") from None
        mapping = None
        if opts["mapping"]:
            if opts["format"] != "custom-json":
                raise CommandError("--mapping is for --format custom-json")
            try:
                mapping = json.loads(Path(opts["mapping"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"--mapping: {exc}") from None
            from apps.ingestion.formats.custom_json import mapping_errors

            errors = mapping_errors(mapping)
            if errors:
                raise CommandError("--mapping is invalid: " + "; ".join(errors))
        creds = feed_create(
            slug=opts["slug"],
            partner_name=opts["partner"],
            system=opts["system"],
            format=opts["format"],
            require_signature=opts["require_signature"],
            timezone=opts["timezone"],
            mapping=mapping,
        )
        self.stdout.write(json.dumps({"slug": creds.slug, "token": creds.token, "hmac_secret": creds.hmac_secret}))
