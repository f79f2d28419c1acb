"""A polled feed's card on its page, and "Poll now" (admins): one round here and now, whether
due or not, with what it did in the flash message (apps/polling)."""

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.accounts.services import audit_record
from apps.feeds.models import Feed, FeedPoll
from apps.feeds.selectors import feed_get
from apps.polling.services import display_url, poll_now

_OUTCOMES = {
    "drained": "fetched everything new",
    "more": "stopped at the page cap; the next round goes on at once",
    "failed": "failed; backing off",
    "paused": "the feed is paused",
    "skipped": "another round has it right now",
    "lost": "another round took it over",
}


def feed_poll_panel(feed: Feed) -> dict[str, Any] | None:
    """What the feed page shows of its polling: None for a feed that is not polled."""
    poll = FeedPoll.objects.filter(feed=feed).first()
    if poll is None:
        return None
    return {
        "poll": poll,
        "url": display_url(poll.url),
        "headers": sorted(poll.headers),  # names only: values are often credentials
    }


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def feed_poll_now(request: HttpRequest, slug: str) -> HttpResponse:
    feed = feed_get(slug=slug)
    if feed is None or not FeedPoll.objects.filter(feed=feed).exists():
        raise Http404("no such polled feed")
    result = poll_now(feed=feed)
    audit_record(
        actor=request.user,
        action="feed.polled_now",
        target=f"feed:{feed.slug}",
        detail={"outcome": result.outcome, "pages": result.pages, "status": result.status},
    )
    text = (
        f"Polled {feed.slug}: {result.pages} page{'s' if result.pages != 1 else ''}, "
        f"{len(result.messages)} new message{'s' if len(result.messages) != 1 else ''}; "
        f"{_OUTCOMES.get(result.outcome, result.outcome)}."
    )
    if result.outcome == "failed":
        flash.error(request, f"{text} {result.error}".strip())
    else:
        flash.success(request, text)
    return redirect("feed-detail", slug=slug)
