"""The simulator's four partner feeds."""

import secrets
from datetime import timedelta
from pathlib import Path

from apps.events.taxonomy import System
from apps.feeds.choices import FeedFormat
from apps.feeds.models import Feed
from apps.feeds.services import FeedCredentials, feed_create, feed_rotate_token
from apps.polling.services import poll_configure

from .partner_api import API_KEY_HEADER, PartnerApi

PARTNER_NAMES: dict[str, str] = {
    System.ERP: "Simulated ERP",
    System.WMS: "Simulated WMS",
    System.TMS: "Simulated TMS",
    System.LASTMILE: "Simulated last mile",
}


def simulation_feeds_ensure(*, prefix: str = "sim") -> dict[str, FeedCredentials]:
    """Feeds `<prefix>-erp`, `<prefix>-wms`, `<prefix>-tms` and `<prefix>-lastmile`, keyed by
    system, with a token that works now: a new feed shows its token once, an existing one has
    its token rotated (only hashes are stored), which ends any other simulator's posts to it."""
    creds: dict[str, FeedCredentials] = {}
    for system in System.values:
        slug = f"{prefix}-{system}"
        feed = Feed.objects.filter(slug=slug).first()
        if feed is None:
            creds[system] = feed_create(
                slug=slug,
                partner_name=PARTNER_NAMES[system],
                system=system,
                format=FeedFormat.CANONICAL_JSON,
            )
        else:
            # No overlap: the simulator's previous run must stop being able to post at once.
            creds[system] = feed_rotate_token(feed=feed, overlap=timedelta(0))
    return creds


def polled_partner_start(*, feed_slug: str, interval_seconds: int) -> PartnerApi:
    """Serve a partner API on a free local port and make `feed_slug` a feed polling it with the
    reference paging (header cursor), a fresh API key and its cursor reset (the new API starts
    from its first event)."""
    api_key = secrets.token_urlsafe(24)
    partner = PartnerApi(api_key=api_key).start()
    poll_configure(
        feed=Feed.objects.get(slug=feed_slug),
        url=partner.url,
        interval_seconds=interval_seconds,
        headers={API_KEY_HEADER: api_key},
        reset_cursor=True,
        actor="simulate",
    )
    return partner


def format_feeds_ensure() -> Path:
    """One feed of each standard format (created once; an existing one is left as it is) and
    its sample written to var/demo-samples/. Returns that directory."""
    from django.conf import settings

    from apps.feeds.models import Feed
    from apps.feeds.services import feed_create

    from .format_samples import FORMAT_SAMPLES

    directory = Path(settings.BASE_DIR) / "var" / "demo-samples"
    directory.mkdir(parents=True, exist_ok=True)
    for sample in FORMAT_SAMPLES:
        if not Feed.objects.filter(slug=sample.slug).exists():
            feed_create(
                slug=sample.slug,
                partner_name=sample.partner,
                system=sample.system,
                format=sample.fmt,
                mapping=sample.mapping or None,
                actor="seed_demo",
            )
            # They speak only when an admin tries a sample: not "silent" in the demo's queue.
            Feed.objects.filter(slug=sample.slug).update(silence_auto=False, max_silence=timedelta(days=30))
        (directory / sample.filename).write_bytes(sample.body)
    return directory
