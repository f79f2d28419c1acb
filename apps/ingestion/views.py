"""Feed health, messages, rejections and dead letters for ops leads and admins."""

import json

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from apps.common.paginators import CappedPaginator
from apps.feeds.selectors import feed_get
from apps.feeds.services import feed_set_paused

from .choices import MessageStatus
from .credential_views import feed_credentials_panel
from .feed_formats import feed_code_table_summary
from .formats import FORMATS
from .health import HealthStatus, feed_health_list, health_rules, status_counts
from .health_charts import overview_figure
from .health_detail import feed_health_section
from .models import RawMessage
from .poll_views import feed_poll_panel
from .selectors import dead_letter_list, file_list, message_get, message_list
from .services import message_mark_for_replay


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def feed_list(request: HttpRequest) -> HttpResponse:
    """Every feed's health at a glance (apps/ingestion/health.py), the most serious status
    first, then by slug; `?status=` keeps one status. 50 feeds a page."""
    rows = feed_health_list()
    status = request.GET.get("status") or ""
    status = status if status in HealthStatus.values else ""
    order = {s: i for i, s in enumerate(HealthStatus.values)}
    shown = sorted((row for row in rows if not status or row.status == status), key=lambda row: order[row.status])
    page = Paginator(shown, FEEDS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "rows": page.object_list,
        "page": page,
        "feed_count": len(rows),
        "status_counts": status_counts(rows),
        "status": status,
        "figure": overview_figure(list(page.object_list)),
        "rules": health_rules(),
    }
    return render(request, "ingestion/feed_list.html", context)


FEEDS_PER_PAGE = 50


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def feed_detail(request: HttpRequest, slug: str) -> HttpResponse:
    feed = feed_get(slug=slug)
    if feed is None:
        raise Http404("no such feed")
    status = request.GET.get("status") or None
    qs = message_list(feed_slug=slug, status=status)
    if request.GET.get("with_rejections"):
        qs = qs.exclude(rejections=[])
    page = CappedPaginator(qs, 50).get_page(request.GET.get("page"))  # a feed's messages: millions
    context = {
        "feed": feed,
        "page": page,
        "statuses": MessageStatus.choices,
        "filters": request.GET,
        "files": file_list(feed_slug=slug)[:10],
        "code_tables": feed_code_table_summary(feed),
        "accepted_types": ", ".join(FORMATS[feed.format].content_types),
        "credentials": feed_credentials_panel(feed),
        "polling": feed_poll_panel(feed),
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    # A history restore (back button, cache miss) needs the whole page, not the rows.
    rows_only = bool(htmx) and not htmx.history_restore_request
    if not rows_only:  # the health section is on the whole page only, not on the rows' refresh
        context["health"] = feed_health_section(feed=feed)
    template = "ingestion/_message_rows.html" if rows_only else "ingestion/feed_detail.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def feed_pause(request: HttpRequest, slug: str) -> HttpResponse:
    feed = feed_get(slug=slug)
    if feed is None:
        raise Http404("no such feed")
    paused = request.POST.get("paused") == "1"
    if feed_set_paused(feed=feed, paused=paused, actor=request.user):
        flash.success(request, f"Feed {slug} {'paused' if paused else 'resumed'}.")
    return redirect("feed-detail", slug=slug)


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def message_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    message = message_get(message_id=message_id)
    if message is None:
        raise Http404("no such message")
    preview, truncated, pretty = _body_preview(message)
    context = {
        "message": message,
        "body_preview": preview,
        "body_truncated": truncated,
        "body_pretty": pretty,
        "body_size": len(message.body),
        "is_edi": message.feed.format in ("x12", "edifact"),
    }
    return render(request, "ingestion/message_detail.html", context)


BODY_PREVIEW_CHARS = 200 * 1024
PRETTY_PRINT_MAX_BYTES = 1024 * 1024  # larger bodies are shown as sent (parsing them costs too much)


def _body_preview(message: RawMessage) -> tuple[str, bool, bool]:
    """The body for reading: JSON pretty-printed when it parses, cut at 200 KB.
    Returns (text, truncated, pretty). The template escapes it."""
    text, pretty = message.body_text, False
    if len(message.body) <= PRETTY_PRINT_MAX_BYTES:
        try:
            text, pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False), True
        except (ValueError, RecursionError):
            pretty = False
    return text[:BODY_PREVIEW_CHARS], len(text) > BODY_PREVIEW_CHARS, pretty


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def message_replay(request: HttpRequest, message_id: str) -> HttpResponse:
    message = message_get(message_id=message_id)
    if message is None:
        raise Http404("no such message")
    if message_mark_for_replay(message=message, actor=request.user):
        flash.success(request, "Message queued for reprocessing.")
    else:
        flash.warning(request, "The message is still being processed; try again when it has finished.")
    return redirect("message-detail", message_id=message.id)


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def dead_letters(request: HttpRequest) -> HttpResponse:
    page = CappedPaginator(dead_letter_list(), 50).get_page(request.GET.get("page"))
    return render(request, "ingestion/dead_letters.html", {"page": page})
