"""The onboarding wizard's pages (docs/onboarding.md): partner → feed → credentials → mapping
→ dry run → activate. Thin: each POST goes to one service of services.py, whose
OnboardingError lands on the form. Admins only (`manage_feeds`); the services check it again.
The mapping step's page is in mapping_views.py."""

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_POST

from apps.feeds.choices import FeedTransport
from apps.ingestion.formats import FORMATS

from .choices import STEP_ORDER, Step, step_index
from .forms import DryRunForm, FeedForm, PartnerForm
from .guide import FORMAT_HELP, TRANSPORT_HELP, content_type_of, examples
from .models import OnboardingDraft
from .selectors import draft_get, draft_list, partner_names, recently_completed
from .services import (
    OnboardingError,
    draft_activate,
    draft_continue,
    draft_create_feed,
    draft_discard,
    draft_dry_run,
    draft_set_feed,
    draft_set_partner,
    draft_start,
)
from .zones import zone_names

manage = permission_required("accounts.manage_feeds", raise_exception=True)

STEP_URLS: dict[str, str] = {
    Step.PARTNER: "onboarding-partner",
    Step.FEED: "onboarding-feed",
    Step.CREDENTIALS: "onboarding-credentials",
    Step.MAPPING: "onboarding-mapping",
    Step.DRY_RUN: "onboarding-dry-run",
    Step.ACTIVATE: "onboarding-activate",
}


def draft_or_404(draft_id: int) -> OnboardingDraft:
    draft = draft_get(draft_id=draft_id)
    if draft is None:
        raise Http404("no such onboarding")
    return draft


def step_redirect(draft: OnboardingDraft) -> HttpResponse:
    """Where a draft is resumed: its feed's page when finished, else the furthest step."""
    if draft.completed_at is not None and draft.feed is not None:
        return redirect("feed-detail", slug=draft.feed.slug)
    return redirect(STEP_URLS[draft.step], draft_id=draft.pk)


def not_yet(draft: OnboardingDraft, step: str) -> HttpResponse | None:
    """A redirect when the page's step cannot be shown (not reached yet, or all done)."""
    if draft.completed_at is not None or step_index(step) > step_index(draft.step):
        return step_redirect(draft)
    return None


def steps_of(draft: OnboardingDraft | None, current: str) -> list[dict[str, Any]]:
    """The steps bar: each step, its state (done, current, next: the furthest reached, todo)
    and its link when it can be opened."""
    reached = step_index(draft.step) if draft is not None else 0
    out = []
    for index, step in enumerate(STEP_ORDER):
        state = "done" if index < reached else ("next" if index == reached else "todo")
        if step == current:
            state = "current"
        url = reverse(STEP_URLS[step], args=[draft.pk]) if draft is not None and index <= reached else None
        out.append({"step": step, "label": Step(step).label, "number": index + 1, "state": state, "url": url})
    return out


def page(request: HttpRequest, template: str, draft: OnboardingDraft | None, step: str, **context: Any) -> HttpResponse:
    context |= {"draft": draft, "steps": steps_of(draft, step), "step": step}
    return render(request, template, context)


def error_on(form: Form, exc: OnboardingError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
@manage
def index(request: HttpRequest) -> HttpResponse:
    context = {"drafts": draft_list(), "completed": recently_completed()}
    return render(request, "onboarding/index.html", context)


@login_required
@manage
def start(request: HttpRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None, partners=partner_names())
    if request.method == "POST" and form.is_valid():
        try:
            draft = draft_start(actor=request.user, partner_name=form.cleaned_data["partner_name"])
        except OnboardingError as exc:
            error_on(form, exc)
        else:
            return redirect("onboarding-feed", draft_id=draft.pk)
    return page(request, "onboarding/partner.html", None, Step.PARTNER, form=form)


@login_required
@manage
def resume(request: HttpRequest, draft_id: int) -> HttpResponse:
    return step_redirect(draft_or_404(draft_id))


@login_required
@manage
def partner(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = draft_or_404(draft_id)
    if (early := not_yet(draft, Step.PARTNER)) is not None:
        return early
    names = partner_names()
    known = draft.partner_name in names
    initial = {"existing": draft.partner_name} if known else {"new_name": draft.partner_name}
    form = PartnerForm(request.POST or None, partners=names, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            draft_set_partner(draft=draft, actor=request.user, partner_name=form.cleaned_data["partner_name"])
        except OnboardingError as exc:
            error_on(form, exc)
        else:
            return redirect("onboarding-feed", draft_id=draft.pk)
    return page(request, "onboarding/partner.html", draft, Step.PARTNER, form=form)


@login_required
@manage
def feed(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = draft_or_404(draft_id)
    if (early := not_yet(draft, Step.FEED)) is not None:
        return early
    initial = {
        "slug": draft.slug,
        "system": draft.system,
        "format": draft.format,
        "transport": draft.transport,
        "timezone": draft.timezone,
        "require_signature": draft.require_signature,
        "poll_url": draft.poll_url,
        "poll_interval_seconds": draft.poll_interval_seconds,
        "poll_headers": "\n".join(f"{k}: {v}" for k, v in (draft.poll_headers or {}).items()),
    }
    form = FeedForm(request.POST or None, initial=initial)
    if request.method == "POST" and draft.feed is None and form.is_valid():
        try:
            draft_set_feed(draft=draft, actor=request.user, plan=form.plan())
        except OnboardingError as exc:
            error_on(form, exc)
        else:
            return redirect("onboarding-credentials", draft_id=draft.pk)
    return page(request, "onboarding/feed.html", draft, Step.FEED, form=form, zones=zone_names())


@login_required
@manage
def credentials(request: HttpRequest, draft_id: int) -> HttpResponse:
    """GET: what will be made, or (once made) that the credentials were shown. POST
    `action=create`: make the feed and show its credentials in this response only."""
    draft = draft_or_404(draft_id)
    if (early := not_yet(draft, Step.CREDENTIALS)) is not None:
        return early
    error = None
    if request.method == "POST" and request.POST.get("action") == "continue":
        return _continue(request, draft, Step.CREDENTIALS)
    if request.method == "POST" and request.POST.get("action") == "create":
        try:
            creds = draft_create_feed(draft=draft, actor=request.user)
        except OnboardingError as exc:
            error = exc.message
        else:
            shown = examples(
                base_url=request.build_absolute_uri("/").rstrip("/"),
                slug=creds.slug,
                format=draft.format,
                token=creds.token,
                hmac_secret=creds.hmac_secret,
                signed_only=draft.require_signature,
            )
            response = page(
                request,
                "onboarding/credentials.html",
                draft,
                Step.CREDENTIALS,
                creds=creds,
                examples=shown,
                content_type=content_type_of(draft.format),
            )
            add_never_cache_headers(response)  # the secrets must not stay in a cache or the history
            return response
    return page(
        request,
        "onboarding/credentials.html",
        draft,
        Step.CREDENTIALS,
        error=error,
        format_help=FORMAT_HELP.get(draft.format, ""),
        transport_help=TRANSPORT_HELP.get(draft.transport, ""),
        content_type=content_type_of(draft.format) if draft.format else "",
    )


def _continue(request: HttpRequest, draft: OnboardingDraft, from_step: str) -> HttpResponse:
    try:
        following = draft_continue(draft=draft, actor=request.user, from_step=from_step)
    except OnboardingError as exc:
        flash.error(request, exc.message)
        return redirect(STEP_URLS[from_step], draft_id=draft.pk)
    return redirect(STEP_URLS[following], draft_id=draft.pk)


@login_required
@manage
def dry_run(request: HttpRequest, draft_id: int) -> HttpResponse:
    """POST: the feed's reading of the sample, swapped into #dry-run-result by htmx (the whole
    page without JavaScript); `action=continue`: on to activation."""
    draft = draft_or_404(draft_id)
    if (early := not_yet(draft, Step.DRY_RUN)) is not None:
        return early
    if request.method == "POST" and request.POST.get("action") == "continue":
        return _continue(request, draft, Step.DRY_RUN)
    result = None
    form = DryRunForm(request.POST or None, request.FILES or None, initial={"sample": draft.sample_text})
    if request.method == "POST" and form.is_valid():
        body, name = form.body()
        try:
            result = draft_dry_run(draft=draft, actor=request.user, body=body, name=name)
        except OnboardingError as exc:
            error_on(form, exc)
    assert draft.feed is not None
    response = page(
        request,
        "onboarding/dry_run.html",
        draft,
        Step.DRY_RUN,
        form=form,
        result=result,
        event_rows=[(e, _refs_text(e.get("refs", {}))) for e in result.events] if result else [],
        accepted_types=", ".join(FORMATS[draft.feed.format].content_types),
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _refs_text(refs: dict[str, Any]) -> list[tuple[str, str]]:
    return [(kind, ", ".join(ids) if isinstance(ids, list) else str(ids)) for kind, ids in refs.items()]


@login_required
@manage
def activate(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = draft_or_404(draft_id)
    if (early := not_yet(draft, Step.ACTIVATE)) is not None:
        return early
    error = None
    if request.method == "POST":
        try:
            activated = draft_activate(draft=draft, actor=request.user)
        except OnboardingError as exc:
            error = exc.message
        else:
            flash.success(request, f"Feed {activated.slug} is active: the partner's messages are now taken in.")
            return redirect("feed-detail", slug=activated.slug)
    polled = draft.transport == FeedTransport.POLL
    return page(request, "onboarding/activate.html", draft, Step.ACTIVATE, error=error, polled=polled)


@login_required
@manage
@require_POST
def discard(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = draft_or_404(draft_id)
    try:
        draft_discard(draft=draft, actor=request.user)
    except OnboardingError as exc:
        flash.error(request, exc.message)
        return step_redirect(draft)
    flash.success(request, f"The onboarding of {draft.title} was discarded.")
    return redirect("onboarding")
