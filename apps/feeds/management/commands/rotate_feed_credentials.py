import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.feeds.models import Feed
from apps.feeds.services import (
    DEFAULT_OVERLAP,
    MAX_OVERLAP,
    CredentialConflict,
    feed_rotate_hmac_secret,
    feed_rotate_token,
)

ACTOR = "manage.py rotate_feed_credentials"  # the audit log's actor: done on the server's shell


class Command(BaseCommand):
    help = (
        "Rotate a feed's token and/or HMAC secret; the old one stays accepted for --overlap-hours "
        '(default 24, 0: refused at once). Prints {"slug", "token"?, "hmac_secret"?, '
        '"previous_expires_at"} once.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--feed", required=True, help="the feed's slug")
        parser.add_argument("--token", action="store_true", help="issue a new token")
        parser.add_argument("--hmac-secret", action="store_true", help="issue a new HMAC secret")
        parser.add_argument(
            "--overlap-hours",
            type=float,
            default=DEFAULT_OVERLAP.total_seconds() / 3600,
            help="hours in which the old credential is still accepted (default 24; 0 for a leaked one)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not (opts["token"] or opts["hmac_secret"]):
            raise CommandError("say what to rotate: --token, --hmac-secret, or both")
        overlap = timedelta(hours=opts["overlap_hours"])
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise CommandError(f"--overlap-hours: between 0 and {MAX_OVERLAP.days * 24}")
        feed = Feed.objects.filter(slug=opts["feed"]).first()
        if feed is None:
            raise CommandError(f"no feed {opts['feed']!r}")
        out: dict[str, Any] = {"slug": feed.slug}
        failed = ""
        try:
            if opts["token"]:
                out["token"] = feed_rotate_token(feed=feed, overlap=overlap, actor=ACTOR).token
            if opts["hmac_secret"]:
                out["hmac_secret"] = feed_rotate_hmac_secret(feed=feed, overlap=overlap, actor=ACTOR)
        except CredentialConflict as exc:
            failed = str(exc)
        expires = feed.previous_token_expires_at if "token" in out else feed.previous_hmac_expires_at
        out["previous_expires_at"] = expires.isoformat() if expires else None
        if len(out) > 2:  # whatever was issued is printed, even when the other rotation lost a race
            self.stdout.write(json.dumps(out))
        if failed:
            raise CommandError(f"{failed} (run the command again)")
