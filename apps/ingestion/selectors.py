from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet

from .choices import MessageStatus
from .models import RawMessage


def message_list(
    *, feed_slug: str | None = None, status: str | None = None, since: datetime | None = None
) -> QuerySet[RawMessage]:
    qs = RawMessage.objects.select_related("feed").defer("body").order_by("-received_at")
    if feed_slug:
        qs = qs.filter(feed__slug=feed_slug)
    if status:
        qs = qs.filter(status=status)
    if since:
        qs = qs.filter(received_at__gte=since)
    return qs


def dead_letter_list() -> QuerySet[RawMessage]:
    return message_list(status=MessageStatus.FAILED)


def message_get(*, message_id: UUID | str) -> RawMessage | None:
    return RawMessage.objects.select_related("feed").filter(id=message_id).first()


def feed_health_list() -> list[dict[str, object]]:
    """Each feed with its last message time and counts of the last 24 h (one grouped query)."""
    from datetime import timedelta

    from django.db.models import Count, Max, Q

    from apps.common.time import now
    from apps.feeds.models import Feed

    since = now() - timedelta(hours=24)
    feeds = Feed.objects.select_related("partner").annotate(
        last_received_at=Max("messages__received_at"),
        messages_24h=Count("messages", filter=Q(messages__received_at__gte=since)),
        failed_24h=Count("messages", filter=Q(messages__received_at__gte=since, messages__status=MessageStatus.FAILED)),
        rejected_24h=Count(
            "messages", filter=Q(messages__received_at__gte=since, messages__status=MessageStatus.REJECTED)
        ),
    )
    return [
        {
            "feed": f,
            "last_received_at": f.last_received_at,
            "messages_24h": f.messages_24h,
            "failed_24h": f.failed_24h,
            "rejected_24h": f.rejected_24h,
            "silent": f.last_received_at is None or f.last_received_at < now() - f.max_silence,
        }
        for f in feeds.order_by("slug")
    ]


def messages_with_rejections(*, feed_slug: str) -> QuerySet[RawMessage]:
    return message_list(feed_slug=feed_slug).exclude(rejections=[])
