"""The checks of the wizard's first two steps (the partner's name, the feed's settings), and
the error every step raises. Nothing here writes."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug

from apps.events.taxonomy import System
from apps.feeds.choices import FeedFormat, FeedTransport
from apps.feeds.models import Feed
from apps.polling.services import poll_settings_errors

from .models import OnboardingDraft
from .zones import is_zone

POLL_INTERVAL_RANGE = (10, 86_400)


class OnboardingError(ValueError):
    """A step that cannot be saved. `field` names the form field at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def partner_name_clean(value: str) -> str:
    """The name with its spaces normalised; OnboardingError when empty or too long."""
    name = " ".join((value or "").split())
    if not name:
        raise OnboardingError("choose a partner or type the new partner's name", field="partner_name")
    if len(name) > 200:
        raise OnboardingError("a partner's name has at most 200 characters", field="partner_name")
    return name


@dataclass(frozen=True)
class FeedPlan:
    slug: str
    system: str
    format: str
    transport: str = FeedTransport.PUSH
    timezone: str = "UTC"
    require_signature: bool = False
    poll_url: str = ""
    poll_interval_seconds: int = 60
    poll_headers: dict[str, str] | None = None


def plan_check(plan: FeedPlan, draft: OnboardingDraft) -> None:
    """OnboardingError naming the first field at fault: the slug (free, and not reserved by
    another draft in progress), the choices, the IANA zone, and a polled feed's settings."""
    try:
        validate_slug(plan.slug)
    except ValidationError:
        raise OnboardingError("letters, digits, - and _ only (e.g. acme-wms)", field="slug") from None
    if len(plan.slug) > 100:
        raise OnboardingError("at most 100 characters", field="slug")
    if Feed.objects.filter(slug=plan.slug).exists():
        raise OnboardingError(f"a feed {plan.slug!r} exists already; choose another slug", field="slug")
    others = OnboardingDraft.objects.filter(slug=plan.slug, completed_at__isnull=True).exclude(pk=draft.pk)
    if others.exists():
        raise OnboardingError(f"another onboarding in progress uses {plan.slug!r}", field="slug")
    if plan.system not in System.values:
        raise OnboardingError("choose the partner's system", field="system")
    if plan.format not in FeedFormat.values:
        raise OnboardingError("choose one of the formats", field="format")
    if plan.transport not in FeedTransport.values:
        raise OnboardingError("choose push, file or poll", field="transport")
    if not is_zone(plan.timezone):
        raise OnboardingError(f"{plan.timezone!r} is not an IANA time zone (e.g. Europe/Berlin)", field="timezone")
    if plan.transport != FeedTransport.POLL:
        return
    try:
        URLValidator(schemes=["http", "https"])(plan.poll_url)
    except ValidationError:
        raise OnboardingError("the partner's http(s) URL to GET", field="poll_url") from None
    if urlsplit(plan.poll_url).username:
        raise OnboardingError("put credentials in a header (Authorization), not in the URL", field="poll_url")
    low, high = POLL_INTERVAL_RANGE
    if not low <= plan.poll_interval_seconds <= high:
        raise OnboardingError(f"between {low} and {high} seconds", field="poll_interval_seconds")
    errors = poll_settings_errors(
        url=plan.poll_url, interval_seconds=plan.poll_interval_seconds, headers=plan.poll_headers or {}
    )
    if errors:  # the polling transport's own rules (apps/polling/config.py)
        raise OnboardingError("; ".join(errors), field="poll_headers" if "header" in errors[0] else "poll_url")
