"""Reads for the onboarding wizard: the drafts in progress, the partners to choose from, and a
feed's code tables with their codes (for the mapping step)."""

from typing import Any

from django.db.models import QuerySet

from apps.feeds.models import Feed, Partner
from apps.ingestion.feed_formats import feed_code_table_summary, feed_context, feed_overrides

from .models import OnboardingDraft


def draft_list() -> QuerySet[OnboardingDraft]:
    """The onboardings in progress, the most recently touched first."""
    return (
        OnboardingDraft.objects.filter(completed_at__isnull=True)
        .select_related("feed", "created_by")
        .defer("sample")
        .order_by("-updated_at", "-id")
    )


def recently_completed(limit: int = 10) -> QuerySet[OnboardingDraft]:
    return (
        OnboardingDraft.objects.filter(completed_at__isnull=False)
        .select_related("feed", "created_by")
        .defer("sample")
        .order_by("-completed_at")[:limit]
    )


def draft_get(*, draft_id: int) -> OnboardingDraft | None:
    return OnboardingDraft.objects.select_related("feed", "feed__partner", "created_by").filter(pk=draft_id).first()


def partner_names() -> list[str]:
    return list(Partner.objects.order_by("name").values_list("name", flat=True))


def code_tables(feed: Feed) -> list[dict[str, Any]]:
    """Each table of the feed: name, title, codes and version in force (as the feed page), the
    codes in force (code → type), and the feed's own override now in force, if any."""
    context = feed_context(feed)
    overrides = feed_overrides(feed.pk)
    rows = []
    for table in feed_code_table_summary(feed):
        name = table["name"]
        rows.append(
            table
            | {
                "entries": sorted(context.codes.entries(name).items()),
                "override": overrides.get(name, (0, {}))[1],
            }
        )
    return rows
