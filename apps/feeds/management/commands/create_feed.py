import json
from typing import Any

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

    def handle(self, *args: Any, **opts: Any) -> None:
        if Feed.objects.filter(slug=opts["slug"]).exists():
            raise CommandError(f"a feed with slug {opts['slug']!r} already exists")
        creds = feed_create(
            slug=opts["slug"],
            partner_name=opts["partner"],
            system=opts["system"],
            format=opts["format"],
            require_signature=opts["require_signature"],
        )
        self.stdout.write(json.dumps({"slug": creds.slug, "token": creds.token, "hmac_secret": creds.hmac_secret}))
