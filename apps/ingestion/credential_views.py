"""A feed's credentials on its page: when each was last used, and (manage_feeds) rotating the
token or the HMAC secret with an overlap; the new one is shown once, on the page after the POST."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from apps.accounts.models import AuditLog
from apps.common.time import now
from apps.feeds.choices import FeedTransport
from apps.feeds.models import Feed
from apps.feeds.selectors import feed_get
from apps.feeds.services import (
    DEFAULT_OVERLAP,
    HMAC_ROTATED,
    MAX_OVERLAP,
    SIGNATURE_HEADER,
    TOKEN_ROTATED,
    CredentialConflict,
    credential_last_rotation,
    feed_rotate_hmac_secret,
    feed_rotate_token,
    secret_fingerprint,
)

from .formats import FORMATS

DEFAULT_OVERLAP_HOURS = int(DEFAULT_OVERLAP.total_seconds() // 3600)
MAX_OVERLAP_HOURS = int(MAX_OVERLAP.total_seconds() // 3600)
CONFLICT_HINT = "(The form was sent twice, or another admin rotated first.) Rotate again if you still need to."


class RotateForm(forms.Form):
    overlap_hours = forms.DecimalField(min_value=Decimal(0), max_value=Decimal(MAX_OVERLAP_HOURS), decimal_places=2)
    # The prefix / fingerprint the admin saw: a form sent twice (a reload of the shown-once
    # page) or after someone else's rotation changes nothing.
    expected = forms.CharField(max_length=16)

    def overlap(self) -> timedelta:
        return timedelta(hours=float(self.cleaned_data["overlap_hours"]))


def _previous(
    *, expires_at: datetime | None, rotation: AuditLog | None, label_key: str, at: datetime
) -> dict[str, Any]:
    detail = rotation.detail if rotation else {}
    return {
        "label": detail.get(label_key, ""),
        "replaced_at": rotation.at if rotation else None,
        "expires_at": expires_at,
        "accepted": expires_at is not None and expires_at > at,
        "overlap_hours": detail.get("overlap_hours"),
    }


def feed_credentials_panel(feed: Feed) -> dict[str, Any]:
    """The context of templates/ingestion/_feed_credentials.html (feed_detail's `credentials`)."""
    at = now()
    previous_token = previous_hmac = None
    if feed.previous_token_hash:
        rotation = credential_last_rotation(feed=feed, action=TOKEN_ROTATED)
        previous_token = _previous(
            expires_at=feed.previous_token_expires_at, rotation=rotation, label_key="previous_prefix", at=at
        )
    if feed.previous_hmac_secret:
        rotation = credential_last_rotation(feed=feed, action=HMAC_ROTATED)
        previous_hmac = _previous(
            expires_at=feed.previous_hmac_expires_at, rotation=rotation, label_key="previous_fingerprint", at=at
        )
    return {
        "fingerprint": secret_fingerprint(feed.hmac_secret),
        "previous_token": previous_token,
        "previous_hmac": previous_hmac,
        "default_overlap_hours": DEFAULT_OVERLAP_HOURS,
        "max_overlap_hours": MAX_OVERLAP_HOURS,
    }


def ingest_curl_example(*, feed: Feed, url: str, token: str = "", secret: str = "") -> str:
    """A shell example that posts a file to the feed's ingest URL, signed when the feed requires
    it or a secret is given (the signature of feeds.services.sign, computed with openssl).
    Credentials not given are left as placeholders."""
    content_type = FORMATS[feed.format].content_types[0]
    ext = next((e for e in ("json", "csv", "xml") if e in content_type), "txt")
    lines = [
        f"TOKEN='{token or '<the feed token>'}'",
        f"BODY=events.{ext}  # a file in this feed's format ({feed.format})",
    ]
    signed = feed.require_signature or bool(secret)
    if signed:
        lines += [
            f"SECRET='{secret or '<the HMAC secret>'}'",
            "T=$(date +%s)",
            # HMAC-SHA256 over "<t>." + the body's bytes, as hex
            'SIG=$( { printf \'%s.\' "$T"; cat "$BODY"; } | openssl dgst -sha256 -hmac "$SECRET"'
            " | awk '{print $NF}')",
        ]
    curl = [
        f"curl -sS -X POST '{url}'",
        '  -H "Authorization: Bearer $TOKEN"',
        f"  -H 'Content-Type: {content_type}'",
    ]
    if signed:
        curl.append(f'  -H "{SIGNATURE_HEADER}: t=$T,v1=$SIG"')
    curl.append('  --data-binary @"$BODY"')
    return "\n".join(lines) + "\n" + " \\\n".join(curl) + "\n"


def _back(slug: str) -> HttpResponse:
    return redirect(reverse("feed-detail", args=[slug]) + "#credentials")


def _rotation_form(request: HttpRequest, slug: str) -> tuple[Feed, RotateForm]:
    feed = feed_get(slug=slug)
    if feed is None:
        raise Http404("no such feed")
    return feed, RotateForm(request.POST)


def _shown_once(request: HttpRequest, feed: Feed, *, kind: str, value: str) -> HttpResponse:
    url = request.build_absolute_uri(reverse("api-ingest", args=[feed.slug]))
    is_token = kind == "token"
    expires_at = feed.previous_token_expires_at if is_token else feed.previous_hmac_expires_at
    context = {
        "feed": feed,
        "kind": kind,
        "value": value,
        "expires_at": expires_at,
        "old_accepted": expires_at is not None and expires_at > now(),
        "pushes": feed.transport != FeedTransport.POLL,
        "curl": ingest_curl_example(
            feed=feed, url=url, token=value if is_token else "", secret="" if is_token else value
        ),
    }
    response = render(request, "ingestion/feed_credentials_issued.html", context)
    add_never_cache_headers(response)  # no-store: the back button must not bring it back
    return response


def _refused(request: HttpRequest, slug: str, form: RotateForm) -> HttpResponse:
    errors = "; ".join(f"{name.replace('_', ' ')}: {' '.join(str(m) for m in e)}" for name, e in form.errors.items())
    flash.error(request, f"Nothing changed. {errors}")
    return _back(slug)


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def feed_token_rotate(request: HttpRequest, slug: str) -> HttpResponse:
    feed, form = _rotation_form(request, slug)
    if not form.is_valid():
        return _refused(request, slug, form)
    try:
        creds = feed_rotate_token(
            feed=feed, overlap=form.overlap(), actor=request.user, expected_prefix=form.cleaned_data["expected"]
        )
    except CredentialConflict as exc:
        flash.warning(request, f"Nothing changed: {exc}. {CONFLICT_HINT}")
        return _back(slug)
    return _shown_once(request, feed, kind="token", value=creds.token)


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def feed_hmac_secret_rotate(request: HttpRequest, slug: str) -> HttpResponse:
    feed, form = _rotation_form(request, slug)
    if not form.is_valid():
        return _refused(request, slug, form)
    try:
        secret = feed_rotate_hmac_secret(
            feed=feed, overlap=form.overlap(), actor=request.user, expected_fingerprint=form.cleaned_data["expected"]
        )
    except CredentialConflict as exc:
        flash.warning(request, f"Nothing changed: {exc}. {CONFLICT_HINT}")
        return _back(slug)
    return _shown_once(request, feed, kind="hmac", value=secret)
