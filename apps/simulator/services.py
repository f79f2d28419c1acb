"""The simulator's four partner feeds."""

from datetime import timedelta

from apps.events.taxonomy import System
from apps.feeds.choices import FeedFormat
from apps.feeds.models import Feed
from apps.feeds.services import FeedCredentials, feed_create, feed_rotate_token

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
