from datetime import datetime
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet, Sum

from .choices import MessageStatus
from .health import feed_health_list as feed_health_list  # the overview's rows (apps/ingestion/health.py)
from .models import IngestFile, RawMessage


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


def messages_with_rejections(*, feed_slug: str) -> QuerySet[RawMessage]:
    return message_list(feed_slug=feed_slug).exclude(rejections=[])


def file_get(*, file_id: UUID | str) -> IngestFile | None:
    try:
        return IngestFile.objects.select_related("feed", "uploaded_by").filter(id=file_id).first()
    except ValidationError:
        return None


def file_list(*, feed_slug: str | None = None) -> QuerySet[IngestFile]:
    qs = IngestFile.objects.select_related("feed", "uploaded_by").order_by("-received_at")
    return qs.filter(feed__slug=feed_slug) if feed_slug else qs


def file_progress(*, file_id: UUID) -> dict[str, int]:
    """What became of a file's messages: how many in each status, and the events accepted,
    duplicated and rejected over all of them (one grouped query)."""
    rows = (
        RawMessage.objects.filter(file_id=file_id)
        .values("status")
        .annotate(n=Count("id"), accepted=Sum("accepted"), duplicates=Sum("duplicates"))
    )
    out = dict.fromkeys(MessageStatus.values, 0) | {"accepted": 0, "duplicates": 0}
    for row in rows:
        out[row["status"]] = row["n"]
        out["accepted"] += row["accepted"] or 0
        out["duplicates"] += row["duplicates"] or 0
    out["messages"] = sum(out[s] for s in MessageStatus.values)
    out["finished"] = out["messages"] - out[MessageStatus.RECEIVED] - out[MessageStatus.PROCESSING]
    return out


def file_rejections(*, file_id: UUID, limit: int = 50) -> list[dict[str, object]]:
    """The first rejected events of a file's messages, each with its message."""
    out: list[dict[str, object]] = []
    rows = (
        RawMessage.objects.filter(file_id=file_id)
        .exclude(rejections=[])
        .order_by("file_part")
        .values_list("id", "file_part", "rejections")
    )
    for message_id, part, rejections in rows.iterator(chunk_size=20):
        for rejection in rejections:
            out.append({"message_id": message_id, "part": part, **rejection})
            if len(out) >= limit:
                return out
    return out


def file_orders(*, file_id: UUID, limit: int = 50) -> list[str]:
    """The orders the file's events landed on (the first ones, by order id)."""
    from apps.correlation.models import TimelineEntry

    return list(
        TimelineEntry.objects.filter(event__message__file_id=file_id)
        .values_list("order__value", flat=True)
        .distinct()
        .order_by("order__value")[:limit]
    )
