from django.db.models import QuerySet

from .models import Feed


def feed_list() -> QuerySet[Feed]:
    return Feed.objects.select_related("partner").order_by("slug")


def feed_get(*, slug: str) -> Feed | None:
    return Feed.objects.select_related("partner").filter(slug=slug).first()
