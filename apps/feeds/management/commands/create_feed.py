import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.events.taxonomy import System
from apps.feeds.choices import FeedFormat, FeedTransport
from apps.feeds.models import Feed
from apps.feeds.services import feed_create
from apps.polling.services import (
    CURSOR_SOURCES,
    DEFAULT_INTERVAL_SECONDS,
    PollSettingsError,
    headers_parse,
    poll_configure,
    poll_settings_errors,
)

POLL_FLAGS = ("poll_url", "poll_interval", "poll_header", "poll_cursor_from", "poll_cursor_name", "poll_cursor_param")


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
        parser.add_argument(
            "--transport",
            default=FeedTransport.PUSH,
            choices=FeedTransport.values,
            help="push (the partner posts, default), file (uploads) or poll (the control tower pulls --poll-url)",
        )
        poll = parser.add_argument_group("polled feeds (--transport poll; docs/polling.md)")
        poll.add_argument("--poll-url", help="the partner's URL, fetched with GET (required with --transport poll)")
        poll.add_argument(
            "--poll-interval",
            type=int,
            metavar="SECONDS",
            help=f"seconds between rounds (default {DEFAULT_INTERVAL_SECONDS})",
        )
        poll.add_argument(
            "--poll-header",
            action="append",
            metavar='"NAME: VALUE"',
            help="sent with every GET, e.g. 'Authorization: Bearer …' or 'X-API-Key: …' (repeatable)",
        )
        poll.add_argument(
            "--poll-cursor-from",
            choices=list(CURSOR_SOURCES),
            help="where the next page's cursor is: header (Next-Page-Cursor, default), link (Link rel=next), "
            "field (a path in the JSON body)",
        )
        poll.add_argument("--poll-cursor-name", help="the cursor's header name, or the response field's dotted path")
        poll.add_argument("--poll-cursor-param", help="the query parameter the cursor is sent in (default cursor)")

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
        poll = self._poll_settings(opts)
        with transaction.atomic():  # a polled feed is made whole or not at all
            creds = feed_create(
                slug=opts["slug"],
                partner_name=opts["partner"],
                system=opts["system"],
                format=opts["format"],
                require_signature=opts["require_signature"],
                timezone=opts["timezone"],
                mapping=mapping,
                transport=opts["transport"],
            )
            if poll is not None:
                poll_configure(feed=Feed.objects.get(slug=creds.slug), **poll)
        self.stdout.write(json.dumps({"slug": creds.slug, "token": creds.token, "hmac_secret": creds.hmac_secret}))
        if poll is not None:
            self.stderr.write(f"polling {poll['url']} every {poll['interval_seconds']} s (first round at once)")

    def _poll_settings(self, opts: dict[str, Any]) -> dict[str, Any] | None:
        """The poll settings from the flags (None for a push or file feed). CommandError when
        they do not fit the transport or cannot be saved."""
        given = [f"--{name.replace('_', '-')}" for name in POLL_FLAGS if opts.get(name) is not None]
        if opts["transport"] != FeedTransport.POLL:
            if given:
                raise CommandError(f"{', '.join(given)}: only with --transport poll")
            return None
        if not opts.get("poll_url"):
            raise CommandError("--transport poll needs --poll-url (the partner's URL to GET)")
        try:
            headers = headers_parse(opts.get("poll_header") or [])
        except PollSettingsError as exc:
            raise CommandError(f"--poll-header: {exc}") from None
        settings: dict[str, Any] = {
            "url": opts["poll_url"],
            "interval_seconds": DEFAULT_INTERVAL_SECONDS if opts["poll_interval"] is None else opts["poll_interval"],
            "headers": headers,
            "cursor_from": opts.get("poll_cursor_from") or "header",
            "cursor_name": opts.get("poll_cursor_name") or "",
            "cursor_param": opts.get("poll_cursor_param") or "cursor",
        }
        errors = poll_settings_errors(**settings)
        if errors:
            raise CommandError("; ".join(errors))
        return settings
