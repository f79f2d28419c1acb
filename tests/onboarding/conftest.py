"""Shared helpers of the onboarding tests: an admin, and a draft brought to a given step
through the real services."""

from typing import Any

import pytest

from apps.onboarding.models import OnboardingDraft
from apps.onboarding.services import FeedPlan, draft_continue, draft_create_feed, draft_set_feed, draft_start
from tests.factories import UserFactory

CSV_SAMPLE = (
    b"event_id,type,occurred_at,refs.order,location.code\n"
    b"w-1,pick.completed,2026-11-25T10:15:00+01:00,SO-77,DC-EAST\n"
    b"w-2,pack.completed,2026-11-25T11:00:00+01:00,SO-77,DC-EAST\n"
)


@pytest.fixture
def admin(db: None) -> Any:
    return UserFactory(username="ada", role="admin")


@pytest.fixture
def ops_lead(db: None) -> Any:
    return UserFactory(username="olli", role="ops_lead")


def planned(actor: Any, *, slug: str = "acme-wms", format: str = "canonical-csv", **plan: Any) -> OnboardingDraft:
    """A draft with its partner and feed settings saved (the feed is not made yet)."""
    draft = draft_start(actor=actor, partner_name=plan.pop("partner", "ACME Logistics"))
    fields = {"system": "wms", "transport": "push", "timezone": "Europe/Berlin"} | plan
    draft_set_feed(draft=draft, actor=actor, plan=FeedPlan(slug=slug, format=format, **fields))
    return draft


def made(actor: Any, **plan: Any) -> tuple[OnboardingDraft, Any]:
    """A draft whose feed is made (paused), on the mapping step; and its credentials."""
    draft = planned(actor, **plan)
    creds = draft_create_feed(draft=draft, actor=actor)
    draft_continue(draft=draft, actor=actor, from_step="credentials")
    return draft, creds
