"""The onboarding wizard's writes, one service per step (docs/onboarding.md). Each needs an
actor with `manage_feeds` (PermissionDenied otherwise), locks the draft row while it changes
it, and is audited (`onboarding.*` on `onboarding:<id>`, plus the feed services' own
`feed.*` records). A step's rule is checked here, not in the views: the pages and the tests
go through the same gate."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from apps.accounts.permissions import has_capability
from apps.accounts.services import audit_record
from apps.common.time import now
from apps.feeds.choices import FeedFormat, FeedTransport
from apps.feeds.models import Feed, FeedCodeTable
from apps.feeds.services import FeedCredentials, feed_create, feed_set_paused
from apps.ingestion.dry_run import DryRun, dry_run
from apps.ingestion.feed_formats import FormatSettingsError, code_table_set, feed_mapping_set
from apps.ingestion.formats.custom_json import mapping_errors
from apps.polling.services import PollSettingsError, display_url, poll_configure

from .checks import FeedPlan, OnboardingError, partner_name_clean, plan_check
from .choices import STEP_ORDER, Step, step_index
from .models import OnboardingDraft

__all__ = [
    "FeedPlan",
    "OnboardingError",
    "draft_activate",
    "draft_continue",
    "draft_create_feed",
    "draft_discard",
    "draft_dry_run",
    "draft_set_code_table",
    "draft_set_feed",
    "draft_set_mapping",
    "draft_set_partner",
    "draft_start",
]

SAMPLE_MAX_BYTES = 1024 * 1024  # a larger dry-run body is run but not kept on the draft


def _require(actor: object) -> None:
    if not has_capability(actor, "manage_feeds"):
        raise PermissionDenied("onboarding a partner needs the manage_feeds capability (admins)")


def _locked(draft: OnboardingDraft) -> OnboardingDraft:
    """The draft's row, locked for the rest of the transaction (PostgreSQL; SQLite serialises
    writers anyway)."""
    return OnboardingDraft.objects.select_for_update(of=("self",)).select_related("feed").get(pk=draft.pk)


def _reach(draft: OnboardingDraft, step: str) -> None:
    if step_index(step) > step_index(draft.step):
        draft.step = step


def _audit(actor: object, draft: OnboardingDraft, action: str, **detail: Any) -> None:
    audit_record(actor=actor, action=f"onboarding.{action}", target=f"onboarding:{draft.pk}", detail=detail)


def _refresh(target: OnboardingDraft, source: OnboardingDraft) -> None:
    """The caller's instance follows the saved row."""
    for f in OnboardingDraft._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))
    target.feed = source.feed


def _not_done(draft: OnboardingDraft) -> None:
    if draft.completed_at is not None:
        raise OnboardingError(f"this onboarding was finished: feed {draft.slug} is active; change it on its page")


def _no_feed_yet(draft: OnboardingDraft) -> None:
    if draft.feed_id is not None:
        raise OnboardingError(
            f"feed {draft.slug} is made already; its partner and settings are changed on the feed's page"
        )


def _feed_of(draft: OnboardingDraft) -> Feed:
    if draft.feed is None:
        raise OnboardingError("the feed is not made yet: create it on the credentials step first")
    return draft.feed


# --- 1. partner --------------------------------------------------------------------------------


def draft_start(*, actor: object, partner_name: str) -> OnboardingDraft:
    """A new draft for a partner (an existing partner's name, or a new one)."""
    _require(actor)
    name = partner_name_clean(partner_name)
    user_model = get_user_model()
    with transaction.atomic():
        draft = OnboardingDraft.objects.create(
            partner_name=name, step=Step.FEED, created_by=actor if isinstance(actor, user_model) else None
        )
        _audit(actor, draft, "started", partner=name)
    return draft


def draft_set_partner(*, draft: OnboardingDraft, actor: object, partner_name: str) -> None:
    _require(actor)
    name = partner_name_clean(partner_name)
    with transaction.atomic():
        row = _locked(draft)
        _not_done(row)
        _no_feed_yet(row)
        if row.partner_name != name:
            row.partner_name = name
            _reach(row, Step.FEED)
            row.save()
            _audit(actor, row, "partner_set", partner=name)
    _refresh(draft, row)


# --- 2. feed -----------------------------------------------------------------------------------


def draft_set_feed(*, draft: OnboardingDraft, actor: object, plan: FeedPlan) -> None:
    """The feed's settings, checked; nothing is made yet (that is the next step)."""
    _require(actor)
    plan_check(plan, draft)
    with transaction.atomic():
        row = _locked(draft)
        _not_done(row)
        _no_feed_yet(row)
        polled = plan.transport == FeedTransport.POLL
        row.slug, row.system, row.format = plan.slug, plan.system, plan.format
        row.transport, row.timezone, row.require_signature = plan.transport, plan.timezone, plan.require_signature
        row.poll_url = plan.poll_url if polled else ""
        row.poll_interval_seconds = plan.poll_interval_seconds if polled else 60
        row.poll_headers = dict(plan.poll_headers or {}) if polled else {}
        _reach(row, Step.CREDENTIALS)
        row.save()
        detail: dict[str, Any] = {
            "slug": plan.slug,
            "system": plan.system,
            "format": plan.format,
            "transport": plan.transport,
        }
        if polled:  # header names only: their values are the partner's secrets
            detail |= {"poll_url": display_url(plan.poll_url), "poll_headers": sorted(row.poll_headers)}
        _audit(actor, row, "feed_planned", **detail)
    _refresh(draft, row)


# --- 3. credentials ----------------------------------------------------------------------------


def draft_create_feed(*, draft: OnboardingDraft, actor: object) -> FeedCredentials:
    """Make the feed, paused (its posts get 403 until activation), and return its credentials:
    the only time the token and the HMAC secret are seen in the clear."""
    _require(actor)
    with transaction.atomic():
        row = _locked(draft)
        _not_done(row)
        _no_feed_yet(row)
        if step_index(row.step) < step_index(Step.CREDENTIALS):
            raise OnboardingError("the feed's settings come first (the feed step)")
        if Feed.objects.filter(slug=row.slug).exists():
            raise OnboardingError(f"a feed {row.slug!r} was made meanwhile; choose another slug", field="slug")
        try:
            with transaction.atomic():
                credentials = feed_create(
                    slug=row.slug,
                    partner_name=row.partner_name,
                    system=row.system,
                    format=row.format,
                    require_signature=row.require_signature,
                    actor=actor,
                    timezone=row.timezone,
                    transport=row.transport,
                )
        except IntegrityError:
            raise OnboardingError(
                f"a feed {row.slug!r} was made meanwhile; choose another slug", field="slug"
            ) from None
        feed = Feed.objects.get(slug=credentials.slug)
        # Paused in the same transaction: no request finds the feed active before activation.
        feed_set_paused(feed=feed, paused=True, actor=actor)
        if row.transport == FeedTransport.POLL:
            try:  # the reference behaviour: the Next-Page-Cursor header, sent back as cursor=
                poll_configure(
                    feed=feed,
                    url=row.poll_url,
                    interval_seconds=row.poll_interval_seconds,
                    headers=dict(row.poll_headers),
                    actor=actor,
                )
            except PollSettingsError as exc:
                raise OnboardingError(str(exc), field="poll_url") from None
        feed.refresh_from_db()
        row.feed, row.poll_headers, row.credentials_shown_at = feed, {}, now()
        _reach(row, Step.CREDENTIALS)
        row.save()
        _audit(actor, row, "feed_created", feed=feed.slug, paused=True, transport=row.transport)
    _refresh(draft, row)
    return credentials


# --- 4. mapping --------------------------------------------------------------------------------


def draft_set_code_table(
    *, draft: OnboardingDraft, actor: object, table: str, entries: dict[str, Any], note: str = ""
) -> FeedCodeTable:
    """A new version of the feed's override of one code table (audited as
    feed.code_table_changed by the ingestion service)."""
    _require(actor)
    row = _open_with_feed(draft)
    try:
        return code_table_set(feed=_feed_of(row), table=table, entries=entries, actor=actor, note=note)
    except FormatSettingsError as exc:
        raise OnboardingError(str(exc), field="entries") from None


def draft_set_mapping(
    *, draft: OnboardingDraft, actor: object, mapping: dict[str, Any], sample: bytes | None = None
) -> None:
    """A custom-json feed's mapping, validated (mapping_errors) and saved (audited as
    feed.mapping_changed); the sample it was picked from is kept for the dry run."""
    _require(actor)
    row = _open_with_feed(draft)
    feed = _feed_of(row)
    errors = mapping_errors(mapping)
    if errors:
        raise OnboardingError("the mapping was not saved: " + "; ".join(errors), field="mapping")
    with transaction.atomic():
        try:
            feed_mapping_set(feed=feed, mapping=mapping, actor=actor)
        except FormatSettingsError as exc:
            raise OnboardingError(str(exc), field="mapping") from None
        if sample is not None and len(sample) <= SAMPLE_MAX_BYTES:
            OnboardingDraft.objects.filter(pk=row.pk).update(sample=sample, updated_at=now())
            draft.sample = sample
    if draft.feed is not None:
        draft.feed.mapping = dict(mapping)


def _open_with_feed(draft: OnboardingDraft) -> OnboardingDraft:
    row = OnboardingDraft.objects.select_related("feed").get(pk=draft.pk)
    _not_done(row)
    _feed_of(row)
    return row


# --- moving on ---------------------------------------------------------------------------------


def draft_continue(*, draft: OnboardingDraft, actor: object, from_step: str) -> str:
    """From the credentials, mapping or dry-run step to the next one, when the step's work is
    done; returns the step to show. From a step before the furthest reached, nothing changes."""
    _require(actor)
    if from_step not in (Step.CREDENTIALS, Step.MAPPING, Step.DRY_RUN):
        raise OnboardingError(f"no way on from the {from_step} step")
    following = STEP_ORDER[step_index(from_step) + 1]
    with transaction.atomic():
        row = _locked(draft)
        _not_done(row)
        feed = _feed_of(row)
        if step_index(from_step) < step_index(row.step):
            return following
        if step_index(from_step) > step_index(row.step):
            raise OnboardingError(f"the {row.get_step_display().lower()} step comes first")
        if from_step == Step.MAPPING and feed.format == FeedFormat.CUSTOM_JSON and mapping_errors(feed.mapping):
            raise OnboardingError("a custom-json feed reads nothing without a mapping: save a valid one first")
        if from_step == Step.DRY_RUN and row.dry_run_at is None:
            raise OnboardingError("run the feed on a sample first: the dry run shows what it would make")
        _reach(row, following)
        row.save()
        _audit(actor, row, "step_reached", step=following)
    _refresh(draft, row)
    return following


# --- 5. dry run --------------------------------------------------------------------------------


def draft_dry_run(*, draft: OnboardingDraft, actor: object, body: bytes, name: str = "") -> DryRun:
    """The feed's reading of a sample (apps.ingestion.dry_run: nothing is ingested); the draft
    keeps the sample (up to 1 MB) and the counts, so that the step can be resumed."""
    _require(actor)
    row = _open_with_feed(draft)
    if step_index(row.step) < step_index(Step.DRY_RUN):
        raise OnboardingError("finish the mapping step first")
    if not body.strip():
        raise OnboardingError("paste a sample or choose a file: what the partner would send", field="sample")
    if len(body) > settings.INGEST_MAX_BODY_BYTES:
        raise OnboardingError(
            "the sample is over 5 MB: dry-run a part of it (larger files are uploaded once the feed is active)",
            field="sample",
        )
    result = dry_run(feed=_feed_of(row), body=body)
    with transaction.atomic():
        row = _locked(draft)
        if len(body) <= SAMPLE_MAX_BYTES:
            row.sample, row.sample_name = body, name[:200]
        row.dry_run_at = now()
        row.dry_run_events, row.dry_run_rejected = len(result.events), len(result.rejected)
        row.dry_run_errors = len(result.errors)
        _reach(row, Step.ACTIVATE)
        row.save()
        _audit(
            actor,
            row,
            "dry_run",
            events=row.dry_run_events,
            rejected=row.dry_run_rejected,
            errors=row.dry_run_errors,
            sample=name[:200],
        )
    _refresh(draft, row)
    return result


# --- 6. activate -------------------------------------------------------------------------------


def draft_activate(*, draft: OnboardingDraft, actor: object) -> Feed:
    """Unpause the feed (audited as feed.resumed) and close the draft. Compare-and-set: a second
    activation is refused."""
    _require(actor)
    with transaction.atomic():
        row = _locked(draft)
        _not_done(row)
        feed = _feed_of(row)
        if row.step != Step.ACTIVATE or row.dry_run_at is None:
            raise OnboardingError("dry-run the feed on a sample before activating it")
        if feed.format == FeedFormat.CUSTOM_JSON and mapping_errors(feed.mapping):
            raise OnboardingError("the feed's mapping is not valid: fix it on the mapping step")
        closed = OnboardingDraft.objects.filter(pk=row.pk, completed_at__isnull=True).update(completed_at=now())
        if closed != 1:
            raise OnboardingError("this onboarding was finished meanwhile")
        feed_set_paused(feed=feed, paused=False, actor=actor)
        _audit(actor, row, "activated", feed=feed.slug)
        row.refresh_from_db()
    _refresh(draft, row)
    feed.refresh_from_db()
    return feed


def draft_discard(*, draft: OnboardingDraft, actor: object) -> None:
    """Drop a draft whose feed is not made yet (a made feed stays, paused, and is finished or
    left on its page)."""
    _require(actor)
    with transaction.atomic():
        row = _locked(draft)
        _not_done(row)
        _no_feed_yet(row)
        _audit(actor, row, "discarded", partner=row.partner_name, slug=row.slug)
        row.delete()
